"""Measure a composition (an Arrangement) the way a producer reads a piano roll.

    spec_for(genre, seconds, **kw) -> BeatSpec        the genre's defaults
    events_in(arrangement, names, lo, hi) -> events   notes of some tracks in [lo, hi) beats
    drum_bar(arrangement, bar) -> frozenset           what the drums play in a bar (on a grid)
    distinct_drum_bars(arrangement, section) -> int   how many different drum bars a section has
    clash_fraction(arrangement) -> 0..1               melody time a half-step above a chord tone

Works on the composition alone (no audio), so these tests are fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.compose import Arrangement, BeatSpec, NoteEvent, Section
from engine.genres import get_genre

MAIN = ("verse", "hook", "drop", "head", "solo")
HOOKS = ("hook", "drop", "solo")
MELODIC = ("melody", "melody_octave")
HARMONY = ("chords", "pad_hook")


def spec_for(genre: str, seconds: float = 30.0, **kw: object) -> BeatSpec:
    g = get_genre(genre)
    values = {
        "genre": genre,
        "bpm": g.default_bpm,
        "key": g.default_key,
        "mood": g.default_mood,
        "duration": seconds,
        **kw,
    }
    return BeatSpec(**values)  # type: ignore[arg-type]


def events_in(
    arrangement: Arrangement, names: Iterable[str], lo: float, hi: float
) -> list[NoteEvent]:
    return [
        e
        for name in names
        if name in arrangement.tracks
        for e in arrangement.tracks[name].events
        if lo <= e.time < hi
    ]


def drum_tracks(arrangement: Arrangement) -> list[str]:
    return [n for n, t in arrangement.tracks.items() if t.kind == "drum"]


def drum_bar(arrangement: Arrangement, bar: int) -> frozenset[tuple[str, int]]:
    """(drum, onset on a 48th grid) of every hit in `bar`: humanising and swing are far
    smaller than the grid's steps apart, so two bars read equal when the pattern is equal."""
    hits = set()
    for name in drum_tracks(arrangement):
        for e in arrangement.tracks[name].events:
            if bar * 4 - 0.05 <= e.time < bar * 4 + 3.95:
                hits.add((name, round((e.time - bar * 4) * 12)))
    return frozenset(hits)


def distinct_drum_bars(arrangement: Arrangement, section: Section) -> int:
    return len({drum_bar(arrangement, b) for b in range(section.start_bar, section.end_bar)})


def sounding_pitch_classes(arrangement: Arrangement, time: float) -> set[int]:
    """The chord under `time`: the bar's chord symbol and every harmony note sounding then."""
    bar = min(int(time // 4), arrangement.bars - 1)
    pcs = set(arrangement.chords[bar].pitch_classes)
    for name in HARMONY:
        if name in arrangement.tracks:
            pcs |= {
                round(e.pitch) % 12
                for e in arrangement.tracks[name].events
                if e.time <= time < e.time + e.duration
            }
    return pcs


def clash_fraction(arrangement: Arrangement, step: float = 0.125) -> float:
    """Share of melody time (sampled every `step` beats) whose pitch sits a half-step above a
    chord tone sounding at that moment: a minor ninth against the harmony."""
    total = clashing = 0
    for name in MELODIC:
        for e in arrangement.tracks[name].events if name in arrangement.tracks else []:
            t = e.time
            while t < e.time + e.duration - 1e-9:
                total += 1
                if (round(e.pitch) - 1) % 12 in sounding_pitch_classes(arrangement, t):
                    clashing += 1
                t += step
    return clashing / total if total else 0.0
