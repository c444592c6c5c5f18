"""Compose: sections, lengths, determinism, and each genre's traits in the note events."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.compose import bars_for, compose, plan_sections
from engine.errors import EngineInputError
from engine.genres import GENRE_NAMES, GENRES, get_genre
from engine.palettes import PALETTES
from tests.compose_measure import spec_for


def times(arrangement, part: str, sections: tuple[str, ...] | None = None) -> np.ndarray:
    events = arrangement.tracks[part].events if part in arrangement.tracks else []
    keep = [
        e.time
        for e in events
        if sections is None or arrangement.section_at(int(e.time // 4)).name in sections
    ]
    return np.array(keep)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_every_genre_composes_whole_bars_with_all_parts(genre: str) -> None:
    arrangement = compose(spec_for(genre), 11)
    g = get_genre(genre)
    assert arrangement.bars == round(30 * g.default_bpm / 240)
    assert abs(arrangement.duration - 30.0) <= 0.5 * 240 / g.default_bpm + 1e-9
    # Sections tile the beat exactly.
    starts = [s.start_bar for s in arrangement.sections]
    assert starts[0] == 0 and arrangement.sections[-1].end_bar == arrangement.bars
    assert all(
        a.end_bar == b.start_bar
        for a, b in zip(arrangement.sections, arrangement.sections[1:], strict=False)
    )
    for part in ("kick", "bass", "chords", "melody"):
        assert arrangement.tracks[part].events, part
    for track in arrangement.tracks.values():
        for e in track.events:
            assert 0 <= e.time < arrangement.beats and e.duration > 0 and 0 < e.velocity <= 1


@pytest.mark.parametrize(
    ("seconds", "bpm"),
    [(1, 60), (7.3, 174), (10, 70), (29.9, 128), (61, 97), (180, 140), (600, 400)],
)
def test_length_is_the_nearest_whole_bar(seconds: float, bpm: float) -> None:
    bars = bars_for(seconds, bpm)
    bar = 240 / bpm
    assert abs(bars * bar - seconds) <= bar / 2 + 1e-9 or bars == 1
    sections = plan_sections((("intro", 1), ("verse", 3), ("hook", 3), ("outro", 1)), bars)
    assert sum(s.bars for s in sections) == bars


def test_same_seed_same_arrangement_and_different_seeds_differ() -> None:
    for genre in GENRE_NAMES:
        spec = spec_for(genre, 20)
        assert compose(spec, 5) == compose(spec, 5)
        a, b = compose(spec, 5), compose(spec, 6)
        melody_a = [(e.time, e.pitch) for e in a.tracks["melody"].events]
        melody_b = [(e.time, e.pitch) for e in b.tracks["melody"].events]
        assert melody_a != melody_b, genre


def test_seeds_vary_progression_and_groove() -> None:
    progressions = {tuple(compose(spec_for("pop"), s).chords[:8]) for s in range(8)}
    kicks = {tuple(times(compose(spec_for("boom bap"), s), "kick")) for s in range(8)}
    assert len(progressions) >= 3 and len(kicks) >= 3


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"bpm": 0}, "BPM"),
        ({"bpm": float("nan")}, "BPM"),
        ({"duration": 36000}, "length"),
        ({"duration": 0}, "length"),
        ({"key": "H#"}, "key"),
        ({"genre": "polka"}, "polka"),
        ({"mood": "sleepy"}, "mood"),
    ],
)
def test_bad_specs_raise_one_sentence(change: dict, match: str) -> None:
    with pytest.raises(EngineInputError, match=match):
        compose(replace(spec_for("trap"), **change), 1)


def test_house_four_on_the_floor_with_off_beat_open_hats() -> None:
    a = compose(spec_for("house", 30), 2)
    main = ("verse", "hook")
    bars = sorted({int(t // 4) for t in times(a, "kick", main)})
    kicks = times(a, "kick", main)
    # The kick stops only for the drop-out at the end of the bar before a hook.
    before_hooks = {s.start_bar - 1 for s in a.sections if s.name == "hook"}
    for bar in bars:
        on_beats = [b for b in range(4) if np.any(np.abs(kicks - (4 * bar + b)) < 0.02)]
        if bar in before_hooks:
            assert on_beats[0] == 0 and 3 not in on_beats, bar
        else:
            assert on_beats == [0, 1, 2, 3], bar
    hats = times(a, "hat_open", ("hook",))
    assert len(hats) and np.all(np.abs((hats % 1) - 0.5) < 0.1)  # swing nudges them a bit


def test_trap_has_hat_rolls_and_808s() -> None:
    a = compose(spec_for("trap", 30), 3)
    gaps = np.round(np.diff(times(a, "hat_closed")), 4)
    rolls = {
        g for g in gaps if np.isclose(g, 1 / 8) or np.isclose(g, 1 / 6) or np.isclose(g, 1 / 3)
    }
    assert rolls, "no 32nd or triplet rolls"
    assert a.tracks["bass"].instrument in PALETTES["trap"].bass  # 808 or another sub
    # 808s ride the kick.
    kick = set(np.round(times(a, "kick", ("verse", "hook")), 3))
    bass = set(np.round(times(a, "bass", ("verse", "hook")), 3))
    assert len(kick & bass) >= 0.8 * len(kick)


@pytest.mark.parametrize("genre", ["dubstep", "drill", "trap"])
def test_half_time_snare_on_beat_three(genre: str) -> None:
    a = compose(spec_for(genre, 30), 4)
    fills = {s.end_bar - 1 for s in a.sections}  # a fill's roll crosses every beat
    snares = np.array(
        [t for t in times(a, "snare", ("verse", "hook", "drop")) if int(t // 4) not in fills]
    )
    backbeats = snares[np.isclose(snares % 1, 0, atol=0.02)]
    positions = np.round(backbeats % 4).astype(int) % 4
    assert np.mean(positions == 2) > 0.6  # beat 3, the half-time backbeat
    assert np.mean((positions == 1) | (positions == 3)) < 0.2


def test_drill_triplet_hats_and_sliding_808s() -> None:
    a = compose(spec_for("drill", 30), 5)
    hats = times(a, "hat_closed", ("verse", "hook"))
    on_triplets = np.isclose((hats * 3) % 1, 0, atol=0.02) | np.isclose(
        (hats * 3) % 1, 1, atol=0.02
    )
    on_triplets |= np.isclose((hats * 6) % 1, 0, atol=0.02)
    assert np.mean(on_triplets) > 0.9
    assert any(e.glide_from is not None for e in a.tracks["bass"].events)


def test_jazz_swing_ride_and_walking_bass() -> None:
    a = compose(spec_for("jazz", 30), 6)
    ride = times(a, "ride", ("head", "solo"))
    offbeats = ride[(ride % 1 > 0.3) & (ride % 1 < 0.9)] % 1
    ratio = np.median(offbeats) / (1 - np.median(offbeats))
    swing = get_genre("jazz").swing
    assert ratio == pytest.approx((1 + swing / 3) / (1 - swing / 3), rel=0.05)
    assert 1.4 < ratio < 2.1  # a real swing feel
    bass = a.tracks["bass"].events
    quarters = [e for e in bass if abs(e.time - round(e.time)) < 0.05]
    assert len(quarters) >= 0.9 * len(bass)


def test_edm_builds_then_drops_with_sidechain() -> None:
    a = compose(spec_for("edm", 40), 7)
    names = [s.name for s in a.sections]
    assert "build" in names and "drop" in names and names.index("build") < names.index("drop")
    build = next(s for s in a.sections if s.name == "build")
    snares = times(a, "snare", ("build",))
    first, last = snares[snares < build.start_bar * 4 + 4], snares[snares >= build.end_bar * 4 - 4]
    assert np.median(np.diff(last)) < np.median(np.diff(first))  # the roll speeds up
    risers = a.tracks["riser"].events
    assert any(abs(r.time + r.duration - build.end_bar * 4) < 1e-6 for r in risers)
    assert a.sidechain > 0.5
    assert not len(times(a, "kick", ("build",)))


def test_lofi_vinyl_swing_and_extended_chords() -> None:
    a = compose(spec_for("lo-fi", 30), 8)
    assert "vinyl" in a.tracks
    assert a.swing > 0.3
    hats = times(a, "hat_closed", ("verse", "hook"))
    offs = hats[(hats % 0.5 > 0.2)] % 0.5
    assert np.median(offs) > 0.27  # the off-16ths lean late
    assert sum(len(c.intervals) >= 4 for c in a.chords) >= len(a.chords) // 2


def test_rock_live_feel_and_power_chords() -> None:
    a = compose(spec_for("rock", 30), 9)
    snare = times(a, "snare", ("verse", "hook"))
    off_grid = np.abs(snare * 4 - np.round(snare * 4))
    assert np.std(off_grid) > 0.005  # humanised timing
    velocities = [e.velocity for e in a.tracks["hat_closed"].events]
    assert np.std(velocities) > 0.03
    assert a.tracks["chords"].instrument in PALETTES["rock"].chords
    assert all(c.intervals == (0, 7, 12) for c in a.chords)


def test_dnb_two_step_at_tempo() -> None:
    a = compose(spec_for("drum and bass", 20), 10)
    assert a.bpm >= 170
    fills = {s.end_bar - 1 for s in a.sections}
    snares = np.array([t for t in times(a, "snare", ("drop",)) if int(t // 4) not in fills])
    main = snares[np.isclose(snares % 1, 0, atol=0.01)] % 4
    assert set(np.round(main).astype(int)) <= {1, 3}
    assert "sub" in a.tracks


def test_mood_changes_harmony_brightness_and_density() -> None:
    dark = compose(spec_for("pop", 30, key="Am", mood="dark"), 1)
    happy = compose(spec_for("pop", 30, key="Am", mood="happy"), 1)
    assert dark.brightness < happy.brightness
    chill = compose(spec_for("hip hop", 30, mood="chill"), 1)
    hype = compose(spec_for("hip hop", 30, mood="hype"), 1)
    assert len(times(chill, "hat_closed")) < len(times(hype, "hat_closed"))
    harmonies = set()
    for seed in range(6):
        harmonies.add(tuple(compose(spec_for("trap", 20, mood="dark"), seed).chords[:4]))
        harmonies.add(tuple(compose(spec_for("trap", 20, mood="hype"), seed).chords[:4]))
    assert len(harmonies) >= 4


def test_sections_scale_with_duration_and_fills_vary() -> None:
    short = compose(spec_for("pop", 10), 1)
    long = compose(spec_for("pop", 120), 1)
    assert len(long.sections) > len(short.sections)
    assert {"intro", "verse", "hook", "outro"} <= {s.name for s in long.sections}
    # Fills: toms only in a section's last bar that plays (the one before a bar-long drop-out).
    toms = times(long, "tom")
    drums = {int(t // 4) for name in ("kick", "snare", "hat_closed") for t in times(long, name)}
    last_played = {
        max(b for b in range(s.start_bar, s.end_bar) if b in drums) for s in long.sections
    }
    assert len(toms) and {int(t // 4) for t in toms} <= last_played


def test_excerpt_shifts_events_to_zero() -> None:
    a = compose(spec_for("house", 30), 1)
    start = a.loop_start_bar(4)
    assert a.section_at(start).name == "hook"
    loop = a.excerpt(start, 4)
    assert loop.bars == 4 and loop.duration == pytest.approx(4 * 240 / a.bpm)
    assert all(0 <= e.time < 16 for t in loop.tracks.values() for e in t.events)


def test_excerpt_carries_only_its_own_filter_moves() -> None:
    """A loop cut from an edm drop keeps the drop's full band: the intro's low-pass (bar 0 on)
    is not carried to the loop's start, and a move crossing the cut glides on from where it was."""
    a = compose(spec_for("edm", 60), 2)
    assert a.automation, "edm plans filter moves"
    for move in a.automation:
        lo, hi = move.start + 1.0, move.end
        cut = a.excerpt(int(lo // 4), max(1, int((hi - lo) // 4)))
        for part in cut.automation:
            assert 0.0 <= part.start < part.end <= cut.beats
    start = a.loop_start_bar(4)
    loop = a.excerpt(start, 4)
    lo, hi = start * 4.0, start * 4.0 + 16.0
    inside = [m for m in a.automation if m.end > lo and m.start < hi]
    assert len(loop.automation) == len(inside)
    for part, move in zip(loop.automation, inside, strict=True):
        assert part.start == pytest.approx(max(move.start, lo) - lo)
        assert part.from_hz == pytest.approx(move.cutoff_at(max(move.start, lo)))
        assert part.to_hz == pytest.approx(move.cutoff_at(min(move.end, hi)))
    intro = next(m for m in a.automation if m.start == 0.0)
    tail = a.excerpt(int(intro.end // 4), 4)
    assert all(m.start > 0.0 or m.from_hz != intro.from_hz for m in tail.automation)


def test_every_genre_has_a_groove() -> None:
    assert len(GENRES) == 14
