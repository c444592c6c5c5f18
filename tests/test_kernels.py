"""Each compiled loop of engine.kernels against its numpy or scipy twin, on random audio and
on the edges (a short last hop, mono into stereo, more than two channels, nothing left)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from engine import kernels
from engine.loudness import k_weighting_sos

SR = 44100
rng = np.random.default_rng(7)


def noise(frames: int, channels: int) -> np.ndarray:
    return (rng.standard_normal((frames, channels)) * 0.3).astype(np.float32)


def curve_twin(gains: np.ndarray, hop: int, frames: int) -> np.ndarray:
    """The gain per frame: a straight line between control points, the last one held."""
    return np.interp(np.arange(frames), np.arange(len(gains)) * hop, gains.astype(np.float64))


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("span", [1, 7, 64])
def test_hop_peaks_is_the_largest_magnitude_of_each_run(channels: int, span: int) -> None:
    flat = noise(1001, channels).reshape(-1)
    expected = np.maximum.reduceat(np.abs(flat), np.arange(0, len(flat), span))
    assert np.array_equal(kernels.hop_peaks(flat, span), expected)


@pytest.mark.parametrize(("channels", "wide"), [(1, 1), (1, 2), (2, 2), (3, 3), (1, 3)])
def test_apply_curve_multiplies_by_the_interpolated_gain(channels: int, wide: int) -> None:
    hop, frames = 32, 1000  # 1000 = 31 whole hops and a short one
    audio = noise(frames, channels)
    gains = rng.uniform(0.1, 2.0, -(-frames // hop)).astype(np.float32)
    out = np.empty((frames, wide), np.float32)
    kernels.apply_curve(audio.reshape(-1), channels, gains, hop, out.reshape(-1))
    gain = curve_twin(gains, hop, frames)
    for c in range(wide):
        expected = audio[:, min(c, channels - 1)] * gain
        assert np.allclose(out[:, c], expected, rtol=1e-6, atol=1e-7)


def test_apply_curve_in_place_and_silence_past_the_curve() -> None:
    audio = noise(100, 2)
    flat = audio.reshape(-1).copy()
    gains = np.array([1.0, 0.5], np.float32)  # covers 2 hops of 16 frames, not 100 frames
    kernels.apply_curve(flat, 2, gains, 16, flat)
    result = flat.reshape(100, 2)
    gain = curve_twin(gains, 16, 32)
    assert np.allclose(result[:32], audio[:32] * gain[:, None], rtol=1e-6)
    assert not result[32:].any()


def test_add_upsampled_adds_the_linear_interpolation_gliding_to_silence() -> None:
    low = rng.standard_normal((2, 26)).astype(np.float32)
    out = noise(101, 2)  # 101 frames: the last value's glide is cut short
    before = out.copy()
    kernels.add_upsampled(out.reshape(-1), low, 4)
    points = np.arange(27) * 4
    for c in range(2):
        expected = np.interp(np.arange(101), points, np.append(low[c], 0.0))
        assert np.allclose(out[:, c] - before[:, c], expected, atol=1e-6)


@pytest.mark.parametrize("lag", [0, 3, 40, 500, 600])
def test_feedback_echo_follows_its_recursion(lag: int) -> None:
    x = noise(500, 1)[:, 0]
    wet = np.zeros_like(x)
    for i in range(lag, len(x)) if 0 < lag < len(x) else ():
        wet[i] = x[i - lag] + np.float32(0.3) * wet[i - lag]
    expected = x * np.float32(0.8) + wet * np.float32(0.2)
    assert np.allclose(kernels.feedback_echo(x, lag, 0.3, 0.2), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("stereo", [True, False])
def test_biquad_power_is_scipys_k_weighting(stereo: bool) -> None:
    audio = noise(SR, 2)
    sos = k_weighting_sos(SR)
    power = np.zeros(SR)
    kernels.biquad_power(audio[:, 0], audio[:, 1], sos.astype(np.float32), stereo, power)
    channels = (0, 1) if stereo else (0,)
    expected = sum(signal.sosfilt(sos, audio[:, c].astype(np.float64)) ** 2 for c in channels)
    assert np.abs(power - expected).max() < 1e-4 * expected.max()


def test_track_peaks_keeps_the_running_magnitude_of_both_packed_signals() -> None:
    best = np.abs(rng.standard_normal((3, 10))).astype(np.float32)
    windows = (rng.standard_normal((3, 16)) + 1j * rng.standard_normal((3, 16))).astype(
        np.complex64
    )
    expected = np.maximum.reduce([best, np.abs(windows.real[:, :10]), np.abs(windows.imag[:, :10])])
    kernels.track_peaks(best, windows)
    assert np.array_equal(best, expected)


def test_a_centred_stem_is_recognised_and_comes_back_mono() -> None:
    mono = noise(1000, 1)
    centred = np.repeat(mono, 2, axis=1)
    assert np.array_equal(kernels.centred_mono(centred), mono)
    centred[500, 1] += 1e-6
    assert len(kernels.centred_mono(centred)) == 0
