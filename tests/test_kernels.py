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


@pytest.mark.parametrize(("lag", "channels"), [(0, 2), (3, 1), (40, 2), (500, 2), (600, 1)])
def test_ping_pong_bounces_each_repeat_to_the_other_side(lag: int, channels: int) -> None:
    x = noise(500, channels)
    send = (x[:, 0] + x[:, -1]) * np.float32(0.5)
    left, right = np.zeros(500, np.float32), np.zeros(500, np.float32)
    for i in range(lag, 500) if lag > 0 else ():
        left[i] = send[i - lag] + np.float32(0.3) * right[i - lag]
        right[i] = np.float32(0.3) * left[i - lag]
    out = kernels.ping_pong(x, lag, 0.3, 0.2)
    assert out.shape == (500, 2)
    for c, echo in ((0, left), (1, right)):
        expected = x[:, min(c, channels - 1)] * np.float32(0.8) + echo * np.float32(0.2)
        assert np.allclose(out[:, c], expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fixed", [True, False])
def test_saw_stack_is_the_mean_of_its_detuned_saws(fixed: bool) -> None:
    cycles = np.cumsum(rng.uniform(0.001, 0.03, 3000))
    steps = np.array([0.02]) if fixed else np.diff(np.concatenate([[0.0], cycles]))
    ratios, offsets = np.array([0.99, 1.0, 1.013]), np.array([0.1, 0.5, 0.77])
    saws = [
        kernels.polyblep_wave(cycles * r + o, steps * r, False)
        for r, o in zip(ratios, offsets, strict=True)
    ]
    expected = np.mean(saws, axis=0)
    assert np.allclose(kernels.saw_stack(cycles, steps, ratios, offsets), expected, atol=1e-12)


def test_soft_clip_folds_only_what_is_over_the_knee() -> None:
    flat = noise(5000, 1)[:, 0] * 3
    out = flat.copy()
    kernels.soft_clip(out, 0.5, 0.25)
    size = np.abs(flat)
    folded = np.sign(flat) * (0.5 + 0.25 * np.tanh((size - 0.5) / 0.25))
    expected = np.where(size > 0.5, folded, flat)
    assert np.allclose(out, expected, rtol=1e-6, atol=1e-7)
    assert np.abs(out).max() <= 0.75  # never past the ceiling


def test_sweep_filter_at_a_still_cutoff_is_scipys_butterworth() -> None:
    """A two-pole state-variable low-pass with Q 1/sqrt(2) is the bilinear (prewarped)
    Butterworth that scipy designs: the same filter, sample for sample."""
    audio = noise(4000, 2)
    for kind in ("lowpass", "highpass"):
        out = audio.copy()
        g = np.full(4000 // 16 + 2, np.tan(np.pi * 1000.0 / SR))
        kernels.sweep_filter(out, 0, 4000, g, 16, np.array([np.sqrt(2.0)]), kind == "highpass", 0)
        sos = signal.butter(2, 1000.0, kind, fs=SR, output="sos")
        expected = signal.sosfilt(sos, audio.astype(np.float64), axis=0)
        assert np.abs(out - expected).max() < 1e-5, kind
        # Two stages at the Butterworth dampings: scipy's 4th-order Butterworth.
        out = audio.copy()
        dampings = np.array([2 * np.cos(np.pi / 8), 2 * np.cos(3 * np.pi / 8)])
        kernels.sweep_filter(out, 0, 4000, g, 16, dampings, kind == "highpass", 0)
        sos = signal.butter(4, 1000.0, kind, fs=SR, output="sos")
        expected = signal.sosfilt(sos, audio.astype(np.float64), axis=0)
        assert np.abs(out - expected).max() < 1e-5, kind


def test_sweep_filter_touches_only_its_span_and_fades_in_and_out() -> None:
    audio = noise(3000, 2)
    out = audio.copy()
    g = np.full(200, np.tan(np.pi * 300.0 / SR))
    kernels.sweep_filter(out, 1000, 2000, g, 16, np.array([1.0, 1.0]), False, 100)
    assert np.array_equal(out[:1000], audio[:1000]) and np.array_equal(out[2000:], audio[2000:])
    # The first filtered frame is almost dry; the middle is heavily low-passed.
    assert np.abs(out[1000] - audio[1000]).max() < 0.02 * np.abs(audio).max()
    assert np.std(np.diff(out[1300:1700, 0])) < 0.1 * np.std(np.diff(audio[1300:1700, 0]))


@pytest.mark.parametrize("circular", [False, True])
def test_modulated_delay_reads_a_moving_fractional_position(circular: bool) -> None:
    audio = noise(2000, 2)
    delay = np.linspace(3.0, 40.0, 2000 // 32 + 2)
    out = kernels.modulated_delay(audio, delay, 32, circular)
    frames = np.arange(2000)
    position = frames - np.interp(frames, np.arange(len(delay)) * 32, delay)
    if circular:
        position = np.mod(position, 2000)
    for c in range(2):
        source = np.append(audio[:, c], audio[0, c] if circular else audio[-1, c])
        expected = np.interp(position, np.arange(2001), source)
        if not circular:
            expected[position < 0] = 0.0
        assert np.allclose(out[:, c], expected, atol=1e-6)


def test_stereo_chorus_adds_dry_plus_and_minus_the_moved_copy() -> None:
    dry = np.zeros(3000, np.float32)
    dry[500:2000] = noise(1500, 1)[:, 0]
    delay = np.linspace(5.0, 25.0, 3000 // 32 + 2)
    out = noise(3000, 2)
    before = out.copy()
    kernels.stereo_chorus(dry, delay, 32, 0.6, np.array([0.9, 1.1]), False, out)
    moved = kernels.modulated_delay(np.stack([dry, dry], axis=1), delay, 32, False)[:, 0]
    assert np.allclose(out[:, 0] - before[:, 0], 0.9 * (dry + 0.6 * moved), atol=1e-6)
    assert np.allclose(out[:, 1] - before[:, 1], 1.1 * (dry - 0.6 * moved), atol=1e-6)


def test_mid_side_filters_the_side_as_scipy_does_and_left_right_undoes_it() -> None:
    audio = noise(5000, 2)
    sos = signal.butter(2, 120.0, "highpass", fs=SR, output="sos")
    mid, side = kernels.mid_side(audio, sos)
    expected = signal.sosfilt(sos, (audio[:, 0].astype(np.float64) - audio[:, 1]) / 2)
    assert np.allclose(mid, (audio[:, 0] + audio[:, 1]) / 2, atol=1e-7)
    assert np.abs(side - expected).max() < 1e-6
    flat = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])  # a filter that passes everything
    mid, side = kernels.mid_side(audio, flat)
    assert np.allclose(kernels.left_right(mid, side, 1.0), audio, atol=1e-6)
    wider = kernels.left_right(mid, side, 2.0)
    assert np.allclose(wider[:, 0] - wider[:, 1], 2 * (audio[:, 0] - audio[:, 1]), atol=1e-5)


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
