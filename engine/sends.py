"""Time-based effects a stem feeds: a ping-pong echo and reverbs, all linear, added back in.

The reverb runs at a quarter of the sample rate, as the early digital reverbs did: its tail
lives below 5 kHz anyway (the damping eats the highs), and a quarter of the samples is a
quarter of the work. The send is band-limited before it is decimated, so nothing folds
down into the tail, and the return is interpolated back up to the stem's rate.

The room itself is pedalboard's (JUCE's freeverb). It is linear and time-invariant, so it
is all in its impulse response: each room is rendered once, and a send is convolved with
that response by FFT, block by block, instead of running the comb filters sample by sample.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pedalboard import Reverb
from scipy import fft as sp_fft

from engine import kernels

REVERB_DECIMATION = 4
# A 7-tap triangle (two 4-sample boxes): nulls at every multiple of the reduced rate, where the
# decimation would fold content down.
_ANTI_ALIAS = (np.convolve(np.ones(4), np.ones(4)) / 16.0).astype(np.float32)
TAIL_CUT_DB = -80.0  # the impulse response ends where what is left of it is this far down
RESPONSE_SECONDS = 4.0  # rendered impulse length: room 0.45 falls 80 dB in 1.5 s
BLOCK = 2**16  # FFT size of the block convolution (larger for a response too long for it)


def ping_pong(audio: np.ndarray, delay: int, feedback: float, mix: float) -> np.ndarray:
    """A ping-pong echo of (frames, channels) audio, (frames, 2) out: the repeats bounce from
    side to side (engine.kernels.ping_pong), so an echo widens what it repeats."""
    x = np.ascontiguousarray(audio, dtype=np.float32)
    return kernels.ping_pong(x, delay, feedback, mix)


def room_response(
    room_size: float, damping: float, wet: float, width: float, sr: int
) -> np.ndarray:
    """The room's stereo impulse response (2, taps) at `sr`, cut at TAIL_CUT_DB."""
    room = Reverb(room_size=room_size, damping=damping, wet_level=wet, dry_level=0.0, width=width)
    impulse = np.zeros((2, round(RESPONSE_SECONDS * sr)), dtype=np.float32)
    impulse[0, 0] = 1.0  # the reverb mixes its two inputs to one: a send on the left will do
    response = room(impulse, sr, reset=True)
    remaining = np.cumsum((response.astype(np.float64) ** 2).sum(axis=0)[::-1])[::-1]
    cut = remaining[0] * 10.0 ** (TAIL_CUT_DB / 10.0)
    taps = max(1, int(np.count_nonzero(remaining > cut)))
    return np.ascontiguousarray(response[:, :taps])


@lru_cache(maxsize=32)
def room_spectra(
    room_size: float, damping: float, wet: float, width: float, sr: int
) -> tuple[np.ndarray, int]:
    response = room_response(room_size, damping, wet, width, sr)
    taps = response.shape[1]
    size = max(BLOCK, 1 << (2 * taps - 1).bit_length())  # each block at least as long as the tail
    return sp_fft.rfft(response, size, axis=1), taps


def convolve_room(send: np.ndarray, spectra: np.ndarray, taps: int) -> np.ndarray:
    """(2, len(send)) float32: mono `send` through the `taps`-long response whose spectra
    are `spectra` (overlap-add; what rings past the send's end is dropped)."""
    n = len(send)
    size = 2 * (spectra.shape[1] - 1)  # the FFT size the spectra were taken at
    step = size - taps + 1
    blocks = -(-n // step)
    segments = np.zeros((blocks, step), dtype=np.float32)
    segments.reshape(-1)[:n] = send
    rings = sp_fft.irfft(sp_fft.rfft(segments, size, axis=1)[None] * spectra[:, None], size)
    out = np.zeros((2, blocks * step + size), dtype=np.float32)
    for index in range(blocks):
        out[:, index * step : index * step + size] += rings[:, index]
    return out[:, :n]


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
    """Add the stereo reverb return of (frames, channels) `audio` into contiguous (frames, 2)
    `out`."""
    send = audio[:, 0] + audio[:, 1] if audio.shape[1] > 1 else audio[:, 0] * np.float32(2.0)
    low = _decimate(send, REVERB_DECIMATION)
    spectra, taps = room_spectra(room_size, damping, wet, width, sr // REVERB_DECIMATION)
    # Linear interpolation back up: the return is band-limited already (the damping leaves
    # little up where the interpolation images land).
    kernels.add_upsampled(out.reshape(-1), convolve_room(low, spectra, taps), REVERB_DECIMATION)
    return out


# The drums' short room: freeverb's small, fairly damped room, its tail shortened to about
# 0.5 s (RT60) by an extra decay: a snare "in a room", not in a hall.
DRUM_ROOM = (0.3, 0.6)  # room size, damping
DRUM_ROOM_SECONDS = 0.55
DRUM_ROOM_DECAY_S = 0.12  # the extra amplitude decay's time constant


@lru_cache(maxsize=4)
def drum_room(sr: int) -> np.ndarray:
    """The drum room's stereo impulse response (2, taps), each side of unit energy, so a wet
    level w puts the room w² in energy under the dry hit."""
    response = room_response(*DRUM_ROOM, 1.0, 1.0, sr).astype(np.float64)
    taps = min(response.shape[1], round(DRUM_ROOM_SECONDS * sr))
    t = np.arange(taps) / sr
    response = response[:, :taps] * np.exp(-t / DRUM_ROOM_DECAY_S)
    response /= np.sqrt((response**2).sum(axis=1, keepdims=True))
    response.setflags(write=False)
    return response


@lru_cache(maxsize=16)
def _drum_room_spectrum(sr: int, size: int) -> np.ndarray:
    """The drum room's spectra at FFT size `size` (a beat's hits come in a few lengths)."""
    return sp_fft.rfft(drum_room(sr), size, axis=1)


def room_tail(dry: np.ndarray, wet: float, sr: int) -> np.ndarray:
    """`dry` (mono, or (n, 2)) with the drum room added at `wet`: (len + room, 2). The room
    hears the dry sound's mid; a mono sound stays in both sides. One FFT of the hit against
    the room's cached spectra (half the work of convolving both every time)."""
    mid = dry if dry.ndim == 1 else dry.mean(axis=1)
    length = len(mid) + drum_room(sr).shape[1] - 1
    size = sp_fft.next_fast_len(length, real=True)
    spectrum = sp_fft.rfft(mid, size) * _drum_room_spectrum(sr, size)
    room = sp_fft.irfft(spectrum, size, axis=1)[:, :length].T * wet
    room[: len(dry)] += dry if dry.ndim == 2 else dry[:, None]
    return room


def _decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Every `factor`-th sample of x after the anti-alias triangle (centred, zero-padded)."""
    half = len(_ANTI_ALIAS) // 2
    padded = np.concatenate([np.zeros(half, np.float32), x, np.zeros(half + factor, np.float32)])
    count = -(-len(x) // factor)
    out = np.zeros(count, dtype=np.float32)
    for tap, weight in enumerate(_ANTI_ALIAS):
        out += weight * padded[tap : tap + count * factor : factor]
    return out
