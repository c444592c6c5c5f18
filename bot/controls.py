"""A producer's controls in a chat message, read from its tokens: parts to leave out ("no
hi-hats", "without melody", "drums only"), parts to bring back ("drums back"), instruments to
use ("with piano", "add strings") and a section to redo ("redo the hook", "different drums in
the verse").

`read_controls` is called by `bot.intents` with the message's tokens once numbers and keys are
read; it finds nothing (None) unless one of the trigger words is there, so a message without
them costs one set lookup. What a control means for the intent's kind is decided there.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.vocab import (
    DRUM_PARTS,
    INCLUDE_PHRASES,
    PART_GROUPS,
    PART_PHRASES,
    SECTION_PHRASES,
    Phrase,
)


@dataclass(frozen=True)
class Controls:
    exclude: tuple[str, ...] = ()  # parts left out, as said ("drums only" -> the others)
    include: tuple[str, ...] = ()  # instruments asked for (engine voice names)
    restore: tuple[str, ...] = ()  # parts brought back ("drums back", "unmute the melody")
    section: str | None = None  # the section to redo
    part: str | None = None  # the part to redo in it, when one is named
    only: bool = False  # "drums only", "just chords and bass": a choice of parts

    def __bool__(self) -> bool:
        return bool(self.exclude or self.include or self.restore or self.section)


_EXCLUDE = {
    ("no",), ("without",), ("minus",), ("drop",), ("remove",), ("lose",), ("mute",), ("kill",),
    ("cut",), ("ditch",), ("strip",), ("skip",), ("take", "out"), ("leave", "out"),
    ("get", "rid", "of"), ("w", "o"), ("wo",), ("not", "any"), ("zero",),
}  # fmt: skip
_ONLY = {("just",), ("only",), ("nothing", "but"), ("solely",), ("purely",)}
_RESTORE = {("bring", "back"), ("unmute",), ("restore",), ("put", "back"), ("add", "back")}
_INCLUDE = {
    ("with",), ("add",), ("adding",), ("use",), ("using",), ("featuring",), ("feat",), ("ft",),
    ("plus",), ("put", "in"), ("throw", "in"), ("bring", "in"),
}  # fmt: skip
# "redo the hook", "new intro", "different drums in the verse", "the hook again"
_REDO = frozenset(
    {
        "redo", "regenerate", "regen", "remake", "rework", "rewrite", "redraw", "reroll", "new",
        "different", "another", "fresh", "change", "swap", "replace", "switch", "rerender",
        "reimagine", "rethink", "refresh", "retry",
    }
)  # fmt: skip
_DETERMINERS = frozenset(
    {"the", "a", "an", "any", "all", "my", "those", "these", "that", "this", "its", "your", "our"}
)
_BETWEEN_REDO = _DETERMINERS | {"in", "on", "of", "for", "during", "me", "us", "up", "out", "pls"}
_LIST_JOINS = frozenset({"and", "or", "nor", "also", "plus"})
# What ends the adjectives in front of an instrument ("with some dusty rhodes").
_INCLUDE_STOPS = frozenset(
    {"no", "without", "and", "or", "but", "in", "at", "for", "like", "to", "on", "of", "back",
     "please", "pls", "beat", "track", "song", "vibe", "vibes", "it", "that", "this"}
)  # fmt: skip
# Words that tell `drop` and `break` are verbs ("drop the hats", "break it down").
_VERB_NEXT = _DETERMINERS | {"it", "down", "them"}

TRIGGERS: frozenset[str] = frozenset(
    {
        *(p[0] for table in (_EXCLUDE, _ONLY, _RESTORE, _INCLUDE) for p in table),
        *_REDO,
        "back",
        "again",
    }
)


def read_controls(tokens: list[str]) -> Controls | None:
    """The controls a message's tokens ask for, or None."""
    if TRIGGERS.isdisjoint(tokens):
        return None
    reader = _ControlReader(tokens)
    controls = reader.read()
    return controls if controls else None


def _longest(
    tokens: list[str], i: int, table: dict[Phrase, str], longest: int = 4
) -> tuple[str, int] | None:
    for size in range(min(longest, len(tokens) - i), 0, -1):
        value = table.get(tuple(tokens[i : i + size]))
        if value is not None:
            return value, size
    return None


def _trigger(tokens: list[str], i: int, table: set[Phrase]) -> int:
    """The length of a trigger phrase of `table` at token i (0: none)."""
    for size in (3, 2, 1):
        if tuple(tokens[i : i + size]) in table:
            return size
    return 0


def keep_only(parts: list[str]) -> list[str]:
    """ "drums only" -> ["bass", "chords", "melody", "fx"]: the parts to leave out so only
    these play ("kick and bass only" leaves out the other drums too)."""
    kept = {stem for part in parts for stem in (DRUM_PARTS if part == "drums" else (part,))}
    left_out: list[str] = []
    for group in PART_GROUPS:
        if group != "drums":
            if group not in kept:
                left_out.append(group)
            continue
        drums = [d for d in DRUM_PARTS if d in kept]
        if not drums:
            left_out.append("drums")
        else:
            left_out += [d for d in DRUM_PARTS if d not in kept]
    return left_out


class _ControlReader:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.exclude: list[str] = []
        self.include: list[str] = []
        self.restore: list[str] = []
        self.only = False

    def read(self) -> Controls:
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            i += self._at(i) or 1
        section, part = self._redo()
        exclude = [p for p in dict.fromkeys(self.exclude) if p not in self.restore]
        return Controls(
            exclude=tuple(exclude),
            include=tuple(dict.fromkeys(self.include)),
            restore=tuple(dict.fromkeys(self.restore)),
            section=section,
            part=part,
            only=self.only,
        )

    def _at(self, i: int) -> int:
        """Reads a control starting at token i; returns how many tokens it took (0: none)."""
        tokens = self.tokens
        size = _trigger(tokens, i, _RESTORE)
        if size:
            parts, used = self._parts(i + size)
            if parts:
                self.restore += parts
                return size + used
        size = _trigger(tokens, i, _EXCLUDE)
        if size and not (tokens[i] in ("drop", "cut") and self._section_follows(i + size)):
            parts, used = self._parts(i + size)
            if parts:
                if self._back(i + size + used):
                    self.restore += parts  # "put the drums back"
                else:
                    self.exclude += parts
                return size + used
        size = _trigger(tokens, i, _ONLY)
        if size:
            parts, used = self._parts(i + size)
            if parts:
                self.only = True
                self.exclude += keep_only(parts)
                return size + used
        size = _trigger(tokens, i, _INCLUDE)
        if size:
            used = self._instruments(i + size)
            if used:
                return size + used
        if _longest(tokens, i, PART_PHRASES):
            parts, used = self._parts(i)
            end = i + used
            if parts and end < len(tokens) and tokens[end] in ("only", "alone"):
                self.only = True
                self.exclude += keep_only(parts)
                return used + 1
            if parts and self._back(end):
                self.restore += parts  # "drums back", "with the melody back"
                return used + 1
            return used
        return 0

    def _back(self, i: int) -> bool:
        tokens = self.tokens
        return i < len(tokens) and tokens[i] in ("back", "again") and i > 0

    def _section_follows(self, i: int) -> bool:
        """ "drop the hook": a section, not a part, after the verb (the redo reader's)."""
        j = i
        while j < len(self.tokens) and self.tokens[j] in _DETERMINERS:
            j += 1
        return _longest(self.tokens, j, SECTION_PHRASES) is not None

    def _parts(self, i: int) -> tuple[list[str], int]:
        """A list of parts from token i ("the hats and the melody"): parts, tokens used."""
        tokens = self.tokens
        parts: list[str] = []
        j = i
        end = i
        while j < len(tokens):
            while j < len(tokens) and (tokens[j] in _DETERMINERS or tokens[j] == "more"):
                j += 1
            found = _longest(tokens, j, PART_PHRASES)
            if found is None:
                break
            parts.append(found[0])
            j += found[1]
            end = j
            if j < len(tokens) and tokens[j] in _LIST_JOINS:
                j += 1
                if j < len(tokens) and tokens[j] in ("no", "without"):
                    j += 1
                continue
            break
        return parts, end - i

    def _instruments(self, i: int) -> int:
        """Instruments from token i ("some dusty rhodes and strings"); tokens used (0: none)."""
        tokens = self.tokens
        j = i
        end = i
        found_any = False
        while j < len(tokens):
            skipped = 0
            found = None
            while j < len(tokens) and skipped <= 3:
                found = _longest(tokens, j, INCLUDE_PHRASES)
                if found is not None or tokens[j] in _INCLUDE_STOPS:
                    break
                if _longest(tokens, j, PART_PHRASES) is not None:
                    break  # "with the drums back": a part, not an instrument
                j += 1
                skipped += 1
            if found is None:
                break
            if j + found[1] < len(tokens) and tokens[j + found[1]] in ("back", "only"):
                break  # "add the keys back": the chords part, brought back
            self.include.append(found[0])
            found_any = True
            j += found[1]
            end = j
            if j < len(tokens) and tokens[j] in _LIST_JOINS:
                j += 1
                continue
            break
        return end - i if found_any else 0

    def _redo(self) -> tuple[str | None, str | None]:
        """The first section a redo word points at, and the part named with it."""
        tokens = self.tokens
        for i in range(len(tokens)):
            found = _longest(tokens, i, SECTION_PHRASES, 2)
            if found is None:
                continue
            section, size = found
            after = tokens[i + size : i + size + 1]
            if section in ("drop", "break") and (after and after[0] in _VERB_NEXT):
                continue  # "drop the hats", "break it down"
            cue, part = self._redo_cue_before(i)
            part_after = _longest(tokens, i + size, PART_PHRASES)
            again_at = i + size + (part_after[1] if part_after else 0)
            again = again_at < len(tokens) and tokens[again_at] == "again"
            if cue or again:
                if part is None and part_after is not None:
                    part = part_after[0]
                return section, part
        return None, None

    def _redo_cue_before(self, i: int) -> tuple[bool, str | None]:
        """Walks back from a section over "the", "in", part names to a redo word."""
        tokens = self.tokens
        part: str | None = None
        j = i - 1
        while j >= 0:
            token = tokens[j]
            if token in _REDO:
                return True, part
            if token in _BETWEEN_REDO:
                j -= 1
                continue
            matched = None
            for size in (3, 2, 1):
                if j - size + 1 >= 0:
                    value = PART_PHRASES.get(tuple(tokens[j - size + 1 : j + 1]))
                    if value is not None:
                        matched = (value, size)
                        break
            if matched is None:
                return False, None
            part = part or matched[0]
            j -= matched[1]
        return False, None
