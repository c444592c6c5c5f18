"""Groove and genre character, read from the MIDI file a user gets and from the arrangement:
swung 8th hats and a lazy snare in the hip hop family, accented hats, trap 808 slides, rock's
hat-or-ride, a real jungle break, and a wobble that changes its rhythm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.compose import GM_DRUMS, compose
from engine.genres import GENRE_NAMES
from engine.grooves import style_for
from engine.midi import write_midi
from tests.compose_measure import events_in, spec_for
from tests.sound_measure import glide_fraction, midi_notes, swing_ratio

SWING_TARGETS = {"lo-fi": 1.35, "boom bap": 1.35, "hip hop": 1.35, "r&b": 1.2}
STRAIGHT = ("trap", "pop", "edm", "techno", "rock", "drum and bass")


def notes_of(genre: str, seed: int, seconds: float, folder: Path):
    path = write_midi(compose(spec_for(genre, seconds), seed), folder / f"{genre}-{seed}.mid")
    return midi_notes(path)


@pytest.mark.parametrize("genre", list(SWING_TARGETS))
def test_hip_hop_family_swings_its_8th_note_hats(genre: str, tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        ratio = swing_ratio(notes_of(genre, seed, 60, tmp_path))
        assert ratio >= SWING_TARGETS[genre], (genre, seed, ratio)
        assert ratio <= 2.0  # swing, not a dotted rhythm


@pytest.mark.parametrize("genre", STRAIGHT)
def test_straight_genres_stay_straight(genre: str, tmp_path: Path) -> None:
    ratio = swing_ratio(notes_of(genre, 1, 30, tmp_path))
    assert ratio == pytest.approx(1.0, abs=0.1), (genre, ratio)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_backbeat_is_lazy_only_where_the_genre_leans_back(genre: str) -> None:
    """The snare on 2 and 4 sits behind the grid by the genre's lag (hip hop family only)."""
    a = compose(spec_for(genre, 60), 4)
    lag = style_for(genre).snare_lag
    offsets = []
    for name in ("snare", "clap"):
        for e in a.tracks[name].events if name in a.tracks else []:
            beat = round(e.time)  # the backbeat: 2 and 4, or 3 in half time
            if abs(e.time - beat) < 0.08 and e.velocity > 0.5:
                offsets.append(e.time - beat)
    assert offsets, genre
    assert np.median(offsets) == pytest.approx(lag, abs=0.008), genre
    if genre in SWING_TARGETS:
        assert lag >= 0.02  # 15-20 ms at these tempos: heard as laid back, not as late


@pytest.mark.parametrize("genre", [*SWING_TARGETS, "pop", "rock", "dubstep", "techno"])
def test_hats_are_accented_on_the_beat(genre: str) -> None:
    """A hand on the hats: the quarter louder than what falls between (the off-beat "and"
    in four-on-the-floor). Trap rolls and drill triplets shape their own velocities."""
    a = compose(spec_for(genre, 60), 2)
    hats = a.tracks["hat_closed"].events
    position = [(e.time % 1, e.velocity) for e in hats]  # where in the beat, and how hard
    on = [v for t, v in position if t < 0.03 or t > 0.97]
    off = [v for t, v in position if 0.03 <= t <= 0.97]
    if style_for(genre).four_on_floor:  # the off-beat "and" carries the house hat
        on = [v for t, v in position if abs(t - 0.5) < 0.1]
        off = [v for t, v in position if abs(t - 0.5) >= 0.1]
    assert on and off, genre
    assert np.mean(on) > 1.1 * np.mean(off), genre


def test_rock_plays_hat_in_verses_and_ride_in_hooks_never_both() -> None:
    for seed in (1, 2, 3):
        a = compose(spec_for("rock", 60), seed)
        for bar in range(a.bars):
            hat = events_in(a, ["hat_closed"], bar * 4 - 0.05, bar * 4 + 3.95)
            ride = events_in(a, ["ride"], bar * 4 - 0.05, bar * 4 + 3.95)
            assert not (hat and ride), (seed, bar)
            section = a.section_at(bar)
            if section.name == "verse" and bar != section.end_bar - 1:
                assert hat and not ride, (seed, bar)
            if section.name == "hook" and bar != section.end_bar - 1:
                assert ride and not hat, (seed, bar)


def test_trap_808s_slide_at_phrase_ends(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        notes = notes_of("trap", seed, 60, tmp_path)
        assert glide_fraction(notes, "bass") >= 0.25, seed
        a = compose(spec_for("trap", 60), seed)
        for s in a.sections:
            if s.name not in ("verse", "hook"):
                continue
            # Every second bar of a phrase ends on a slide (unless it is the drop-out bar).
            for bar in range(s.start_bar + 1, s.end_bar - 1, 2):
                slides = [e for e in events_in(a, ["bass"], bar * 4, bar * 4 + 4) if e.glide_from]
                assert slides, (seed, s, bar)


def test_drum_and_bass_plays_a_break_not_a_two_step() -> None:
    for seed in (1, 2, 3):
        a = compose(spec_for("drum and bass", 60), seed)
        drops = [s for s in a.sections if s.name == "drop"]
        for s in drops:
            lo, hi = s.start_bar * 4, s.end_bar * 4
            snares = events_in(a, ["snare"], lo, hi)
            ghosts = [e for e in snares if e.velocity < 0.6 and abs(e.time - round(e.time)) > 0.1]
            assert len(ghosts) >= s.bars, (seed, s)  # ghost notes in every bar, on average
            kicks = events_in(a, ["kick"], lo, hi)
            off_grid = [e for e in kicks if min(e.time % 4, 4 - e.time % 4) > 0.1]
            off_grid = [e for e in off_grid if abs(e.time % 4 - 2.5) > 0.1]
            assert len(off_grid) >= 0.2 * len(kicks), (seed, s)  # syncopated, not 1 and 3&
            hats = set()
            for bar in range(s.start_bar, s.end_bar):
                hats.add(
                    tuple(
                        round((e.time - bar * 4) * 4)
                        for e in events_in(a, ["hat_closed"], bar * 4, bar * 4 + 4)
                    )
                )
            assert len(hats) >= min(3, s.bars), (seed, s)  # several hat figures


def test_dubstep_wobble_changes_rhythm_and_rate() -> None:
    for seed in (1, 2, 3):
        a = compose(spec_for("dubstep", 60), seed)
        rhythms, rates = set(), set()
        for s in a.sections:
            if s.name != "drop":
                continue
            for bar in range(s.start_bar, s.end_bar):
                notes = events_in(a, ["bass"], bar * 4, bar * 4 + 4)
                rhythms.add(tuple(round((e.time - bar * 4) * 4) for e in notes))
                rates |= {e.lfo_per_beat for e in notes}
        assert len(rhythms) >= 4 and len(rates) >= 4, (seed, rhythms, rates)


def test_hook_percussion_uses_general_midi_drums(tmp_path: Path) -> None:
    notes = notes_of("house", 1, 60, tmp_path)
    hook_parts = {n.track for n in notes} & {"conga", "ride", "shaker"}
    assert hook_parts
    for n in notes:
        if n.track in ("conga", "ride", "shaker"):
            assert n.channel == 9 and n.pitch == GM_DRUMS[n.track]
