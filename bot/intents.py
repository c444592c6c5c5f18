"""Chat text -> `Intent(kind, params, adjust)`: what the person wants, in the DESIGN.md contract.

`params` holds only what the message states (never defaults); `adjust` holds relative changes
("make it faster" -> {"bpm": 8}, "20% faster" -> {"bpm_percent": 20}). Two optional fields
go with them: `suggestion`, the nearest of the 14 genres to a style we don't make ("uk
garage" -> house, offered, never put in `params`), and `surprise` for an open request
("surprise me"). The parser never raises: anything it cannot read is `unknown`, and the
assistant answers that with a nudge.

How a message is read, in order:
1. clean: chat mentions, links, control characters and apostrophes go; unicode is folded
   (NFKC, ♯/♭, dashes); only the first `MAX_CHARS` characters are read.
2. keys, on the original casing: "Am" is a key, "am" only after "in"/"key"; "a minor" only
   where it can't be the article ("make a minor change" has no key).
3. numbers written in words become digits ("a hundred and twenty", "one forty"; see
   `bot.number_words`), then numbers, most specific first, each consumed so no number counts
   twice: LUFS, dB, percentages ("20% faster"), relative tempo ("10 bpm faster"), relative
   length ("10 seconds longer"), explicit tempo ("140bpm", "bpm 140", "tempo: 140",
   "85-90 bpm"), lengths ("30s", "2 minutes", "1:30", "1m30"), numbers with other units
   ("4 bars", "2 beats", "50%", "2024", "$20", "4/4") and decades ("90s hip hop"), then tempo
   from context ("at 140", "around 85") and finally a bare number from 40 to 300 ("trap 140",
   "Drill. 144."). A bare number alone ("140") is not enough to make a beat.
4. words: tokens are looked up in the phrase table of `bot.vocab`, longest phrase first; the
   rest go through narrow fuzzy matching (typos of genres and moods only, swaps counted as one
   edit; "tarp" is trap only in a beat request).
5. the kind, from cue words and what was found (see `_decide`): a genre with its own tempo,
   key or length is a new beat even when the message also says how to mix or master it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot import vocab
from bot.controls import Controls, read_controls
from bot.number_words import digits_for_words

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = (
    "generate",
    "variation",
    "refine",
    "stems",
    "mix",
    "master",
    "help",
    "genres",
    "status",
    "cancel",
    "unknown",
)
# A chat message longer than this is not a beat request we could act on; reading only the
# start keeps a 10 kB paste as fast as a one-liner.
MAX_CHARS = 2000

BEAT_FIELDS = (
    "genre",
    "bpm",
    "key",
    "mood",
    "duration",
    "mix_profile",
    "quality",
    "target_lufs",
    "seed",
)
# Producer controls (issue 22), present only when said: parts left out, parts brought back,
# instruments asked for, an extend, a section (and part) to redo.
CONTROL_FIELDS = (
    "exclude",
    "include",
    "restore",
    "extend_bars",
    "extend_seconds",
    "section",
    "part",
)
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "generate": BEAT_FIELDS + CONTROL_FIELDS,
    "variation": BEAT_FIELDS + CONTROL_FIELDS,
    "refine": BEAT_FIELDS + CONTROL_FIELDS,
    "stems": ("stems",),
    "master": ("quality", "target_lufs"),
    "mix": ("mix_profile", "quality", "target_lufs"),
}


@dataclass(frozen=True)
class Suggestion:
    """The nearest of the 14 genres to a style or artist we can't make ("uk garage" -> house).

    Never an exact match: the genre is offered, not put in `params`."""

    genre: str
    asked: str  # the style or artist as BeatBot knows it ("uk garage", "daft punk")
    exact: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"genre": self.genre, "asked": self.asked, "exact": self.exact}


@dataclass(frozen=True)
class Intent:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    adjust: dict[str, Any] = field(default_factory=dict)
    # A style the person named that is none of the 14 ("reggae beat") and the genre to offer.
    suggestion: Suggestion | None = None
    # "surprise me", "anything", "dealer's choice": BeatBot picks what the message leaves open.
    surprise: bool = False

    @property
    def unsupported_genre(self) -> str | None:
        return self.suggestion.asked if self.suggestion else None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "intent": self.kind,
            "params": dict(self.params),
            "adjust": dict(self.adjust),
        }
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion.to_json()
        if self.surprise:
            data["surprise"] = True
        return data


def parse(text: str) -> Intent:
    """Understand one chat message (a multi-line message is one message). Never raises."""
    try:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        kind, params, adjust, style, surprise = _parse_cached(text[:MAX_CHARS])
    except Exception:  # the parser must never take the bot down; log it, answer "unknown"
        log.exception("parser failed on %r", text[:200] if isinstance(text, str) else text)
        return Intent("unknown")
    intent = Intent(
        kind,
        {k: list(v) if isinstance(v, tuple) else v for k, v in params},
        dict(adjust),
        Suggestion(vocab.STYLES[style].nearest, style) if style else None,
        surprise,
    )
    return with_takes(intent, text[:MAX_CHARS])


# "give me 4 versions", "3 takes of a drill beat", "four options of a lofi beat": how many
# takes, said as a number (or "a couple") before the word for them.
_TAKES = re.compile(
    r"(?<![\w.])(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple(?:\s+of)?)"
    r"\s+(?:(?:different|more|new|other|alternate|alternative|separate)\s+)?"
    r"(?:versions?|takes?|options?|variations?|variants?|alternatives?)\b",
    re.IGNORECASE,
)
_TAKE_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}  # fmt: skip


_KEEPS_SEED = frozenset({"extend_bars", "extend_seconds", "section"})


def with_takes(intent: Intent, text: str) -> Intent:
    """The intent with `takes` when the message asks for several (the caller checks the
    range). Said alone ("give me 4 versions") it means takes of the thread's beat."""
    match = _TAKES.search(text)
    if match is None or intent.kind not in ("generate", "variation", "refine", "unknown"):
        return intent
    if _KEEPS_SEED & intent.params.keys():
        return intent  # an extend or a redo keeps the beat's seed: takes would each draw one
    raw = " ".join(match["n"].lower().split())
    takes = int(raw) if raw.isdigit() else _TAKE_WORDS.get(raw, 2)
    kind = "variation" if intent.kind in ("unknown", "refine") else intent.kind
    return Intent(
        kind, {**intent.params, "takes": takes}, intent.adjust, intent.suggestion, intent.surprise
    )


# Answers that take what BeatBot just offered ("yes", "sure", "ok do it", "yeah go for it").
_AGREE = frozenset(
    tuple(vocab.tokenize(phrase))
    for phrase in (
        "yes", "yess", "yesss", "yeah", "yeh", "yea", "ye", "yep", "yup", "ya", "y", "sure",
        "ok", "okay", "k", "kk", "alright", "aight", "fine", "cool", "bet", "perfect", "deal",
        "absolutely", "definitely", "certainly", "go", "lets", "do it", "do that", "go ahead",
        "go for it", "lets do it", "lets go", "lets hear it", "make it", "make that",
        "make it so", "sure thing", "of course", "sounds good", "sounds great", "that works",
        "works for me", "why not", "that one", "i guess", "yes please", "please do",
    )
)  # fmt: skip
_AGREE_EMOJI = "👍👌✅🙏 \ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
_POLITE = frozenset(
    tuple(vocab.tokenize(p)) for p in ("please", "pls", "plz", "thanks", "thx", "then", "thank you")
)


def is_yes(text: str) -> bool:
    """ "yes", "sure", "ok do it", "yeah go for it please", "👍": agreement and nothing else."""
    text = str(text)
    if text.strip() and not text.strip().strip(_AGREE_EMOJI):
        return True
    tokens = vocab.tokenize(_clean(text)[:200])
    agreed = False
    i = 0
    while i < len(tokens):
        for size in (3, 2, 1):
            phrase = tuple(tokens[i : i + size])
            if len(phrase) == size and (phrase in _AGREE or phrase in _POLITE):
                agreed = agreed or phrase in _AGREE
                i += size
                break
        else:
            return False
    return agreed


def parse_json(text: str) -> str:
    """One JSON line for `beatbot parse`."""
    return json.dumps(parse(text).to_json(), ensure_ascii=False)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> tuple[str, _Pairs, _Pairs, str | None, bool]:
    reading = _Reading(_clean(text))
    reading.read()
    kind, params, adjust, style, surprise = _decide(reading)
    return kind, tuple(params.items()), tuple(adjust.items()), style, surprise


_Pairs = tuple[tuple[str, Any], ...]


# --- 1. cleaning ------------------------------------------------------------------------------

_MENTION = re.compile(r"<(?:@[!&]?|#|!)[^<>\s]{0,80}>|<a?:\w{1,64}:\d{1,25}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_CONTROL = {i: " " for i in (*range(32), 127)}
_UNICODE_FOLD = str.maketrans(
    {
        "♯": "#",
        "♭": "b",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
        "\u00a0": " ",
        "\u2028": " ",
        "\u2029": " ",
        "\u0085": " ",
    }
)


def _clean(text: str) -> str:
    if "<" in text:
        text = _MENTION.sub(" ", text)
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_UNICODE_FOLD)
    text = text.translate(_CONTROL)
    return text.replace("'", "").replace('"', " ")


# --- 2/3. keys and numbers --------------------------------------------------------------------

_ACC = r"(?P<acc>\#|b|\s?-?\s?(?:sharp|flat))?"
_PRE = r"(?P<pre>\b(?:in\s+the\s+key\s+of|the\s+key\s+of|key\s+of|key\s*[:=]?|in)\s*)?"
# "C minor", "Bb major", "F sharp minor", "e-flat min": the mode is spelled out.
_KEY_SPELLED = re.compile(
    r"(?<![\w#&])"
    + _PRE
    + r"(?P<n>[a-g])"
    + _ACC
    + r"\s?-?\s?(?P<mode>minor|min|moll|major|maj|dur|mayor)(?![a-z])",
    re.IGNORECASE,
)
# "Cm", "F#m", "Bbm", "cmin", "Gmaj": the mode is glued to the note.
_KEY_GLUED = re.compile(
    r"(?<![\w#&])" + _PRE + r"(?P<n>[A-Ga-g])(?P<acc>\#|b)?(?P<mode>m|min|maj)(?![\w#])",
    re.IGNORECASE,
)
# "in A", "in F#", "key of g", "key: Eb": a bare note needs a word that says it's a key.
_KEY_BARE = re.compile(
    r"(?<![\w#&])(?P<pre>\b(?:in\s+the\s+key\s+of|the\s+key\s+of|key\s+of|key\s*[:=]?|in)\s*)"
    r"(?P<n>[A-Ga-g])" + _ACC + r"(?![\w#])",
    re.IGNORECASE,
)
# "C#", "Bb", "Eb", "C sharp", "b flat": an accidental makes a lone note a key.
_KEY_ACCIDENTAL = re.compile(
    r"(?<![\w#&])(?P<pre>)(?P<n>[A-Ga-g])(?P<acc>\#|b|\s?-?\s?(?:sharp|flat))(?![\w#])"
)
# Each pattern with the (lower-case) words one of which it can't match without: the
# spelled-out mode, the "in"/"key" a bare note needs. Skipping the scan saves most of a key
# pass on the messages that name no key.
_KEY_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (_KEY_SPELLED, ("min", "moll", "maj", "dur", "mayor")),
    (_KEY_GLUED, ()),
    (_KEY_BARE, ("in", "key")),
    (_KEY_ACCIDENTAL, ()),
)
_MINOR_MODES = frozenset({"m", "min", "minor", "moll"})
_NOT_A_KEY_AFTER = re.compile(r"\s+(?:key|i|im|ill|id)\b", re.IGNORECASE)
_A_MINOR_THING = re.compile(
    r"\s+(?:change|tweak|thing|issue|detail|fix|edit|adjustment|problem|bug|update|difference|"
    r"improvement|mistake|setback|role|part|league|upgrade|glitch|question|request)s?\b",
    re.IGNORECASE,
)

_NUM = r"(\d+(?:\.\d+)?)"
_SEC = r"(?:seconds?|secs?|s)"
_MIN = r"(?:minutes?|mins?|m)"
# Quantities that stay words ("a minute", "half a minute"); every other number written in
# words is digits by now (`bot.number_words`).
_WORD_NUMBERS: dict[str, float] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "half a": 0.5,
    "half an": 0.5,
    "half": 0.5,
}
_WORDS = "|".join(sorted((re.escape(w) for w in _WORD_NUMBERS), key=len, reverse=True))
# "a minute" only counts where it can't mean "later" ("in a minute", "wait a sec").
_VAGUE_BEFORE = re.compile(
    r"(?:for|about|around|approximately|roughly|like|lasting|of|is|be|it|just|make|only)\s*$"
)
_VAGUE_AFTER = re.compile(r"\s*(?:long|beat|track|loop|clip|song|of|instrumental)\b")
_DECADE_CONTEXT_BEFORE = re.compile(r"(?:for|lasting|length|duration|of|is|be|it|just|only)\s*$")
# "not too fast", "not so long", "less slow": a change tempered the other way.
_TEMPERING = frozenset({"too", "so", "less"})
_CHANGE_UP = frozenset({"faster", "quicker", "higher", "up", "more", "longer", "extra"})


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


@dataclass
class _Found:
    """What the numeric pass found."""

    bpm: float | int | None = None
    bpm_explicit: bool = False
    bpm_context: bool = False
    duration: float | int | None = None
    target_lufs: float | int | None = None
    seed: int | None = None
    negatives: list[float] = field(default_factory=list)
    adjust: dict[str, float | int] = field(default_factory=dict)
    key: str | None = None
    extend_bars: int | None = None  # "extend it by 8 bars", "add 4 bars"
    extend_seconds: float | int | None = None  # "extend by half a minute"


class _Reading:
    """One message being read: the text with consumed spans blanked, and what was found."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found = _Found()
        self.tokens: list[str] = []
        # (token index, category, value, phrase length in tokens)
        self.events: list[tuple[int, str, str, int]] = []
        self.unknown: list[int] = []  # indexes of tokens with no meaning at all

    def read(self) -> None:
        self._read_keys()
        text = self.text.lower()
        if "step" in text:  # "2-step" is a style, not two sequencer steps
            text = _TWO_STEP.sub(" twostep ", text)
        self.text = digits_for_words(text)  # "one forty" -> "140", then read as digits
        if _DIGIT.search(self.text) or _DURATION_WORD.search(self.text):
            self._read_numbers()
        self._read_words()

    # keys ------------------------------------------------------------------------------------

    def _read_keys(self) -> None:
        text = self.text
        lower = text.lower()
        if len(lower) != len(text):  # rare unicode whose lower() changes length
            text = self.text = lower
        best: tuple[int, str] | None = None
        spans: list[tuple[int, int]] = []
        ascii_only = lower.isascii()  # re's IGNORECASE folds a few letters lower() keeps (ı, ſ)
        for pattern, needs in _KEY_PATTERNS:
            if needs and ascii_only and not any(map(lower.__contains__, needs)):
                continue
            for match in pattern.finditer(text):
                key = _key_from(match, text)
                if key is None:
                    continue
                spans.append(match.span())
                if best is None or match.start() < best[0]:
                    best = (match.start(), key)
        if best is not None:
            self.found.key = best[1]
            self.text = _blank(text, spans)

    # numbers ---------------------------------------------------------------------------------

    def _read_numbers(self) -> None:
        has_digit = _DIGIT.search(self.text) is not None
        # Which gate words the message holds, looked up once: a rule whose words are all
        # missing can't match. (Consuming text only removes words, so this stays a superset.)
        present = {word for word in _TRIGGERS if word in self.text}
        for pattern, handler, triggers, needs_digit in _NUMBER_RULES:
            if needs_digit and not has_digit:
                continue
            if triggers and present.isdisjoint(triggers):
                continue
            text = self.text
            # What the handler understands is blanked out, so later rules don't read it again.
            pieces: list[str] = []
            end = 0
            for m in pattern.finditer(text):
                if handler(self, m):
                    pieces += (text[end : m.start()], " " * (m.end() - m.start()))
                    end = m.end()
            if pieces:
                self.text = "".join(pieces) + text[end:]
                if has_digit:
                    has_digit = _DIGIT.search(self.text) is not None

    # number handlers: True = the match is understood and consumed -------------------------------

    def _lufs(self, m: re.Match[str]) -> bool:
        if self.found.target_lufs is None:
            self.found.target_lufs = -abs(_number(m.group("v")))
        return True

    def _consume(self, m: re.Match[str]) -> bool:
        return True

    def _seed(self, m: re.Match[str]) -> bool:
        if self.found.seed is None:
            self.found.seed = int(m.group("v"))
        return True

    def _relative_bpm(self, sign: int, value: str) -> bool:
        self.found.adjust.setdefault("bpm", sign * _number(value))
        return True

    def _rel_bpm_unit(self, m: re.Match[str]) -> bool:
        return self._relative_bpm(_sign(m), m.group("v"))

    def _rel_bpm_by(self, m: re.Match[str]) -> bool:
        return self._relative_bpm(_word_sign(m.group("w")), m.group("v"))

    def _rel_bpm_signed(self, m: re.Match[str]) -> bool:
        sign = -1 if (m.group("s") or m.group("s2")) == "-" else 1
        return self._relative_bpm(sign, m.group("v") or m.group("v2"))

    def _rel_bpm_verb(self, m: re.Match[str]) -> bool:
        return self._relative_bpm(_verb_sign(m.group("w")), m.group("v"))

    def _rel_percent(self, m: re.Match[str]) -> bool:
        word = m.group("w") or m.group("w2") or m.group("w3") or ""
        lengthen = word in _LENGTH_WORDS or "length" in m.group()
        if m.group("s"):  # "tempo +5%"
            sign = -1 if m.group("s") == "-" else 1
        else:
            up = word in _CHANGE_UP or word in ("extend", "lengthen") or _verb_sign(word) > 0
            sign = 1 if up else -1
        value = _number(m.group("v") or m.group("v2") or m.group("v3") or m.group("v4"))
        if value:
            name = "duration_percent" if lengthen else "bpm_percent"
            self.found.adjust.setdefault(name, sign * value)
        return True

    def _relative_duration(self, sign: int, value: str, unit: str) -> bool:
        seconds = _number(value) * (60 if unit.startswith("m") else 1)
        self.found.adjust.setdefault("duration", _number(str(sign * seconds)))
        return True

    def _rel_dur_unit(self, m: re.Match[str]) -> bool:
        return self._relative_duration(_sign(m), m.group("v"), m.group("u"))

    def _rel_dur_by(self, m: re.Match[str]) -> bool:
        sign = 1 if m.group("w") == "longer" else -1
        return self._relative_duration(sign, m.group("v"), m.group("u") or "s")

    def _rel_dur_signed(self, m: re.Match[str]) -> bool:
        sign = -1 if m.group("s") == "-" else 1
        return self._relative_duration(sign, m.group("v"), m.group("u"))

    def _rel_dur_add(self, m: re.Match[str]) -> bool:
        return self._relative_duration(1, m.group("v"), m.group("u"))

    def _extend(self, m: re.Match[str]) -> bool:
        """ "extend it by 8 bars", "add 4 more bars", "16 bars longer", "extend by half a
        minute": bars (whole) or seconds appended to the thread's beat."""
        quantity = " ".join(m.group("q").split())
        unit = m.group("u")
        value = _word_or_number(quantity)
        if value is None or value <= 0 or (unit in ("s", "m") and not quantity[0].isdigit()):
            return False
        if unit.startswith(("bar", "measure")):
            if not float(value).is_integer():
                return False
            if self.found.extend_bars is None:
                self.found.extend_bars = int(value)
            return True
        seconds = value * (60 if unit.startswith("m") else 1)
        if self.found.extend_seconds is None:
            self.found.extend_seconds = _number(str(round(seconds, 3)))
        return True

    def _extend_bars(self, m: re.Match[str]) -> bool:
        groups = m.groupdict()
        for n in ("", "2", "3", "4", "5"):
            if groups.get(f"q{n}"):
                quantity, unit = groups[f"q{n}"], groups[f"u{n}"]
                break
        else:
            return False
        if int(quantity) <= 0:
            return False
        if self.found.extend_bars is None:
            self.found.extend_bars = int(quantity)
        return unit is not None

    def _absolute_bpm(self, value: float | int) -> bool:
        found = self.found
        if found.bpm is None or not found.bpm_explicit:
            found.bpm = value
            found.bpm_explicit = True
        return True

    def _bpm_range(self, m: re.Match[str]) -> bool:
        return self._absolute_bpm(_number(str((float(m.group("a")) + float(m.group("b"))) / 2)))

    def _bpm(self, m: re.Match[str]) -> bool:
        return self._absolute_bpm(_number(m.group("v")))

    def _duration(self, seconds: float) -> bool:
        if self.found.duration is None:
            self.found.duration = _number(str(round(seconds, 3)))
        return True

    def _clock(self, m: re.Match[str]) -> bool:
        return self._duration(int(m.group("m")) * 60 + int(m.group("s")))

    def _min_sec(self, m: re.Match[str]) -> bool:
        return self._duration(float(m.group("m")) * 60 + float(m.group("s")))

    def _half_minutes(self, m: re.Match[str]) -> bool:
        return self._duration((float(m.group("v")) + 0.5) * 60)

    def _vague_ok(self, m: re.Match[str], quantity: str) -> bool:
        """ "a minute" counts where it can't mean "later" ("in a minute", "wait a sec")."""
        if quantity not in ("a", "an"):
            return True
        text = self.text
        return bool(
            m.groupdict().get("half")
            or _VAGUE_BEFORE.search(text, 0, m.start())
            or _VAGUE_AFTER.match(text, m.end())
        )

    def _minutes(self, m: re.Match[str]) -> bool:
        quantity = " ".join(m.group("q").split())
        if m.group("u") == "m" and not quantity[0].isdigit():
            return False
        if not self._vague_ok(m, quantity):
            return True  # "in a minute": consumed, means nothing
        value = _word_or_number(quantity)
        if value is None:
            return False
        return self._duration((value + (0.5 if m.group("half") else 0)) * 60)

    def _seconds(self, m: re.Match[str]) -> bool:
        quantity = " ".join(m.group("q").split())
        unit = m.group("u")
        if unit == "s" and not quantity[0].isdigit():
            return False
        if not self._vague_ok(m, quantity):
            return True
        if quantity in _DRUM_MACHINES:
            return False  # "808s" are bass, not seconds
        if unit == "s" and m.group("gap") == "" and _is_decade(quantity, self.text, m):
            return False  # "90s hip hop": a decade, left for the words ("90s hip hop")
        value = _word_or_number(quantity)
        return False if value is None else self._duration(value)

    def _hours(self, m: re.Match[str]) -> bool:
        value = _word_or_number(m.group("q"))
        return False if value is None else self._duration(value * 3600)

    def _negative(self, m: re.Match[str]) -> bool:
        self.found.negatives.append(float(m.group("v").replace(" ", "")))
        return True

    def _context_bpm(self, m: re.Match[str]) -> bool:
        if self.found.bpm is None:
            self.found.bpm = _number(m.group("v"))
            self.found.bpm_context = True
        return True

    def _bare_bpm(self, m: re.Match[str]) -> bool:
        value = float(m.group("v"))
        if not 40 <= value <= 300 or m.group("v") in _DRUM_MACHINES:
            return False
        if self.found.bpm is None:
            self.found.bpm = _number(m.group("v"))
        return True

    # words -----------------------------------------------------------------------------------

    def _read_words(self) -> None:
        tokens = self.tokens = vocab.tokenize(self.text)
        phrases = vocab.PHRASES
        first_max = _FIRST_MAX
        events = self.events
        unknown = self.unknown
        i = 0
        n = len(tokens)
        while i < n:
            longest = first_max.get(tokens[i], 0)
            matched = 0
            for size in range(min(longest, n - i), 0, -1):
                meanings = phrases.get(tuple(tokens[i : i + size]))
                if meanings is not None:
                    for category, value in meanings:
                        events.append((i, category, value, size))
                    matched = size
                    break
            if matched:
                i += matched
                continue
            meaning = vocab.fuzzy_lookup(tokens[i])
            if meaning is not None:
                events.append((i, *meaning, 1))
            else:
                unknown.append(i)
            i += 1
        # "hip hopp", "boom bapp": two unknown neighbours may be one misspelt genre.
        for a, b in itertools.pairwise(unknown):
            if b == a + 1:
                meaning = vocab.fuzzy_lookup(tokens[a] + tokens[b])
                if meaning is not None and meaning[0].startswith("genre"):
                    events.append((a, *meaning, 2))
        if len(unknown) > 1:
            events.sort(key=lambda event: event[0])


def _build_first_max() -> dict[str, int]:
    first: dict[str, int] = {}
    for phrase in vocab.PHRASES:
        first[phrase[0]] = max(first.get(phrase[0], 0), len(phrase))
    return first


_FIRST_MAX = _build_first_max()


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _key_from(match: re.Match[str], text: str) -> str | None:
    note = match.group("n")
    acc = (match.group("acc") or "").strip(" -").lower()
    groups = match.groupdict()
    mode = groups.get("mode") or ""
    pre = (match.group("pre") or "").strip()
    if mode == "M" or (mode and mode.isupper() and len(mode) == 1):
        return None  # "AM", "FM", "DM": not keys
    if match.re is _KEY_SPELLED:
        # "a minor" is the article unless "in"/"key" or the start of the message says key;
        # "in a minor key" means any minor key.
        if note == "a" and not pre and text[: match.start()].strip():
            return None
        if note == "a" and _NOT_A_KEY_AFTER.match(text, match.end()):
            return None
        if note == "a" and not pre and _A_MINOR_THING.match(text, match.end()):
            return None  # "a minor change", "a major problem": adjectives, not keys
    elif match.re is _KEY_GLUED:
        # lower-case "am", "em", "dm", "cm" are words ("I am", "dm me") unless a key word leads.
        if mode.lower() == "m" and not acc and note.islower() and not pre:
            return None
        if _NOT_A_KEY_AFTER.match(text, match.end()) and not pre:
            return None
    elif match.re is _KEY_BARE:
        if pre.lower() == "in" and note.islower() and not acc:
            return None  # "in a", "in e" are words; "in A" is a key
        if note == "a" and acc == "flat" and not pre:
            return None
    else:  # accidental only: "Bb", "C#", "b flat"
        if note.islower() and acc == "b":
            return None  # "eb", "ab", "bb", "db" in lower case are too often words
        if note == "a" and acc in ("flat", "sharp"):
            return None  # "a flat mix"
    return vocab.key_name(note, acc, mode.lower() in _MINOR_MODES)


def _word_or_number(text: str) -> float | None:
    text = " ".join(text.split())
    if text in _WORD_NUMBERS:
        return _WORD_NUMBERS[text]
    try:
        return float(text)
    except ValueError:
        return None


def _is_decade(quantity: str, text: str, m: re.Match[str]) -> bool:
    if quantity not in ("50", "60", "70", "80", "90", "00") and not re.fullmatch(
        r"1[6-9]\d0|20[0-2]0", quantity
    ):
        return False
    if _DECADE_CONTEXT_BEFORE.search(text, 0, m.start()):
        return False
    return not re.match(r"\s*long\b", text[m.end() :])


def _sign(m: re.Match[str]) -> int:
    return 1 if m.group("w") in _CHANGE_UP else -1


def _word_sign(word: str) -> int:
    return 1 if word in ("faster", "quicker", "higher", "up") else -1


def _verb_sign(word: str) -> int:
    return 1 if word in ("raise", "increase", "bump", "push", "up", "boost", "speed") else -1


_LUFS_AFTER = re.compile(r"(?<![\w.])[+-]?\s?(?P<v>\d+(?:\.\d+)?)\s*(?:db\s*)?(?:lufs|lkfs|lu)\b")
_LUFS_BEFORE = re.compile(
    r"\b(?:lufs|lkfs|loudness(?:\s+target)?|target\s+loudness)\s*(?:of|at|to|=|:|around|about|is)?"
    r"\s*[+-]?\s?(?P<v>\d+(?:\.\d+)?)(?!\s*(?:bpm|s\b|sec|min|%|\d))"
)
_DECIBELS = re.compile(r"[+-]?\s?\d+(?:\.\d+)?\s*(?:dbtp|dbfs|db)\b")
_REL_BPM_UNIT = re.compile(
    r"(?:\bby\s+|\+\s?|(?<![\w.])-\s?)?"
    r"(?P<v>\d+(?:\.\d+)?)\s*(?:more\s+)?(?:bpm|beats per minute)\s*"
    r"(?P<w>faster|quicker|higher|up|more|slower|lower|down|less)\b"
)
_REL_BPM_BY = re.compile(
    r"\b(?P<w>faster|quicker|higher|slower|lower|up|down)\s+by\s+(?P<v>\d+(?:\.\d+)?)"
    r"(?!\s*(?:s\b|secs?\b|seconds?\b|m\b|mins?\b|minutes?\b|%|percent))"
    r"(?:\s*(?:bpm|beats per minute))?"
)
_REL_BPM_SIGNED = re.compile(
    r"(?:(?<![\w.])(?P<s>[+-])\s?(?P<v>\d+(?:\.\d+)?)\s*(?:bpm|beats per minute)\b)"
    r"|(?:\b(?:bpm|tempo)\s*(?P<s2>[+-])\s?(?P<v2>\d+(?:\.\d+)?))"
)
_REL_BPM_VERB = re.compile(
    r"\b(?P<w>raise|increase|bump|push|boost|speed|lower|drop|decrease|reduce|cut|slow)\s+"
    r"(?:it\s+)?(?:up\s+|down\s+)?(?:the\s+)?(?:tempo|bpm|speed|it)?\s*(?:up\s+|down\s+)?"
    r"by\s+(?P<v>\d+(?:\.\d+)?)(?!\s*(?:s\b|secs?\b|seconds?\b|m\b|mins?\b|minutes?\b|%|percent))"
    r"(?:\s*(?:bpm|beats per minute))?"
)
# "20% faster", "faster by 10%", "slow it down 15%", "tempo +5%", "make it 50% longer"
_PCT = r"(?P<{}>\d+(?:\.\d+)?)\s*(?:%|percent)"
_REL_PERCENT = re.compile(
    r"(?<![\w.])" + _PCT.format("v") + r"\s*(?P<w>faster|quicker|slower|longer|shorter)\b"
    r"|\b(?P<w2>faster|quicker|slower|longer|shorter)\s*,?\s*"
    r"(?:by\s+|like\s+|about\s+|around\s+|maybe\s+)?" + _PCT.format("v2") + "|"
    r"\b(?P<w3>speed|raise|increase|bump|push|boost|slow|lower|drop|decrease|reduce|cut|extend|"
    r"lengthen|shorten|trim)\s+(?:it\s+|this\s+|that\s+)?(?:up\s+|down\s+)?(?:the\s+)?"
    r"(?:tempo\s+|bpm\s+|speed\s+|pace\s+|length\s+)?(?:up\s+|down\s+)?(?:by\s+)?"
    + _PCT.format("v3")
    + r"|\b(?:bpm|tempo)\s*(?P<s>[+-])\s?(?P<v4>\d+(?:\.\d+)?)\s*(?:%|percent)"
)
_EXTEND_UNIT = r"(?P<u>bars?|measures?|seconds?|secs?|s|minutes?|mins?|m)\b"
_EXTEND_QUANTITY = r"(?P<q>\d+(?:\.\d+)?|half\s+an?|an?)\s*-?\s*"
# "extend it by 8 bars", "lengthen the beat by 30 seconds", "extend by half a minute"
_EXTEND_VERB = re.compile(
    r"\b(?:extend|lengthen|stretch)(?:\s+(?:it|this|that|the\s+(?:beat|track|song|loop|clip)))?"
    r"\s+(?:out\s+)?(?:by\s+)?(?:another\s+|an?\s+(?:extra|additional|more)\s+)?"
    + _EXTEND_QUANTITY
    + r"(?:more\s+|extra\s+)?"
    + _EXTEND_UNIT
)
_BARS = r"(?P<u>bars?|measures?)\b"
# "add 4 bars", "add another 8 bars", "tack on 4 more bars", "4 more bars", "another 8 bars",
# "16 bars longer", "longer by 8 bars"
_EXTEND_BARS = re.compile(
    r"\b(?:add|adding|append|tack\s+on|give\s+it|give\s+me)\s+(?:on\s+)?"
    r"(?:another\s+|an?\s+(?:extra|additional)\s+)?(?P<q>\d+)\s*"
    r"(?:more\s+|extra\s+|additional\s+|new\s+)?"
    + _BARS
    + r"|(?<![\w.])(?:another\s+)?(?P<q2>\d+)\s*(?:more|extra|additional)\s+"
    r"(?P<u2>bars?|measures?)\b"
    r"|\banother\s+(?P<q3>\d+)\s*(?P<u3>bars?|measures?)\b"
    r"|(?<![\w.])(?P<q4>\d+)\s*(?P<u4>bars?|measures?)\s+(?:longer|more|extra)\b"
    r"|\blonger\s+by\s+(?P<q5>\d+)\s*(?P<u5>bars?|measures?)\b"
)
_REL_DUR_UNIT = re.compile(
    r"(?:\bby\s+|\+\s?)?(?P<v>\d+(?:\.\d+)?)\s*(?P<u>seconds?|secs?|s|minutes?|mins?|m)\s+"
    r"(?P<w>longer|shorter|more|less|extra)\b"
)
_REL_DUR_BY = re.compile(
    r"\b(?P<w>longer|shorter)\s+by\s+(?P<v>\d+(?:\.\d+)?)\s*(?P<u>seconds?|secs?|s|minutes?|mins?|m)?\b"
)
_REL_DUR_SIGNED = re.compile(
    r"(?<![\w.])(?P<s>[+-])\s?(?P<v>\d+(?:\.\d+)?)\s*(?P<u>seconds?|secs?|s|minutes?|mins?)\b"
)
_REL_DUR_ADD = re.compile(
    r"\b(?:add|adding)\s+(?:another\s+)?(?P<v>\d+(?:\.\d+)?)\s*(?P<u>seconds?|secs?|s|minutes?|mins?)\b"
)
_BPM_RANGE = re.compile(
    r"(?:between\s+)?(?P<a>\d{2,3}(?:\.\d+)?)\s*(?:-|to|and|or|/)\s*(?P<b>\d{2,3}(?:\.\d+)?)\s*"
    r"(?:bpm|beats per minute)\b"
)
_BPM_AFTER = re.compile(
    r"(?P<v>\d+(?:\.\d+)?)\s*(?:bpm|beats\s+per\s+minute|beats\s+a\s+minute|b\.p\.m\.?)(?![a-z])"
)
_BPM_BEFORE = re.compile(
    r"\b(?:bpm|tempo|speed)\s*(?:of|at|to|=|:|is|around|about|near|should be|set to|~|@)?\s*"
    r"(?:around\s+|about\s+|like\s+|~\s?)?(?P<v>\d+(?:\.\d+)?)"
    r"(?![\d.]|\s*(?:%|s\b|secs?\b|seconds?\b|mins?\b|minutes?\b|bars?\b|percent))"
)
_CLOCK = re.compile(r"(?<![\d:.])(?P<m>\d{1,2}):(?P<s>[0-5]\d)(?![\d:])")
_MIN_SEC = re.compile(
    r"(?<![\w.])(?P<m>\d+(?:\.\d+)?)\s*(?:minutes?|mins?|m)\s*(?:and\s+)?(?P<s>\d{1,2})\s*"
    r"(?:seconds?|secs?|s)?(?![\w.])"
)
_HALF_MINUTES = re.compile(r"(?<![\w.])(?P<v>\d+)\s+and\s+a\s+half\s+(?:minutes?|mins?)\b")
_MINUTES = re.compile(
    r"(?<![\w.])(?P<q>\d+(?:\.\d+)?)\s*-?\s*(?P<u>minutes?|mins?|m)(?![\w])"
    r"(?P<half>\s+and\s+a\s+half)?"
)
_MINUTES_WORDS = re.compile(
    r"\b(?P<q>" + _WORDS + r")\s*-?\s*(?P<u>minutes?|mins?)\b(?P<half>\s+and\s+a\s+half)?"
)
_SECONDS = re.compile(
    r"(?<![\w.])(?P<q>\d+(?:\.\d+)?)(?P<gap>\s*-?\s*)(?P<u>seconds?|secs?|s)(?![\w])"
)
_SECONDS_WORDS = re.compile(r"\b(?P<q>" + _WORDS + r")(?P<gap>\s*-?\s*)(?P<u>seconds?|secs?)\b")
_HOURS = re.compile(r"(?<![\w.])(?P<q>\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)(?![\w])")
# "seed 42", "seed #7", "with seed=123": the number is the seed, never a tempo.
_SEED = re.compile(r"\bseed\s*(?:#|=|:|no\.?|number|of)?\s*(?P<v>\d{1,10})(?![\w.])")
_HOURS_WORDS = re.compile(r"\b(?P<q>an?|one)\s*(?:hours?|hrs?)\b")
_MONEY_TIMES = re.compile(r"[$€£]\s?\d+(?:[.,]\d+)*|\bx\s?\d+\b")
# Every alternative starts with the number, read once (possessive: no unit starts with a
# digit, a dot or a space, so giving some back could never match): 3x faster than spelling
# `\d+` out in each alternative and retrying from every digit.
_OTHER_UNITS = re.compile(
    r"(?<!\d)\d++(?:\s?/\s?\d+|(?:\.\d++){2,}"
    r"|(?:\.\d++)?\s*+(?:bars?|measures?|beats?|loops?|tracks?|songs?|versions?|takes?|"
    r"variations?|hz|khz|k|x|%|percent|st|nd|rd|th|am|pm|gb|mb|kb|ms|times|people|years?|yrs?|"
    r"days?|weeks?|months?|bit|bits|kbps|steps?|notes?|stems?|bucks|dollars|euros|items?|"
    r"tries|things?|hrs?|of them|copies|minutes ago|mins ago)(?![a-z]))"
)
_YEARS = re.compile(r"\b(?:1[89]|20)\d\d\b")
_LONG_NUMBER = re.compile(r"\d{4,}(?:\.\d+)?")
_NEGATIVE = re.compile(r"(?<![\w.])(?P<v>-\s?\d+(?:\.\d+)?)")
_CONTEXT_BPM = re.compile(
    r"(?:\bat|\baround|\babout|\bapprox(?:imately)?|\bnear|\broughly|~|@)\s*"
    r"(?:like\s+|around\s+|about\s+)?(?P<v>\d{2,3}(?:\.\d+)?)(?![\w:%/]|\.\d)"
)
_DRUM_MACHINES = frozenset({"808", "909", "303", "707", "606"})
_DIGIT = re.compile(r"\d")
_DURATION_WORD = re.compile(r"\b(?:min|minutes?|mins?|seconds?|secs?|hours?|hrs?)\b")
# A full stop after the number ends its sentence ("Drill. 144. G minor."), not a decimal.
_BARE_BPM = re.compile(r"(?<![\w.+\-:$])(?P<v>\d{2,3}(?:\.\d+)?)(?![\w:%/]|\.\d)")
_TWO_STEP = re.compile(r"\b(?:2|two)\s*-?\s*step\b")
_LENGTH_WORDS = frozenset({"longer", "shorter", "extend", "lengthen", "shorten", "trim"})

_R = _Reading
# (pattern, handler, substrings one of which must be present, needs a digit); most specific
# first. The substring gate skips most regexes for most messages.
_NUMBER_RULES: tuple[tuple[re.Pattern[str], Any, tuple[str, ...], bool], ...] = (
    (_SEED, _R._seed, ("seed",), True),
    (_LUFS_AFTER, _R._lufs, ("lu", "lk"), True),
    (_LUFS_BEFORE, _R._lufs, ("lu", "lk", "loud"), True),
    (_DECIBELS, _R._consume, ("db",), True),
    (_REL_PERCENT, _R._rel_percent, ("%", "percent"), True),
    (_REL_BPM_UNIT, _R._rel_bpm_unit, ("bpm", "beats per"), True),
    (_REL_BPM_BY, _R._rel_bpm_by, ("by",), True),
    (_REL_BPM_SIGNED, _R._rel_bpm_signed, ("+", "-"), True),
    (_REL_BPM_VERB, _R._rel_bpm_verb, ("by",), True),
    (_EXTEND_VERB, _R._extend, ("extend", "lengthen", "stretch"), False),
    (_EXTEND_BARS, _R._extend_bars, ("bar", "measure"), True),
    (_REL_DUR_UNIT, _R._rel_dur_unit, ("longer", "shorter", "more", "less", "extra"), True),
    (_REL_DUR_BY, _R._rel_dur_by, ("by",), True),
    (_REL_DUR_SIGNED, _R._rel_dur_signed, ("+", "-"), True),
    (_REL_DUR_ADD, _R._rel_dur_add, ("add",), True),
    (_BPM_RANGE, _R._bpm_range, ("bpm", "beats per"), True),
    (_BPM_AFTER, _R._bpm, ("bpm", "beats", "b.p.m"), True),
    (_BPM_BEFORE, _R._bpm, ("bpm", "tempo", "speed"), True),
    (_CLOCK, _R._clock, (":",), True),
    (_MIN_SEC, _R._min_sec, ("m",), True),
    (_HALF_MINUTES, _R._half_minutes, ("half",), True),
    (_MINUTES, _R._minutes, ("m",), True),
    (_MINUTES_WORDS, _R._minutes, ("min",), False),
    (_SECONDS, _R._seconds, ("s",), True),
    (_SECONDS_WORDS, _R._seconds, ("sec",), False),
    (_HOURS, _R._hours, ("h",), True),
    (_HOURS_WORDS, _R._hours, ("hour", "hr"), False),
    (_MONEY_TIMES, _R._consume, ("$", "€", "£", "x"), True),
    (_OTHER_UNITS, _R._consume, (), True),
    (_YEARS, _R._consume, (), True),
    (_LONG_NUMBER, _R._consume, (), True),
    (_NEGATIVE, _R._negative, ("-",), True),
    (
        _CONTEXT_BPM,
        _R._context_bpm,
        ("at", "around", "about", "approx", "near", "roughly", "~", "@"),
        True,
    ),
    (_BARE_BPM, _R._bare_bpm, (), True),
)

_TRIGGERS = frozenset(word for rule in _NUMBER_RULES for word in rule[2])


# --- 5. deciding the kind -----------------------------------------------------------------------


def _decide(r: _Reading) -> tuple[str, dict[str, Any], dict[str, Any], str | None, bool]:
    tokens = r.tokens
    found = r.found
    events = r.events
    cues: dict[str, int] = {}  # cue -> first token index
    genre: str | None = None
    genre_at = -1  # token index of the genre
    weak_genre: str | None = None
    lookalike: tuple[int, str] | None = None  # (index, "trap") for "tarp": in a beat's context
    style: str | None = None
    mood: str | None = None
    mood_more = False
    profile: str | None = None
    quality: str | None = None
    stems: list[str] = []
    unstems: list[str] = []
    changes: dict[str, int] = {}
    compared = False  # "faster", "longer" (not the adjectives "fast", "slow")
    stem_selected = False
    known: set[int] = set()  # token indexes with some meaning
    # A negation ("not too dark", "no vocals") cancels the next mood or stem within 3 tokens.
    negation_until = -1

    def negated(index: int) -> bool:
        nonlocal negation_until
        if index <= negation_until:
            negation_until = -1
            return True
        return False

    for index, category, value, size in events:
        known.update(range(index, index + size))
        if category == "ignore":
            continue
        if category == "cue" and value == "negate":
            if index > 0 or tokens[0] != "no":  # a leading "no," answers, it doesn't negate
                negation_until = index + size + 2
            continue
        if category == "genre":
            if genre is None and not _is_a_place(tokens, index, known):
                genre, genre_at = value, index
        elif category == "style":
            style = style or value
        elif category == "genre_weak":
            if weak_genre is None:
                weak_genre = value
                genre_at = genre_at if genre else index
        elif category == "genre_lookalike":
            lookalike = lookalike or (index, value)
        elif category in ("mood", "mood_more"):
            if negated(index):
                continue
            if mood is None:
                mood = value
                mood_more = category == "mood_more"
        elif category in ("profile", "profile_more"):
            if profile is None:
                profile = value
                mood_more = mood_more or category == "profile_more"
        elif category == "quality":
            if quality is None:
                quality = value
        elif category == "stem":
            target = unstems if negated(index) else stems
            if value not in target:
                target.append(value)
            before = tokens[max(0, index - 2) : index]
            after = tokens[index + 1 : index + 2]
            if "just" in before or "only" in before or after == ["only"]:
                stem_selected = True
        elif category == "change":
            field_name, sign = value.split(":")
            if negated(index):
                # "not too fast", "less slow": a nudge the other way; "don't make it
                # faster" asks for no change.
                if not _TEMPERING & set(tokens[max(0, index - 2) : index]):
                    continue
                sign = str(-int(sign))
                changes.setdefault(field_name, int(sign) * vocab.STEPS[field_name]["small"])
                continue
            compared = compared or size > 1 or tokens[index] not in ("fast", "slow")
            if field_name not in changes:
                before = {
                    *tokens[max(0, index - 3) : index],
                    *tokens[index + size : index + size + 2],
                }
                if before & vocab.BIG_WORDS:
                    size = "big"
                elif before & vocab.SMALL_WORDS:
                    size = "small"
                else:
                    size = "normal"
                changes[field_name] = int(sign) * vocab.STEPS[field_name][size]
        elif category == "cue":
            _note_cue(cues, value, index, tokens, events)

    if genre is None and weak_genre is not None:
        genre = weak_genre
    if genre is None and lookalike is not None:
        if _lookalike_is_the_genre(lookalike[0], tokens, events, known, found):
            genre, genre_at = lookalike[1], lookalike[0]
        else:
            known.discard(lookalike[0])
    unsupported = style if genre is None else None
    # "make a trap beat now": "now"/"but"/"same" only ask for a change at the start.
    params: dict[str, Any] = {}
    if genre:
        params["genre"] = genre
    if found.bpm is not None:
        params["bpm"] = found.bpm
    if found.key:
        params["key"] = found.key
    if mood:
        params["mood"] = mood
    if found.duration is not None:
        params["duration"] = found.duration
    if profile:
        params["mix_profile"] = profile
    if quality:
        params["quality"] = quality
    if found.target_lufs is not None:
        params["target_lufs"] = found.target_lufs
    if found.seed is not None:
        params["seed"] = found.seed

    adjust: dict[str, Any] = dict(found.adjust)
    for field_name, step in changes.items():
        adjust.setdefault(field_name, step)
    for field_name in ("bpm", "duration"):
        if field_name in params:  # an absolute value beats a relative one
            adjust.pop(field_name, None)
            adjust.pop(f"{field_name}_percent", None)
        elif f"{field_name}_percent" in adjust:  # "20% faster" is not also "faster"
            adjust.pop(field_name, None)

    core = bool(
        genre
        or found.key
        or found.bpm_explicit
        or found.bpm_context
        or mood
        or found.duration is not None
    )
    if found.bpm is not None and not (found.bpm_explicit or found.bpm_context):
        core = core or bool(genre or found.key or mood)
    has_noun = "noun" in cues or unsupported is not None
    has_verb = "verb" in cues
    creating = "create" in cues and (genre is not None or has_noun)
    content = [i for i in range(len(tokens)) if i not in known]
    only_known = not content
    # "surprise me", "anything at 90 bpm"; not "got anything darker?" (a change to the last)
    open_request = (
        "open" in cues
        and (only_known or core or has_noun)
        and not (mood_more or adjust or compared)
    )

    kind = _kind(
        cues=cues,
        core=core,
        params=params,
        adjust=adjust,
        genre=genre,
        mood_more=mood_more,
        has_noun=has_noun,
        has_verb=has_verb,
        creating=creating,
        new_beat=("master" in cues or "mix" in cues)
        and _describes_a_new_beat(genre, genre_at, tokens, cues, found, mood),
        open_request=open_request,
        compared=compared,
        only_known=only_known,
        stems=bool(stems) and stem_selected,
        bare_bpm_only=found.bpm is not None and not core,
        anything=bool(tokens) or bool(params) or bool(adjust),
        question_only=r.text.strip() == "?",
    )
    kind = _with_controls(kind, r, params, adjust, cues)
    if kind == "stems" and (stems or unstems):
        chosen = stems or [s for s in vocab.STEM_TYPES if s not in unstems]
        params["stems"] = tuple(s for s in chosen if s not in unstems) or tuple(chosen)
    if kind == "master" and "target_lufs" not in params:
        loud = [v for v in found.negatives if -40 <= v <= -1]
        if loud:
            params["target_lufs"] = _number(str(loud[0]))
    allowed = _KIND_FIELDS.get(kind, ())
    params = {k: v for k, v in params.items() if k in allowed}
    if kind not in ("generate", "variation", "refine"):
        adjust = {}
        unsupported = None
    return kind, params, adjust, unsupported, kind == "generate" and open_request


_NEW_BEAT_WORDS = frozenset({"beat", "beats", "track", "song", "instrumental", "loop", "riddim"})


def _with_controls(
    kind: str, r: _Reading, params: dict[str, Any], adjust: dict[str, Any], cues: dict[str, int]
) -> str:
    """Adds the producer controls the message states to `params` (and `adjust` loses what
    an extend replaces); returns the kind they make it: an extend refines the thread's beat,
    a section to redo is a variation of it, parts and instruments refine it unless the
    message asks for a new beat."""
    found = r.found
    controls = read_controls(r.tokens) or Controls()
    bars, seconds = found.extend_bars, found.extend_seconds
    if (
        seconds is None
        and bars is None
        and kind == "refine"
        and found.adjust.get("duration", 0) > 0
        and set(adjust) == {"duration"}
        and not any(name in params for name in BEAT_FIELDS)
    ):
        # "make it 30 seconds longer": the same beat with bars appended, not a new render
        seconds = adjust.pop("duration")
    if not (controls or bars or seconds):
        return kind
    if kind == "stems" and ("stems" in cues or not controls.only):
        return kind  # "just the drums stem", "stems without vocals": stems of the clip
    if kind not in ("generate", "variation", "refine", "unknown", "stems"):
        return kind
    if controls.exclude:
        params["exclude"] = controls.exclude
    if controls.include:
        params["include"] = controls.include
    if controls.restore:
        params["restore"] = controls.restore
    if bars or seconds:
        if bars:
            params["extend_bars"] = bars
        else:
            params["extend_seconds"] = seconds
        adjust.pop("duration", None)  # "extend it" also reads as "longer"
        adjust.pop("duration_percent", None)
        return "refine"
    if controls.section:
        params["section"] = controls.section
        if controls.part:
            params["part"] = controls.part
        return "variation"
    if kind in ("unknown", "stems"):
        # "no hi-hats", "drums only": the thread's beat without them; "trap beat, drums
        # only": a new one
        return "generate" if "genre" in params else "refine"
    new_beat = (
        any(name in params for name in BEAT_FIELDS)
        or "verb" in cues
        or "create" in cues
        or not _NEW_BEAT_WORDS.isdisjoint(r.tokens)
    )
    if kind == "generate" and not new_beat:
        return "refine"  # "without melody": "melody" alone is no new beat
    return kind


# Words before a genre that point at a clip that exists ("master the trap beat").
_REFERRING = frozenset({"my", "the", "that", "this", "your", "our", "last", "his", "her", "their"})


def _describes_a_new_beat(
    genre: str | None,
    genre_at: int,
    tokens: list[str],
    cues: dict[str, int],
    found: _Found,
    mood: str | None,
) -> bool:
    """ "techno 130 mastered at -9 LUFS", "house beat 124 bpm, mix it warm": a beat request
    that also says how to mix or master it, not a mix or master of a clip that exists.
    (With a refine cue the beat is the last one, changed: `_kind` makes that a refine.)"""
    if genre is None:
        return False
    if "refine" in cues or "refine_as" in cues:
        return True  # "now as house, master it for club": the same beat, changed (a refine)
    if genre_at > 0 and tokens[genre_at - 1] in _REFERRING:
        return False
    described = found.bpm is not None or found.key is not None or found.duration is not None or mood
    first_cue = min(cues.get("master", len(tokens)), cues.get("mix", len(tokens)))
    return bool(described) or genre_at < first_cue


def _lookalike_is_the_genre(
    index: int,
    tokens: list[str],
    events: list[tuple[int, str, str, int]],
    known: set[int],
    found: _Found,
) -> bool:
    """ "make a tarp beat", "tarp at 140": the word is the genre when a beat noun follows it,
    or when everything else in the message is a beat's parameters."""
    noun = ("cue", "noun")
    if any(i == index + 1 and (category, value) == noun for i, category, value, _ in events):
        return True
    if len(tokens) == 1:
        return True
    only_known = all(i in known for i in range(len(tokens)))
    has_verb = any(category == "cue" and value == "verb" for _, category, value, _ in events)
    return only_known and not has_verb and (found.bpm is not None or found.key is not None)


def _is_a_place(tokens: list[str], index: int, known: set[int]) -> bool:
    """ "my mom's house", "jacks house": a possessive before "house" makes it a place."""
    if tokens[index] != "house" or index == 0:
        return False
    before = tokens[index - 1]
    return (index - 1) not in known and before.endswith("s") and len(before) > 2


def _note_cue(
    cues: dict[str, int],
    value: str,
    index: int,
    tokens: list[str],
    events: list[tuple[int, str, str, int]],
) -> None:
    token = tokens[index]
    if value == "refine" and token in ("now", "but", "same", "keep"):
        # only as the message's opening word(s): "now as house", "but in D minor"
        leading = all(t in _OPENERS for t in tokens[:index])
        if not leading:
            return
    if value == "mix":
        following = tokens[index + 1 : index + 2]
        if following == ["of"]:
            return  # "a mix of trap and drill"
        if following and following[0] in ("it", "that", "this"):
            cues.setdefault("mix_it", index)
    if value == "as":
        nxt = {category for i, category, _, _ in events if i in (index + 1, index + 2)}
        if "genre" in nxt or "genre_weak" in nxt:
            cues.setdefault("refine_as", index)
        return
    cues.setdefault(value, index)


_OPENERS = frozenset(
    {
        "ok",
        "okay",
        "cool",
        "nice",
        "yo",
        "hey",
        "great",
        "sick",
        "dope",
        "fire",
        "love",
        "it",
        "that",
        "yes",
        "yeah",
        "ya",
        "alright",
        "now",
        "so",
        "and",
        "hmm",
        "lol",
        "damn",
        "wow",
        "nah",
        "no",
        "thanks",
        "thx",
        "but",
        "same",
        "the",
        "lit",
        "perfect",
        "good",
        "awesome",
        "amazing",
        "beautiful",
    }
)


def _kind(
    *,
    cues: dict[str, int],
    core: bool,
    params: dict[str, Any],
    adjust: dict[str, Any],
    genre: str | None,
    mood_more: bool,
    has_noun: bool,
    has_verb: bool,
    creating: bool,
    new_beat: bool,
    open_request: bool,
    compared: bool,
    only_known: bool,
    stems: bool,
    bare_bpm_only: bool,
    anything: bool,
    question_only: bool,
) -> str:
    if not anything:
        return "help" if question_only else "unknown"
    if "cancel" in cues and not core:
        return "cancel"
    if "status" in cues and not core:
        return "status"
    if "genres" in cues and not core:
        return "genres"
    if "help" in cues and not core:
        return "help"
    mix_first = "mix" in cues and cues["mix"] < cues.get("stems", len(cues) + 10_000)
    if ("stems" in cues or stems) and not creating and not mix_first:
        return "stems"
    if "master" in cues and not creating and not new_beat:
        return "master"
    # "-14 LUFS", "for spotify": loudness alone means mastering ("I went to the club" doesn't)
    loudness_only = (
        ("target_lufs" in params or ("quality" in params and (only_known or has_verb)))
        and not core
        and not has_noun
    )
    if loudness_only and not ("mix" in cues or "refine" in cues or adjust):
        return "master"
    if "mix" in cues and not creating and not new_beat:
        if "mix_it" in cues:
            return "refine"
        return "mix"
    refine_cue = "refine" in cues or "refine_as" in cues
    if "variation" in cues:
        if genre and not refine_cue and not mood_more:
            return "generate"
        return "variation"
    if refine_cue:
        if not params and not adjust and not has_noun and not has_verb and not only_known:
            return "unknown"  # "but why", "same here": nothing to change
        return "refine"
    if open_request:
        return "generate"
    # "darker", "faster", "faster, like 150", "longer, like 60 seconds": a change to the last
    if (mood_more or adjust or compared) and not genre and not has_noun:
        return "refine"
    strong = bool(genre or "key" in params or (has_noun and (has_verb or core)))
    if strong:
        return "generate"
    weak = core or "mix_profile" in params or "quality" in params or bool(adjust)
    if weak and (has_verb or only_known):
        return "generate"
    if bare_bpm_only and (has_noun or has_verb):
        return "generate"
    if has_noun and (has_verb or only_known):
        return "generate"
    return "unknown"
