"""The melody develops like a topline: call and answer in every section, a developed third
statement, one climax late in the phrase, a thinner verse, a seeded start, and no note held a
half-step above the chord under it. Three takes of one prompt don't share their tunes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from engine.compose import compose
from engine.genres import GENRE_NAMES
from engine.grooves import style_for
from engine.midi import write_midi
from tests.compose_measure import HOOKS, clash_fraction, events_in, spec_for
from tests.sound_measure import midi_notes, note_jaccard, note_set

TOPLINE = [g for g in GENRE_NAMES if style_for(g).melody_style != "arp" and g != "techno"]


def statement(a, start_bar: int) -> list[tuple[int, float]]:
    """A 2-bar statement's notes as (bar within it, onset within the bar, pitch)."""
    return [
        (int(e.time // 4) - start_bar, round(e.time % 4 * 4) / 4, round(e.pitch))
        for e in events_in(a, ["melody"], start_bar * 4, start_bar * 4 + 8)
    ]


def rhythm(notes: list[tuple[int, float, int]]) -> list[tuple[int, float]]:
    return [(bar, onset) for bar, onset, _ in notes]


@pytest.mark.parametrize("genre", TOPLINE)
def test_the_answer_sounds_in_short_beats(genre: str) -> None:
    """30 s beats have 2- and 4-bar hooks: the hook's second 2-bar phrase (in the same hook or
    the next one) is the answer, not the call again."""
    answered = 0
    for seed in (1, 2, 3, 4):
        a = compose(spec_for(genre, 30), seed)
        starts = [
            bar
            for s in a.sections
            if s.name in HOOKS
            for bar in range(s.start_bar, s.end_bar - 1, 2)
        ]
        assert len(starts) >= 2, (genre, seed)
        call, answer = statement(a, starts[0]), statement(a, starts[1])
        answered += rhythm(call) != rhythm(answer)
    assert answered >= 3, genre


@pytest.mark.parametrize("genre", TOPLINE)
def test_the_motif_develops_and_peaks_once_late(genre: str) -> None:
    for seed in (1, 2, 3):
        a = compose(spec_for(genre, 60), seed)
        for s in a.sections:
            if s.name not in HOOKS or s.bars < 8 or s.name == "solo":
                continue
            first, third = statement(a, s.start_bar), statement(a, s.start_bar + 4)
            # The same chords under both: only development makes the third statement differ.
            assert (
                a.chords[s.start_bar : s.start_bar + 2]
                == a.chords[s.start_bar + 4 : s.start_bar + 6]
            )
            assert first != third, (genre, seed, s)
            pitches = [
                (e.pitch, e.time)
                for e in events_in(a, ["melody"], s.start_bar * 4, s.start_bar * 4 + 32)
            ]
            top = max(p for p, _ in pitches)
            peak_times = [t for p, t in pitches if p == top]
            # The climax: the phrase's highest note comes in its last 2-bar statement.
            assert min(peak_times) >= (s.start_bar + 6) * 4 - 0.1, (genre, seed, s)


def notes_per_bar(a, names: tuple[str, ...]) -> float:
    sections = [s for s in a.sections if s.name in names]
    notes = sum(len(events_in(a, ["melody"], s.start_bar * 4, s.end_bar * 4)) for s in sections)
    return notes / max(1, sum(s.bars for s in sections))


@pytest.mark.parametrize("genre", TOPLINE)
def test_verse_melody_is_thinner_than_the_hook(genre: str) -> None:
    for seed in (1, 2):
        a = compose(spec_for(genre, 60), seed)
        if any(s.name == "verse" for s in a.sections):
            verse, hook = notes_per_bar(a, ("verse",)), notes_per_bar(a, HOOKS)
            assert 0 < verse <= 0.7 * hook, (genre, seed)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_no_melody_note_sits_a_half_step_above_a_chord_tone(genre: str) -> None:
    for seed in (1, 2, 3):
        a = compose(spec_for(genre, 60), seed)
        assert clash_fraction(a) <= 0.01, (genre, seed, clash_fraction(a))


@pytest.mark.parametrize("genre", ["trap", "lo-fi", "pop", "hip hop"])
def test_takes_start_their_hooks_on_different_notes(genre: str) -> None:
    firsts = set()
    for seed in range(1, 7):
        a = compose(spec_for(genre, 60), seed)
        hook = next(s for s in a.sections if s.name in HOOKS)
        firsts.add(events_in(a, ["melody"], hook.start_bar * 4, hook.end_bar * 4)[0].pitch)
    assert len(firsts) >= 3, (genre, firsts)


def test_three_trap_takes_sound_like_three_producers(tmp_path: Path) -> None:
    """Issue 18's measure, from the MIDI files: pairwise melody overlap (pitch, 16th onset)
    at most 0.35, and not all three starting on the same pitch."""
    sets, firsts = [], set()
    for seed in (1, 2, 3):
        path = write_midi(compose(spec_for("trap", 60), seed), tmp_path / f"take{seed}.mid")
        notes = midi_notes(path)
        sets.append(note_set(notes, "melody"))
        firsts.add(next(n.pitch for n in notes if n.track == "melody"))
    overlaps = [note_jaccard(x, y) for x, y in itertools.combinations(sets, 2)]
    assert max(overlaps) <= 0.35, overlaps
    assert len(firsts) > 1


def test_hook_octave_layer_doubles_the_melody() -> None:
    a = compose(spec_for("pop", 60), 3)
    hooks = [s for s in a.sections if s.name in HOOKS]
    for s in hooks:
        lo, hi = s.start_bar * 4, s.end_bar * 4
        melody = events_in(a, ["melody"], lo, hi)
        octave = events_in(a, ["melody_octave"], lo, hi)
        assert len(octave) == len(melody)
        shifts = {o.pitch - m.pitch for m, o in zip(melody, octave, strict=True)}
        assert shifts in ({12.0}, {-12.0})
        assert all(o.time == m.time for m, o in zip(melody, octave, strict=True))
    assert (
        np.mean([e.velocity for e in a.tracks["melody_octave"].events])
        < np.mean(
            [
                e.velocity
                for e in a.tracks["melody"].events
                if a.section_at(int(e.time // 4)).name in HOOKS
            ]
        )
        + 1e-9
    )
