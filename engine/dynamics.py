"""Gain at a control rate: the building blocks of the mix compressors and the master's limiter.

Level detection, ballistics and the gain curve run once every `hop` samples (a fraction of a
millisecond, far faster than any attack or release), so a compressor costs a few whole-array
numpy passes instead of a per-sample loop; the gain is interpolated back to every sample.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

HOP = 32  # control step of the mix compressors (0.73 ms at 44.1 kHz)
KNEE_DB = 6.0
_FLOOR_DB = -120.0


def hop_reduce(values: np.ndarray, hop: int, op: np.ufunc) -> np.ndarray:
    """`op` (np.add, np.maximum, ...) over each run of `hop` values; the last run may be short."""
    return op.reduceat(values, np.arange(0, len(values), hop))


def release(gain_db: np.ndarray, rate_db: float) -> np.ndarray:
    """Gain may fall at once but rise by at most `rate_db` per step:
    out[n] = min_k<=n (gain[k] + rate*(n-k)), vectorised with a running minimum."""
    ramp = rate_db * np.arange(len(gain_db), dtype=np.float64)
    return np.minimum.accumulate(gain_db - ramp) + ramp


def interpolate(values: np.ndarray, factor: int, n: int, end: float | None = None) -> np.ndarray:
    """`factor` samples per value (float32), a straight line from each value to the next; the
    last one glides to `end` (default: it holds). Cut or zero-padded to `n` samples."""
    v = values.astype(np.float32, copy=False)
    step = np.append(v[1:], v[-1] if end is None else np.float32(end)) - v
    frac = np.arange(factor, dtype=np.float32) / np.float32(factor)
    if factor >= 16:  # long rows: numpy broadcasts along them quickly
        out = np.multiply.outer(step, frac)
        out += v[:, None]
    else:  # short rows broadcast ~4x slower: fill column by column
        out = np.empty((len(v), factor), dtype=np.float32)
        for phase in range(factor):
            column = out[:, phase]
            np.multiply(step, frac[phase], out=column)
            column += v
    flat = out.reshape(-1)
    return flat[:n] if len(flat) >= n else np.pad(flat, (0, n - len(flat)))


def to_samples(control_db: np.ndarray, hop: int, n: int) -> np.ndarray:
    """Linear gain per sample (float32) from dB gains at control points 0, hop, 2*hop, ..."""
    return interpolate(10.0 ** (control_db / 20.0), hop, n)


def scale_frames(audio: np.ndarray, gain: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(frames, channels) audio times a per-frame gain, into `out` (may be `audio` itself; may
    have two channels for mono audio, which then lands centred in both).
    Column by column: numpy broadcasts a (frames, 1) gain over rows ~4x slower."""
    if out is None:
        out = np.empty_like(audio, dtype=np.float32)
    for channel in range(out.shape[1]):
        np.multiply(audio[:, min(channel, audio.shape[1] - 1)], gain, out=out[:, channel])
    return out


def apply_gain(
    audio: np.ndarray, control_db: np.ndarray, hop: int, channels: int | None = None
) -> np.ndarray:
    """(frames, channels) audio times the gain curve given in dB at control points;
    `channels=2` widens mono audio to centred stereo on the way."""
    out = np.empty((len(audio), channels or audio.shape[1]), dtype=np.float32)
    return scale_frames(audio, to_samples(control_db, hop, len(audio)), out=out)


def peak_db(audio: np.ndarray, hop: int) -> np.ndarray:
    """Peak level (dBFS) over all channels of (frames, channels) audio, per `hop` frames."""
    flat = np.abs(np.ascontiguousarray(audio).reshape(-1))
    peaks = hop_reduce(flat, hop * audio.shape[1], np.maximum).astype(np.float64)
    return 20.0 * np.log10(np.maximum(peaks, 10.0 ** (_FLOOR_DB / 20.0)))


def compressor_gain(
    level_db: np.ndarray,
    threshold_db: float,
    ratio: float,
    attack_s: float,
    release_s: float,
    rate: float,
) -> np.ndarray:
    """Gain (dB per control step) of a feed-forward peak compressor with a soft knee.

    Ballistics as an analogue unit: the detector falls exponentially (a straight line in dB)
    with the release time, and rises through a one-pole attack, so a transient shorter than
    the attack passes before the gain comes down: that is the punch a drum compressor keeps.
    `rate` is control steps per second.
    """
    fall = 20.0 * math.log10(math.e) / (release_s * rate)  # dB per step
    held = -release(-level_db, fall)
    a = math.exp(-1.0 / max(attack_s * rate, 1e-9))
    detected = signal.lfilter([1.0 - a], [1.0, -a], held, zi=[held[0] * a])[0]
    over = detected - threshold_db
    slope = 1.0 / ratio - 1.0
    half = KNEE_DB / 2.0
    knee = slope * (over + half) ** 2 / (2.0 * KNEE_DB)
    return np.where(over <= -half, 0.0, np.where(over >= half, slope * over, knee))


def compress(
    audio: np.ndarray,
    sr: int,
    *,
    threshold_db: float,
    ratio: float,
    attack_ms: float,
    release_ms: float,
    makeup_db: float = 0.0,
    channels: int | None = None,
) -> np.ndarray:
    """(frames, channels) float32 audio through a linked-channel compressor, plus makeup gain
    (`channels=2`: mono in, centred stereo out)."""
    level = peak_db(audio, HOP)
    gain = compressor_gain(
        level, threshold_db, ratio, attack_ms / 1000.0, release_ms / 1000.0, sr / HOP
    )
    return apply_gain(audio, gain + makeup_db, HOP, channels)
