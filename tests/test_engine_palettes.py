"""Each genre's palette: 2-4 real options per role, each a distinct sound that renders cleanly
over the role's register, with a General MIDI program for the MIDI file."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import instruments
from engine.compose import rng_for
from engine.genres import GENRE_NAMES
from engine.palettes import GM_PROGRAMS, PALETTES, sound_for

SR = 44100
REGISTER = {"bass": (28, 36, 48), "chords": (55, 64, 76), "melody": (67, 79, 91)}
ROLE_PITCH = {"bass": 36, "chords": 60, "melody": 76}


def test_every_genre_offers_two_to_four_real_options_per_role() -> None:
    assert set(PALETTES) == set(GENRE_NAMES)
    for genre, palette in PALETTES.items():
        for role, options, known in (
            ("kits", palette.kits, instruments.KITS),
            ("bass", palette.bass, instruments.INSTRUMENTS),
            ("chords", palette.chords, instruments.INSTRUMENTS),
            ("melody", palette.melody, instruments.INSTRUMENTS),
        ):
            assert 2 <= len(options) <= 4, (genre, role)
            assert len(set(options)) == len(options), (genre, role)
            assert set(options) <= set(known), (genre, role, options)


def test_every_voice_has_a_general_midi_program() -> None:
    assert set(GM_PROGRAMS) == set(instruments.INSTRUMENTS)
    assert all(0 <= program <= 127 for program in GM_PROGRAMS.values())


def test_seeds_draw_every_option_and_the_same_seed_the_same_take() -> None:
    palette = PALETTES["trap"]
    takes = [sound_for("trap", rng_for(seed, "palette")) for seed in range(60)]
    assert {t.kit for t in takes} == set(palette.kits)
    assert {t.melody for t in takes} == set(palette.melody)
    assert sound_for("trap", rng_for(7, "palette")) == sound_for("trap", rng_for(7, "palette"))


def _envelope_db(sound: np.ndarray) -> np.ndarray:
    """A voice's long-term spectrum in third-octave-ish bands (dB, level-normalised)."""
    mono = sound if sound.ndim == 1 else sound.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono, 1 << 16)) ** 2
    freqs = np.fft.rfftfreq(1 << 16, 1 / SR)
    edges = np.geomspace(30.0, 16000.0, 28)
    bands = np.array(
        [spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in itertools.pairwise(edges)]
    )
    db = 10 * np.log10(bands / bands.sum() + 1e-12)
    return np.maximum(db, -60.0)


def _spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((_envelope_db(a) - _envelope_db(b)) ** 2)))


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_options_in_a_role_are_distinct_sounds(genre: str) -> None:
    """Two options of one role must differ in timbre (their spectra differ by > 3 dB per
    band, RMS over bands) or in shape over time (their envelopes differ)."""
    palette = PALETTES[genre]
    for role in ("bass", "chords", "melody"):
        options = getattr(palette, role)
        notes = {v: instruments.note(v, ROLE_PITCH[role], 1.0, brightness=0.5) for v in options}
        for a, b in itertools.combinations(options, 2):
            timbre = _spectral_distance(notes[a], notes[b])
            envelopes = [np.abs(notes[v][: SR // 2]) for v in (a, b)]
            shape = [np.convolve(e, np.ones(441) / 441, "valid")[::441] for e in envelopes]
            shape = [s / (s.max() or 1.0) for s in shape]
            contour = float(np.abs(shape[0] - shape[1]).mean())
            assert timbre > 3.0 or contour > 0.15, (genre, role, a, b, timbre, contour)
    # Kits differ as kits: kick, snare and hat together (two kits may share a drum's colour).
    drums = ("kick", "snare", "hat_closed")
    kits = {
        kit: np.concatenate([_envelope_db(instruments.drum_hit(d, kit=kit)) for d in drums])
        for kit in palette.kits
    }
    for a, b in itertools.combinations(palette.kits, 2):
        assert float(np.sqrt(np.mean((kits[a] - kits[b]) ** 2))) > 2.0, (genre, a, b)


@pytest.mark.parametrize("voice", instruments.INSTRUMENTS)
def test_every_voice_renders_clean_across_its_registers(voice: str) -> None:
    for pitch in sorted({p for register in REGISTER.values() for p in register}):
        sound = instruments.note(voice, pitch, 0.5, velocity=0.8, glide_from=pitch - 2)
        assert sound.dtype == np.float32 and np.all(np.isfinite(sound))
        assert np.abs(sound).max() == pytest.approx(0.8, rel=1e-3)  # peaks at its velocity
        assert np.abs(sound[-8:]).max() < 1e-3  # fades out: never a click at the end
        assert abs(float(np.mean(sound))) < 0.02  # no DC
