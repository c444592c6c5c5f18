"""The mix's building blocks measured on plain signals: compressor, echo, reverb send, drum room,
and the per-sound high-pass that stands in for a stem's."""

from __future__ import annotations

import numpy as np
import pytest
from pedalboard import HighpassFilter, Reverb

from engine import instruments
from engine.dynamics import apply_gain, compress, soft_clip
from engine.sends import add_reverb, convolve_room, ping_pong, room_spectra, room_tail

SR = 44100


def tone(seconds: float, peak: float = 1.0, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    mono = (peak * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def peak_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(x).max()))


def test_compressor_settles_at_its_ratio_above_the_threshold() -> None:
    # 0 dBFS peaks, threshold -20, ratio 4: 20 dB over -> 5 dB over, 15 dB of reduction.
    out = compress(tone(1.0), SR, threshold_db=-20, ratio=4, attack_ms=5, release_ms=100)
    assert abs(peak_db(out[SR // 2 :]) - (-15.0)) < 0.3


def test_compressor_leaves_quiet_audio_alone_and_adds_makeup() -> None:
    quiet = tone(0.5, peak=0.01)  # -40 dBFS, far under the knee
    out = compress(quiet, SR, threshold_db=-20, ratio=4, attack_ms=5, release_ms=100, makeup_db=6.0)
    assert np.allclose(out, quiet * 10 ** (6 / 20), rtol=1e-4, atol=1e-7)


def test_compressor_lets_a_transient_through_before_the_attack() -> None:
    burst = np.zeros((SR // 2, 2), np.float32)
    burst[1000 : 1000 + SR // 1000] = 1.0  # 1 ms click at 0 dBFS
    slow = compress(burst, SR, threshold_db=-20, ratio=4, attack_ms=30, release_ms=100)
    fast = compress(burst, SR, threshold_db=-20, ratio=4, attack_ms=0.1, release_ms=100)
    assert peak_db(slow) > -2.0  # the punch survives a slow attack
    assert peak_db(fast) < peak_db(slow) - 6.0


def test_compressor_recovers_at_its_release_time() -> None:
    loud_then_quiet = np.concatenate([tone(0.5), tone(1.0, peak=0.05)])
    out = compress(loud_then_quiet, SR, threshold_db=-20, ratio=4, attack_ms=5, release_ms=50)
    tail = out[int(0.5 * SR) + int(0.5 * SR) :]  # half a second after the loud part: recovered
    assert abs(peak_db(tail) - peak_db(loud_then_quiet[-len(tail) :])) < 0.2


def test_mono_in_centred_stereo_out() -> None:
    mono = tone(0.3)[:, :1].copy()
    out = compress(mono, SR, threshold_db=-10, ratio=2, attack_ms=5, release_ms=80, channels=2)
    assert out.shape == (len(mono), 2) and np.array_equal(out[:, 0], out[:, 1])


def test_gain_curve_interpolates_between_control_points() -> None:
    ones = np.ones((8, 1), np.float32)
    gains = apply_gain(ones, np.array([0.0, -20.0 * np.log10(2.0)]), 4)[:, 0]
    assert np.allclose(gains, [1.0, 0.875, 0.75, 0.625, 0.5, 0.5, 0.5, 0.5])  # the last holds


def test_ping_pong_echo_repeats_at_the_delay_alternating_sides() -> None:
    impulse = np.zeros((1000, 2), np.float32)
    impulse[0] = 1.0
    out = ping_pong(impulse, 100, feedback=0.5, mix=0.2)
    assert np.allclose(out[[0, 100, 200, 300], 0], [0.8, 0.2, 0.0, 0.05])
    assert np.allclose(out[[0, 100, 200, 300], 1], [0.8, 0.0, 0.1, 0.0])
    assert np.count_nonzero(out) == 2 + 9  # the dry hit, then one repeat every 100 samples


def test_reverb_return_is_a_decaying_stereo_tail_of_the_same_length() -> None:
    click = np.zeros((2 * SR, 2), np.float32)
    click[100] = 0.5
    out = np.zeros_like(click)
    add_reverb(out, click, SR, wet=0.3)
    assert out.shape == click.shape and np.isfinite(out).all()
    early = np.abs(out[: SR // 4]).max()
    late = np.abs(out[int(1.5 * SR) :]).max()
    assert early > 1e-3 and late < early * 0.01  # it rings, then dies away
    assert not np.allclose(out[:, 0], out[:, 1])  # a wide return, not mono


def test_compressor_following_sections_keeps_their_level_difference() -> None:
    """A hook 3 dB over its verse: a fixed threshold takes (1 - 1/ratio) of the lift away;
    a threshold that follows the slow level compresses both alike and keeps it."""
    pulses = tone(4.0, peak=0.5) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * np.arange(4 * SR) / SR))[
        :, None
    ].astype(np.float32)
    song = np.concatenate([pulses, pulses * np.float32(10 ** (3 / 20))])
    settings = {"threshold_db": -18, "ratio": 4, "attack_ms": 5, "release_ms": 80}

    def lift(out: np.ndarray) -> float:
        verse, hook = out[SR : 3 * SR], out[5 * SR :]  # clear of the change at 4 s
        return float(10 * np.log10(np.mean(hook**2) / np.mean(verse**2)))

    assert lift(compress(song, SR, **settings)) < 1.2
    assert lift(compress(song, SR, follow_s=1.0, **settings)) > 2.8
    # ... and within a section it compresses exactly as much as the fixed one.
    fixed = compress(pulses, SR, **settings)
    following = compress(pulses, SR, follow_s=1.0, **settings)
    assert abs(peak_db(fixed[SR:]) - peak_db(following[SR:])) < 0.5


def test_soft_clip_takes_half_the_top_db_off_the_peaks_and_nothing_else() -> None:
    hits = tone(1.0, peak=0.1)
    hits[::4410] = 1.0  # sharp peaks 20 dB over the tone
    out = soft_clip(hits, 8.0)
    assert peak_db(out) == pytest.approx(-4.0, abs=0.1)  # the top 8 dB folded into 4
    body = np.abs(hits) < 10 ** (-8 / 20)
    assert np.array_equal(out[body], hits[body])  # under the knee: untouched
    assert np.array_equal(soft_clip(hits * 0, 8.0), hits * 0)


def test_drum_room_is_a_short_decorrelated_tail_under_the_dry_hit() -> None:
    hit = np.zeros(SR // 10)
    hit[0] = 1.0
    wet = room_tail(hit, 0.3, SR)
    assert wet.shape[1] == 2 and wet[0, 0] == wet[0, 1] == 1.0  # the dry hit, both sides
    tail = wet[1:]
    remaining = np.cumsum((tail**2).sum(axis=1)[::-1])[::-1]
    assert remaining[0] / 2 == pytest.approx(0.3**2, rel=0.01)  # wet 0.3: 0.09 of the energy
    assert np.argmax(remaining < remaining[0] * 1e-6) / SR < 0.55  # 60 dB down within 0.55 s
    assert abs(np.corrcoef(tail[:, 0], tail[:, 1])[0, 1]) < 0.2  # wide


def test_each_sound_high_passed_sums_to_the_stem_high_passed() -> None:
    """Render filters each cached sound with the stem's high-pass; the filter is linear, so
    the stem comes out as if the mix had filtered the whole of it."""
    a = instruments.note("808", 36, 0.4)
    b = instruments.note("808", 43, 0.3)
    stem = np.zeros(SR, np.float32)
    stem[: len(a)] += a
    stem[5000 : 5000 + len(b)] += b
    whole = HighpassFilter(cutoff_frequency_hz=28.0)(stem, SR, reset=True)
    parts = np.zeros(SR + 4000, np.float32)
    fa = instruments.note("808", 36, 0.4, highpass_hz=28.0)
    fb = instruments.note("808", 43, 0.3, highpass_hz=28.0)
    parts[: len(fa)] += fa
    parts[5000 : 5000 + len(fb)] += fb
    assert np.abs(parts[:SR] - whole).max() < 0.01 * np.abs(whole).max()


def test_reverb_by_impulse_response_is_pedalboards_room() -> None:
    """The send is convolved with the room's impulse response instead of running the room;
    the return must be the room's own, down to the -80 dB where the response is cut."""
    low_sr = SR // 4
    send = (np.random.default_rng(3).standard_normal(5 * low_sr) * 0.2).astype(np.float32)
    send[3 * low_sr :] = 0.0  # and the tail rings on into silence
    room = Reverb(room_size=0.45, damping=0.45, wet_level=0.22, dry_level=0.0, width=0.9)
    pair = np.zeros((2, len(send)), np.float32)
    pair[0] = send
    expected = room(pair, low_sr, reset=True)
    spectra, taps = room_spectra(0.45, 0.45, 0.22, 0.9, low_sr)
    got = convolve_room(send, spectra, taps)
    error = np.sqrt(np.mean((got - expected) ** 2) / np.mean(expected**2))
    assert got.shape == expected.shape and error < 10 ** (-70 / 20)
