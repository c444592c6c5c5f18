"""Render: stem names and lengths, determinism, stereo, tails, and sidechain pumping."""

from __future__ import annotations

import numpy as np
import pytest

from engine.compose import STEM_NAMES, BeatSpec, compose
from engine.render import render, sidechain_envelope
from tests.audio_measure import rms_envelope

SR = 44100


@pytest.fixture(scope="module")
def trap():
    arrangement = compose(BeatSpec("trap", 150, "Cm", "dark", 10), 1)
    return arrangement, render(arrangement, sr=SR)


def test_stems_are_named_stereo_float32_and_exactly_the_beat_long(trap) -> None:
    arrangement, stems = trap
    frames = round(arrangement.duration * SR)
    assert tuple(stems) == STEM_NAMES
    for name, audio in stems.items():
        assert audio.shape == (frames, 2), name
        assert audio.dtype == np.float32 and np.all(np.isfinite(audio))
    for name in ("kick", "snare", "hats", "bass", "chords", "melody"):
        assert np.abs(stems[name]).max() > 0.01, name


def test_render_is_deterministic_and_seeds_sound_different(trap) -> None:
    arrangement, stems = trap
    again = render(arrangement, sr=SR)
    assert all(np.array_equal(stems[n], again[n]) for n in STEM_NAMES)
    other = render(compose(BeatSpec("trap", 150, "Cm", "dark", 10), 2), sr=SR)
    assert not np.allclose(sum(stems.values()), sum(other.values()), atol=1e-3)


def test_stereo_width_on_chords_and_hats(trap) -> None:
    _, stems = trap
    for name in ("chords", "hats"):
        left, right = stems[name][:, 0], stems[name][:, 1]
        assert np.abs(left - right).max() > 0.01 * np.abs(stems[name]).max(), name
    kick = stems["kick"]
    assert np.allclose(kick[:, 0], kick[:, 1])  # the kick stays dead centre


def test_end_fades_out_and_loops_wrap_their_tails() -> None:
    arrangement = compose(BeatSpec("lo-fi", 80, "Fm", "chill", 12), 4)
    cut = render(arrangement, sr=SR)
    assert all(np.abs(a[-1]).max() < 1e-6 for a in cut.values())
    loop = arrangement.excerpt(arrangement.loop_start_bar(2), 2)
    wrapped = render(loop, sr=SR, wrap=True)
    plain = render(loop, sr=SR, wrap=False)
    # Wrapping adds the ringing tails at the start, nothing else changes the length.
    assert len(wrapped["chords"]) == len(plain["chords"])
    head = slice(0, int(0.05 * SR))
    assert np.abs(wrapped["chords"][head]).sum() > np.abs(plain["chords"][head]).sum()


def test_edm_sidechain_ducks_the_bass_after_each_kick() -> None:
    arrangement = compose(BeatSpec("edm", 128, "Fm", "energetic", 40), 3)
    stems = render(arrangement, sr=SR)
    drop = next(s for s in arrangement.sections if s.name == "drop")
    spb = 60 / arrangement.bpm
    env, rate = rms_envelope(stems["bass"], SR, 0.005)
    after, before = [], []
    for kick in arrangement.tracks["kick"].events:
        if not drop.start_bar * 4 <= kick.time < drop.end_bar * 4 - 1:
            continue
        t = kick.time * spb
        after.append(env[int((t + 0.03) * rate) : int((t + 0.08) * rate)].mean())
        before.append(env[int((t + 0.7 * spb) * rate) : int((t + 0.95 * spb) * rate)].mean())
    assert len(after) >= 8
    assert np.median(after) < 0.6 * np.median(before)  # pumping: a dip after every kick
    duck = sidechain_envelope(arrangement, SR, len(stems["bass"]))
    assert duck.max() == pytest.approx(1.0, abs=0.01) and duck.min() == 0.0


@pytest.mark.parametrize("genre", ["house", "drum and bass", "jazz", "rock", "dubstep"])
def test_other_genres_render_all_their_parts(genre: str) -> None:
    from engine.genres import get_genre

    g = get_genre(genre)
    arrangement = compose(BeatSpec(genre, g.default_bpm, g.default_key, g.default_mood, 8), 2)
    stems = render(arrangement, sr=SR)
    for track in arrangement.tracks.values():
        assert np.abs(stems[track.stem]).max() > 1e-3, (genre, track.name)


def test_rendered_sound_caches_are_bounded_in_bytes() -> None:
    """A render process serves job after job: its caches must not grow without bound."""
    from engine import instruments

    for cached_fn, budget in (
        (instruments._note, instruments.NOTE_CACHE_BYTES),
        (instruments._drum, instruments.DRUM_CACHE_BYTES),
    ):
        assert cached_fn.cache.maxsize == budget
    instruments._note.cache.clear()  # room to grow: a full cache evicts as it adds
    before = instruments._note.cache.currsize
    sounds = [instruments.note("pad", 48 + k, 1.0 + k / 10, seed=991) for k in range(3)]
    grown = instruments._note.cache.currsize - before
    assert grown == sum(s.nbytes for s in sounds)  # counted in bytes, not entries
