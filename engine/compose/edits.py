"""Edits on a written beat: `Extend` appends bars, `Redo` draws a section afresh.

Each edit works on the arrangement the edits before it made and gives the next one, with
the bars it wrote anew (`Change`): everything outside those bars is the previous version's
notes, untouched, so the audio side (engine.pipeline) can keep every other sample.

- Extend composes the beat again on a longer plan (the form continued, the outro moved to
  the new end) and takes from it only the notes that start at or after the old outro (or the
  old end): the kept bars keep the previous version's notes exactly.
- Redo composes the beat again on the same plan with the named sections' random streams
  drawn for that take, and takes from it only that part's notes inside those sections
  (trimmed at each section's end: what follows is the previous version's). The chords (the
  progression) stay; rhythm, voicing pattern, melody and drums are drawn again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.compose.composer import compose
from engine.compose.model import (
    BEATS_PER_BAR,
    Arrangement,
    BeatSpec,
    Extend,
    NoteEvent,
    Redo,
    Section,
    Track,
    spoken_list,
    stems_of_part,
)
from engine.errors import EngineInputError
from engine.grooves import style_for

# A continued section is at most this long unless the beat's own sections of that name are.
DEFAULT_SECTION_BARS = {"build": 4, "break": 4, "intro": 4}
FALLBACK_SECTION_BARS = 8


@dataclass(frozen=True)
class Change:
    """What one edit wrote anew, in bars [start, end) per span. An extend's one span runs
    from the first bar it wrote (the old outro's start, or the old end) to the new end."""

    kind: str  # "extend" | "redo"
    spans: tuple[tuple[int, int], ...]
    previous_bars: int  # how long the version before the edit was
    stems: tuple[str, ...]  # the stems the edit may change


def arrange(spec: BeatSpec, seed: int) -> list[tuple[Arrangement, Change | None]]:
    """Every version of the beat: the composed one, then one per edit (with its Change)."""
    spec = spec.validated()
    plain = replace(spec, edits=())
    versions: list[tuple[Arrangement, Change | None]] = [(compose(plain, seed), None)]
    for edit in spec.edits:
        previous = versions[-1][0]
        if isinstance(edit, Extend):
            versions.append(extend(previous, plain, seed, edit.bars))
        else:
            versions.append(redo(previous, plain, seed, edit))
    return versions


def arrangement_of(spec: BeatSpec, seed: int) -> Arrangement:
    """The beat with every edit applied (what the MIDI and the loop are made from)."""
    if not spec.edits:
        return compose(spec, seed)
    return arrange(spec, seed)[-1][0]


# --- extend ------------------------------------------------------------------------------


def extend(
    previous: Arrangement, spec: BeatSpec, seed: int, bars: int
) -> tuple[Arrangement, Change]:
    sections = previous.sections
    outro = sections[-1] if len(sections) > 1 and sections[-1].name == "outro" else None
    body = sections[:-1] if outro is not None else list(sections)
    keep = body[-1].end_bar
    plan = [*body, *continuation(previous.genre, body, bars)]
    if outro is not None:
        plan.append(Section("outro", plan[-1].end_bar, outro.bars))
    fresh = compose(spec, seed, plan=plan)
    spliced = splice(previous, fresh, [(keep, fresh.bars)], None, trim=False)
    vinyl = spliced.tracks.get("vinyl")
    if vinyl is not None:  # the record keeps turning under the new bars
        vinyl.events.append(
            NoteEvent(previous.beats, fresh.beats - previous.beats, 0.0, vinyl.events[0].velocity)
        )
    chords = previous.chords[:keep] + fresh.chords[keep:]
    automation = tuple(m for m in previous.automation if m.start < keep * BEATS_PER_BAR) + tuple(
        m for m in fresh.automation if m.start >= keep * BEATS_PER_BAR
    )
    result = replace(spliced, chords=chords, automation=automation)
    change = Change("extend", ((keep, fresh.bars),), previous.bars, tuple(_all_stems()))
    return result, change


def continuation(genre: str, body: Sequence[Section], bars: int) -> list[Section]:
    """`bars` bars of new sections after `body`, as the genre's form goes on: its longest
    plan's sections in turn (verse then hook, or break, build, drop), starting after the
    beat's last one, each as long as the beat's own section of that name."""
    longest = max(style_for(genre).plans, key=len)
    cycle = list(dict.fromkeys(name for name, _ in longest if name not in ("intro", "outro")))
    last = body[-1].name
    index = (cycle.index(last) + 1) % len(cycle) if last in cycle else 0
    start, left, added = body[-1].end_bar, bars, []
    while left > 0:
        name = cycle[index % len(cycle)]
        size = min(left, _section_bars(name, body))
        if 0 < left - size < 2:
            size = left  # a lone bar joins the section before it
        added.append(Section(name, start, size))
        start, left, index = start + size, left - size, index + 1
    return added


def _section_bars(name: str, body: Sequence[Section]) -> int:
    own = [s.bars for s in body if s.name == name]
    if own:
        return max(2, own[-1])
    return DEFAULT_SECTION_BARS.get(name, FALLBACK_SECTION_BARS)


# --- redo --------------------------------------------------------------------------------


def redo(
    previous: Arrangement, spec: BeatSpec, seed: int, edit: Redo
) -> tuple[Arrangement, Change]:
    targets = [s for s in previous.sections if s.name == edit.section]
    if not targets:
        names = spoken_list(list(dict.fromkeys(s.name for s in previous.sections)))
        raise EngineInputError(f"This beat has no {edit.section}; its sections are {names}.")
    redraws = {s.start_bar: edit.take for s in targets}
    fresh = compose(spec, seed, plan=previous.sections, redraws=redraws)
    spans = [(s.start_bar, s.end_bar) for s in targets]
    stems = stems_of_part(edit.part)
    result = splice(previous, fresh, spans, frozenset(stems), trim=True)
    change = Change("redo", tuple(spans), previous.bars, tuple(stems))
    return result, change


# --- splicing notes ----------------------------------------------------------------------


def splice(
    previous: Arrangement,
    fresh: Arrangement,
    spans: Sequence[tuple[int, int]],
    stems: frozenset[str] | None,
    *,
    trim: bool,
) -> Arrangement:
    """`fresh`'s notes that start inside `spans` (bars; only on `stems`, all when None) in
    place of `previous`'s; every other note is `previous`'s. With `trim`, a fresh note ends
    by its span's end."""
    windows = [(a * BEATS_PER_BAR * 1.0, b * BEATS_PER_BAR * 1.0) for a, b in spans]

    def window(time: float) -> tuple[float, float] | None:
        return next((w for w in windows if w[0] <= time < w[1]), None)

    tracks: dict[str, Track] = {}
    for name in dict.fromkeys([*previous.tracks, *fresh.tracks]):
        old, new = previous.tracks.get(name), fresh.tracks.get(name)
        base = old if old is not None else new
        assert base is not None
        edited = stems is None or base.stem in stems
        events = [e for e in (old.events if old else []) if not (edited and window(e.time))]
        for event in new.events if (new is not None and edited) else []:
            span = window(event.time)
            if span is None:
                continue
            if trim and event.time + event.duration > span[1]:
                event = replace(event, duration=max(0.05, span[1] - event.time))
            events.append(event)
        events.sort(key=lambda e: (e.time, e.pitch))
        if events:
            tracks[name] = replace(base, events=events)
    left_out = tuple(dict.fromkeys([*previous.left_out, *fresh.left_out]))
    return replace(
        previous,
        spec=fresh.spec,
        bars=fresh.bars,
        sections=list(fresh.sections),
        tracks=tracks,
        left_out=left_out,
    )


def _all_stems() -> tuple[str, ...]:
    return stems_of_part("all")
