"""Meters against reference signals, pyloudnorm and ffmpeg's ebur128."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from engine.errors import AudioInputError
from engine.loudness import integrated_lufs, lra, measure, true_peak, true_peak_envelope
from tests.audio_fixtures import band, ebur128_full, sine, test_mix, write_wav

SR = 44100


@pytest.mark.parametrize("sr", [44100, 48000])
def test_997hz_sine_at_minus_20_dbfs_reads_minus_20_04_lufs(sr: int) -> None:
    assert integrated_lufs(sine(997.0, 10.0, sr, dbfs=-20.0), sr) == pytest.approx(-20.04, abs=0.05)


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_integrated_loudness_agrees_with_pyloudnorm(sr: int) -> None:
    mix = test_mix(8.0, sr=sr, seed=3)
    expected = pyloudnorm.Meter(sr).integrated_loudness(mix.astype(np.float64))
    assert integrated_lufs(mix, sr) == pytest.approx(expected, abs=0.01)
    mono = test_mix(8.0, sr=sr, seed=3, channels=1)
    expected = pyloudnorm.Meter(sr).integrated_loudness(mono[:, 0].astype(np.float64))
    assert integrated_lufs(mono, sr) == pytest.approx(expected, abs=0.01)


def test_silence_measures_minus_infinity_not_an_error() -> None:
    quiet = measure(np.zeros((SR * 2, 2), dtype=np.float32), SR)
    assert quiet.lufs == -math.inf and quiet.true_peak == -math.inf
    assert quiet.lra == 0.0


def test_invalid_audio_is_refused_with_a_sentence() -> None:
    with pytest.raises(AudioInputError, match="empty"):
        measure(np.zeros((0, 2), dtype=np.float32), SR)
    bad = np.zeros((SR, 2), dtype=np.float32)
    bad[5] = np.nan
    with pytest.raises(AudioInputError, match="invalid samples"):
        measure(bad, SR)


def test_inter_sample_peak_reads_above_the_sample_peak() -> None:
    # fs/4 sine shifted 45 degrees: every sample lands at 0.707 of the crest.
    n = np.arange(SR * 2)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 2000.0)  # no edge ringing
    wave = 0.5 * np.sin(2 * np.pi * (SR / 4) * n / SR + np.pi / 4) * fade
    stereo = np.stack([wave, wave], axis=1).astype(np.float32)
    loud = measure(stereo, SR)
    assert loud.sample_peak == pytest.approx(-9.03, abs=0.05)
    assert loud.true_peak == pytest.approx(-6.02, abs=0.05)
    assert loud.true_peak > loud.sample_peak + 2.9


def test_true_peak_envelope_matches_brute_force_oversampling() -> None:
    mix = test_mix(3.0, seed=1)
    h = signal.firwin(97, 0.25, window=("kaiser", 8.0)) * 4
    up = signal.upfirdn(h, mix.astype(np.float64), 4, axis=0)[48 : 48 + 4 * len(mix)]
    brute = np.abs(up).reshape(-1, 4, 2).max(axis=(1, 2))
    env = true_peak_envelope(mix)
    assert np.abs(env - brute).max() < 1e-4
    # Skipping regions that can't matter must not change the maximum.
    assert true_peak(mix, SR) == pytest.approx(20 * np.log10(brute.max()), abs=1e-3)


def _dynamic_track(seconds_per_part: float = 6.0) -> np.ndarray:
    """Quiet verse, loud chorus, medium bridge: a real loudness range."""
    parts = [band(seconds_per_part, seed=s) for s in range(3)]
    gains = (0.25, 1.0, 0.5)
    out = [sum(p.values()) * g for p, g in zip(parts, gains, strict=True)]
    return np.concatenate(out).astype(np.float32)


def test_loudness_range_agrees_with_ffmpeg_and_pyloudnorm(tmp_path) -> None:
    track = _dynamic_track()
    ours = lra(track, SR)
    path = write_wav(tmp_path / "dyn.wav", track, SR, subtype="FLOAT")
    lufs, peak, ffmpeg_lra = ebur128_full(path)
    assert ours == pytest.approx(ffmpeg_lra, abs=1.0)
    assert ours == pytest.approx(
        pyloudnorm.Meter(SR).loudness_range(track.astype(np.float64)), abs=1.0
    )
    assert ours > 4.0  # the verse sits 12 dB under the chorus
    loud = measure(track, SR)
    assert loud.lufs == pytest.approx(lufs, abs=0.1)
    assert loud.true_peak == pytest.approx(peak, abs=0.2)
