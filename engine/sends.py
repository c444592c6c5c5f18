"""Time-based effects a stem feeds: a feedback echo and a reverb, both linear, added back in.

The reverb runs at a quarter of the sample rate, as the early digital reverbs did: its tail
lives below 5 kHz anyway (the damping eats the highs), and a quarter of the samples is a
quarter of the work. The send is band-limited before it is decimated, so nothing folds
down into the tail, and the return is interpolated back up to the stem's rate.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pedalboard import Reverb

from engine.dynamics import interpolate

REVERB_DECIMATION = 4
# A 7-tap triangle (two 4-sample boxes): nulls at every multiple of the reduced rate, where the
# decimation would fold content down.
_ANTI_ALIAS = np.convolve(np.ones(4), np.ones(4)) / 16.0


def echo(audio: np.ndarray, delay: int, feedback: float, mix: float) -> np.ndarray:
    """A feedback delay line: dry*(1-mix) + mix*e, where e[n] = x[n-delay] + feedback*e[n-delay].

    The recursion only reaches back whole delay times, so it runs a delay-long block at a time.
    """
    n = len(audio)
    wet = np.zeros_like(audio)
    if 0 < delay < n:
        wet[delay:] = audio[:-delay]
        for start in range(2 * delay, n, delay):
            block = wet[start : start + delay]
            block += np.float32(feedback) * wet[start - delay : start - delay + len(block)]
    return audio * np.float32(1.0 - mix) + wet * np.float32(mix)


@lru_cache(maxsize=32)
def _reverb(room_size: float, damping: float, wet: float, width: float) -> Reverb:
    return Reverb(room_size=room_size, damping=damping, wet_level=wet, dry_level=0.0, width=width)


def add_reverb(
    out: np.ndarray,
    audio: np.ndarray,
    sr: int,
    *,
    wet: float,
    room_size: float = 0.45,
    damping: float = 0.45,
    width: float = 0.9,
) -> np.ndarray:
    """Add the stereo reverb return of (frames, channels) `audio` into `out` (frames, 2)."""
    send = audio[:, 0] + audio[:, 1] if audio.shape[1] > 1 else audio[:, 0] * np.float32(2.0)
    low_sr = sr // REVERB_DECIMATION
    low = _decimate(send, REVERB_DECIMATION)
    # The reverb mixes its two inputs to one, so a mono send in the left channel is the same.
    pair = np.zeros((2, len(low)), dtype=np.float32)
    pair[0] = low
    tail = _reverb(room_size, damping, wet, width)(pair, low_sr, reset=True)
    # Linear interpolation back up: the return is band-limited already (the damping leaves
    # little up where the interpolation images land).
    for channel in range(2):
        out[:, channel] += interpolate(tail[channel], REVERB_DECIMATION, len(out), end=0.0)
    return out


def _decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Every `factor`-th sample of x after the anti-alias triangle (centred, zero-padded)."""
    half = len(_ANTI_ALIAS) // 2
    padded = np.concatenate([np.zeros(half, np.float32), x, np.zeros(half + factor, np.float32)])
    count = -(-len(x) // factor)
    out = np.zeros(count, dtype=np.float32)
    for tap, weight in enumerate(_ANTI_ALIAS):
        out += np.float32(weight) * padded[tap : tap + count * factor : factor]
    return out
