"""Stereo and space: every genre's master is wide above 120 Hz and mono below it, and each
way of making width (drum placement, rooms, pairs, choruses, the ping-pong echo, the bus's
stereo stage) does what it says. One short render per genre, measured many ways."""

from __future__ import annotations

import numpy as np
import pytest

from engine import instruments
from engine.compose import BeatSpec, NoteEvent, Track, compose
from engine.genres import GENRE_NAMES, get_genre
from engine.mix import SIDE_GAIN_RANGE, TARGET_CORRELATION, side_gain, stereo_stage
from engine.pipeline import master_stage, mix_stage, render_stage
from engine.render import DRUM_PLACEMENT, render
from tests.sound_measure import lr_correlation, side_to_mid_db

SR = 44100
SECONDS = 12.0


@pytest.fixture(scope="module")
def masters() -> dict[str, np.ndarray]:
    made = {}
    for genre in GENRE_NAMES:
        info = get_genre(genre)
        spec = BeatSpec(genre, info.default_bpm, info.default_key, info.default_mood, SECONDS)
        arrangement = compose(spec, 1)
        mixed = mix_stage(render_stage(arrangement, SR), SR, "balanced", bpm=arrangement.bpm)
        made[genre] = master_stage(mixed.mix, SR, -14.0, -1.0, "balanced").audio
    return made


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_every_genre_is_wide_above_120_hz_and_mono_below(genre: str, masters) -> None:
    """Issue 18: L/R correlation 0.70-0.85 broadband, >= 0.95 under 120 Hz (it measured
    0.96-0.99 broadband before: nearly mono)."""
    audio = masters[genre]
    assert 0.70 <= lr_correlation(audio, SR) <= 0.85
    assert lr_correlation(audio, SR, high=120.0) >= 0.95
    assert lr_correlation(audio, SR, low=150.0) < 0.7  # the width lives above the bass


def test_the_stereo_stage_folds_the_low_side_and_sets_the_width() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(4 * SR) / SR
    bass = np.sin(2 * np.pi * 55 * t) * 0.5
    pad = rng.standard_normal((len(t), 2)) * 0.2 + rng.standard_normal((len(t), 1)) * 0.2
    rumble = np.stack([np.sin(2 * np.pi * 40 * t), -np.sin(2 * np.pi * 40 * t)], axis=1) * 0.05
    mix = (bass[:, None] + pad + rumble).astype(np.float32)
    out = stereo_stage(mix, SR)
    assert lr_correlation(out, SR, high=100.0) > 0.99  # the out-of-phase rumble folded to mono
    assert lr_correlation(out, SR) == pytest.approx(TARGET_CORRELATION, abs=0.01)
    mid = (out[:, 0] + out[:, 1]) / 2
    assert np.allclose(mid, (mix[:, 0] + mix[:, 1]) / 2, atol=1e-5)  # mono sum untouched
    # Too little side to reach the target: the widest the stage goes, no further.
    narrow = (bass[:, None] + pad * 0.02).astype(np.float32)
    side = (narrow[:, 0] - narrow[:, 1]) / 2
    assert side_gain((narrow[:, 0] + narrow[:, 1]) / 2, side) == SIDE_GAIN_RANGE[1]
    mono = np.repeat(bass[:, None], 2, axis=1).astype(np.float32)
    assert np.array_equal(stereo_stage(mono, SR), mono)  # nothing to widen: unchanged


@pytest.fixture(scope="module")
def trap_stems() -> tuple[object, dict[str, np.ndarray]]:
    arrangement = compose(BeatSpec("trap", 150, "Cm", "dark", 10), 1)
    return arrangement, render(arrangement, sr=SR)


def test_hats_sit_right_of_centre_and_the_kick_dead_centre(trap_stems) -> None:
    _, stems = trap_stems
    assert DRUM_PLACEMENT["hat_closed"] > 0
    hats = stems["hats"]
    assert np.sum(hats[:, 1] ** 2) > 1.5 * np.sum(hats[:, 0] ** 2)
    assert np.array_equal(stems["kick"][:, 0], stems["kick"][:, 1])
    bass = stems["bass"]
    assert np.array_equal(bass[:, 0], bass[:, 1])  # basses are never widened


def _lone_track(instrument: str, width: float, pitches=(60, 64, 67)) -> dict[str, np.ndarray]:
    """Render one chord track alone (the trap beat's arrangement as the frame)."""
    arrangement = compose(BeatSpec("trap", 120, "C", "dark", 4), 1)
    events = [NoteEvent(0.0, 6.0, float(p), 0.8) for p in pitches]
    track = Track("chords", "pitched", instrument, "chords", events=events, width=width)
    arrangement.tracks = {"chords": track}
    arrangement.sidechain = 0.0
    return render(arrangement, sr=SR)


@pytest.mark.parametrize("instrument", sorted(instruments.PAIRED))
def test_detuned_stacks_and_sections_are_left_right_pairs(instrument: str) -> None:
    wide = _lone_track(instrument, 0.6)["chords"]
    assert lr_correlation(wide, SR) < 0.5  # two players, each its own detune and phases
    narrow = _lone_track(instrument, 0.0)["chords"]
    assert np.array_equal(narrow[:, 0], narrow[:, 1])  # width 0: one voice, centred


@pytest.mark.parametrize("instrument", ["rhodes", "piano", "organ", "felt"])
def test_keys_are_widened_by_a_chorus_that_a_mono_sum_keeps_dry(instrument: str) -> None:
    wide = _lone_track(instrument, 0.6)["chords"]
    narrow = _lone_track(instrument, 0.0)["chords"]
    assert lr_correlation(wide, SR) < 0.8 and side_to_mid_db(wide) > -12.0
    mono = (wide[:, 0] + wide[:, 1]) / 2
    dry = narrow[:, 0]
    # The chorus is all in the side: the mono sum is the dry part (up to the stem's level).
    scale = np.dot(mono, dry) / np.dot(dry, dry)
    assert np.abs(mono - scale * dry).max() < 0.02 * np.abs(dry).max()
