"""The synthesizer's building blocks: oscillators, envelopes, filters and the finishing step
every rendered sound goes through (used by engine.drums, engine.voices and engine.textures).

Saw and square waves are band-limited with PolyBLEP: a naive saw at C6 folds harmonics above
Nyquist back down to -15 dB of inharmonic junk (measured: inharmonic / harmonic power), which
a listener hears as a metallic fizz that moves against the pitch. The PolyBLEP residual rounds
each step over the two samples around it; it costs a few masked array operations and takes
the aliasing at C6 down to about -37 dB (tests/test_engine_drums.py::test_oscillators...).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pedalboard import HighpassFilter
from scipy import signal

from engine import kernels

FADE_S = 0.003  # every sound starts and ends with a few ms of fade: never a click
HIGHPASS_TAIL_TAUS = 6.0  # the high-pass rings on after a sound ends; keep e^-6 of it


def hz(pitch: float) -> float:
    return float(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))


def pitch_of(freq: float) -> float:
    return float(69.0 + 12.0 * np.log2(freq / 440.0))


def timeline(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sr


@lru_cache(maxsize=512)
def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int) -> np.ndarray:
    nyquist = 0.45 * sr
    if isinstance(cutoff, tuple):
        low, high = max(20.0, cutoff[0]), min(nyquist, cutoff[1])
        return signal.butter(order, (low, max(low * 1.1, high)), "bandpass", fs=sr, output="sos")
    return signal.butter(order, min(nyquist, max(20.0, cutoff)), kind, fs=sr, output="sos")


def sos_filter(
    x: np.ndarray, kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2
) -> np.ndarray:
    """Butterworth `kind` ("lowpass", "highpass", "bandpass" with a (low, high) cutoff)."""
    if isinstance(cutoff, float | int):
        cutoff = round(float(cutoff), -1) or 20.0  # round: keeps the filter cache small
    return signal.sosfilt(_sos(kind, cutoff, sr, order), x)


SWEEP_HOP = 16  # control step of a swept filter's cutoff (0.36 ms at 44.1 kHz)


def cutoff_curve(cutoff_hz: np.ndarray, sr: int) -> np.ndarray:
    """A swept filter's coefficient g = tan(pi fc / sr) every SWEEP_HOP frames (fc capped
    below Nyquist, where tan runs off)."""
    fc = np.clip(np.asarray(cutoff_hz, dtype=np.float64)[::SWEEP_HOP], 10.0, 0.45 * sr)
    return np.tan(np.pi * fc / sr)


def swept(
    audio: np.ndarray, cutoff_hz: np.ndarray, sr: int, damping: tuple[float, ...], kind: str
) -> np.ndarray:
    """`audio` (mono float) through a state-variable filter whose cutoff follows a per-sample
    curve; `damping` = 1/Q per two-pole stage (one small value: a resonant peak)."""
    frames = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1, 1).copy()
    g = cutoff_curve(cutoff_hz, sr)
    kernels.sweep_filter(
        frames, 0, len(frames), g, SWEEP_HOP, np.array(damping), kind == "highpass", 0
    )
    return frames[:, 0]


def sine(cycles: np.ndarray | float) -> np.ndarray:
    """sin(2π·cycles) in single precision. The phase is wrapped to one cycle first, in double
    precision, so the float32 angle is off by at most ~4e-7 rad (-130 dB, far under anything
    heard) while numpy's vectorised float32 sine runs 15x faster than its float64 one."""
    c = np.asarray(cycles, dtype=np.float64)
    return np.sin(np.float32(2.0 * np.pi) * (c - np.floor(c)).astype(np.float32))


def phase(freq: np.ndarray | float, n: int, sr: int) -> np.ndarray:
    """Phase in cycles; a frequency curve (glide, vibrato) is integrated sample by sample."""
    if np.isscalar(freq):
        return timeline(n, sr) * float(freq)
    return np.cumsum(freq) / sr


def _steps(step: np.ndarray | float) -> np.ndarray:
    return np.atleast_1d(np.asarray(step, dtype=np.float64))


def saw(cycles: np.ndarray, step: np.ndarray | float) -> np.ndarray:
    """Band-limited saw, -1..1, rising; `step` = frequency / sr (cycles per sample)."""
    return kernels.polyblep_wave(np.asarray(cycles, dtype=np.float64), _steps(step), False)


def square(cycles: np.ndarray, step: np.ndarray | float) -> np.ndarray:
    """Band-limited square, ±1; `step` = frequency / sr."""
    return kernels.polyblep_wave(np.asarray(cycles, dtype=np.float64), _steps(step), True)


def oscillator(freq: np.ndarray | float, n: int, sr: int) -> tuple[np.ndarray, np.ndarray | float]:
    """(phase in cycles, step per sample) for a saw or square at `freq` (a number or a curve)."""
    step = freq / sr if np.isscalar(freq) else np.asarray(freq) / sr
    return phase(freq, n, sr), step


def envelope(
    n: int,
    sr: int,
    attack: float,
    held: float,
    release: float,
    decay: float | None = None,
    sustain: float = 1.0,
) -> np.ndarray:
    """Attack, optional decay to `sustain` while held, then an exponential release."""
    t = timeline(n, sr)
    env = np.minimum(1.0, t / max(attack, 1e-4))
    if decay is not None:
        env = env * (sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0) / decay))
    after = t > held
    if np.any(after):
        level = env[min(int(held * sr), n - 1)]
        env[after] = level * np.exp(-(t[after] - held) / max(release / 4.6, 1e-4))
    return env


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law (-1 left .. +1 right), normalised so the centre is unity on
    both sides."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4.0  # math: called once per note
    return math.cos(angle) * math.sqrt(2.0), math.sin(angle) * math.sqrt(2.0)


def noise(n: int, seed: int) -> np.ndarray:
    """`n` samples of white noise (unit variance, float32) for `seed`: uniform, not normal.
    It is as white, every sound filters it (and a filtered sum of uniform noise is normal
    noise by the central limit), and it draws 4x faster: a drum's noise was a fifth of its
    render."""
    uniform = np.random.default_rng(seed).random(n, dtype=np.float32)
    uniform -= np.float32(0.5)
    uniform *= np.float32(np.sqrt(12.0))
    return uniform


def finish(
    x: np.ndarray, sr: int, peak: float, highpass_hz: float = 0.0, lowpass_hz: float = 0.0
) -> np.ndarray:
    """Fade the ends, scale to `peak`, then the stem's filters (see `high_pass`; `lowpass_hz`:
    a genre's bus low-pass), float32, read-only. Mono (n,) or stereo (n, 2)."""
    x = np.array(x, dtype=np.float64)
    fade = min(len(x) // 2, int(FADE_S * sr))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        ramp = ramp if x.ndim == 1 else ramp[:, None]
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    top = float(np.max(np.abs(x))) if len(x) else 0.0
    if top > 0:
        x *= min(peak, 1.0) / top
    if lowpass_hz:
        x = signal.sosfilt(_sos("lowpass", float(lowpass_hz), sr, 4), x, axis=0)  # 24 dB/oct
    out = high_pass(x.astype(np.float32), sr, highpass_hz)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def _highpass_filter(hz: float) -> HighpassFilter:
    return HighpassFilter(cutoff_frequency_hz=hz)


def high_pass(x: np.ndarray, sr: int, hz: float) -> np.ndarray:
    """`x` (mono, or (n, 2)) through the mix's first-order high-pass at `hz` (0 = unchanged),
    with the filter's own tail kept and faded out. A stem is a sum of sounds and the filter
    is linear, so filtering each cached sound once is the stem's high-pass, done for free on
    every beat."""
    if not hz:
        return x
    tail = int(HIGHPASS_TAIL_TAUS * sr / (2.0 * np.pi * hz))
    padded = np.zeros((len(x) + tail, *x.shape[1:]), dtype=np.float32)
    padded[: len(x)] = x
    # pedalboard keeps a (frames, 2) array's layout (engine.mix passes stems the same way)
    out = _highpass_filter(float(hz))(padded, sr, reset=True)
    fade = min(len(out) // 2, max(1, tail // 2))
    ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
    out[-fade:] *= ramp if out.ndim == 1 else ramp[:, None]
    return out
