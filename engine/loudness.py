"""Loudness meters: BS.1770-4 integrated loudness, EBU Tech 3342 loudness range, true peak.

The K-weighting filters are pyloudnorm's own (its `Meter` builds them per sample rate); the
block gating reproduces `pyloudnorm.Meter.integrated_loudness` step for step but with cumulative
sums instead of a Python loop per block, which makes it ~10x faster. Mastering measures every
pass, so that speed is what keeps a 30 s master well under 100 ms (tests check both agree).

True peak follows BS.1770-4 Annex 2: 4x oversampling with a 49-tap interpolator (12 taps per
new phase; phase 0 is the original samples). Only stretches of audio whose sample peaks could
reach the running maximum are oversampled: the interpolator's tap magnitudes bound how far an
inter-sample peak can rise above its neighbouring samples, so the rest cannot matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyloudnorm
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sp_fft
from scipy import signal

from engine import kernels
from engine.errors import AudioInputError

BLOCK_SECONDS = 0.4  # BS.1770 gating block
BLOCK_OVERLAP = 0.75
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolute-gated loudness
SHORT_TERM_SECONDS = 3.0  # EBU Tech 3342 short-term window for LRA
SHORT_TERM_STEP = 0.1
LRA_RELATIVE_GATE = -20.0
LRA_PERCENTILES = (10.0, 95.0)
OVERSAMPLE = 4
_TAPS_PER_PHASE = 24
_HALF = _TAPS_PER_PHASE // 2  # context samples needed either side of a sample
_WINDOW = 4096  # FFT size for oversampling; each window carries a chunk plus its context
_CHUNK = _WINDOW - 2 * _HALF  # true-peak candidate granularity (samples)
BAND_LIMIT_HZ = 20000.0
BAND_LIMIT_TAPS = 101


@dataclass(frozen=True)
class Loudness:
    """What a mastering engineer reads off the meters."""

    lufs: float  # integrated loudness, LUFS (-inf for silence)
    lra: float  # loudness range, LU
    true_peak: float  # dBTP (4x oversampled)
    sample_peak: float  # dBFS

    def summary(self) -> str:
        """E.g. '-14.0 LUFS, LRA 5.1 LU, -1.2 dBTP'."""
        return f"{_fmt(self.lufs)} LUFS, LRA {self.lra:.1f} LU, {_fmt(self.true_peak)} dBTP"


def _fmt(value: float) -> str:
    return "-inf" if math.isinf(value) else f"{value:.1f}"


def as_frames(audio: np.ndarray) -> np.ndarray:
    """A (frames, channels) float32 view/copy of 1-D or 2-D audio; rejects empty or NaN input."""
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise AudioInputError("The audio is empty; there is nothing to measure.")
    if a.shape[0] < a.shape[1]:
        raise AudioInputError("The audio must be shaped (frames, channels); it looks transposed.")
    a = a.astype(np.float32, copy=False)
    # max and min carry any NaN or infinity through, without a temporary the size of the audio
    if not (math.isfinite(a.max()) and math.isfinite(a.min())):
        raise AudioInputError("The audio contains invalid samples (NaN or infinity).")
    return a


def sample_peak(audio: np.ndarray) -> float:
    """Largest |sample| (linear), from max and min: no temporary the size of the audio."""
    return max(float(audio.max()), -float(audio.min())) if audio.size else 0.0


def db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


# ---------------------------------------------------------------------------------------------
# K-weighting and gating


@lru_cache(maxsize=8)
def k_weighting_sos(sr: int) -> np.ndarray:
    """pyloudnorm's two K-weighting biquads (shelf, then high-pass) as one SOS cascade."""
    meter = pyloudnorm.Meter(sr)
    rows = []
    for stage in meter._filters.values():  # pyloudnorm builds exactly these per rate
        b = np.asarray(stage.b, dtype=np.float64) * stage.passband_gain
        a = np.asarray(stage.a, dtype=np.float64)
        rows.append(np.concatenate([b / a[0], a / a[0]]))
    return np.array(rows)


@lru_cache(maxsize=8)
def _k_weighting_sos32(sr: int) -> np.ndarray:
    return k_weighting_sos(sr).astype(np.float32)


def k_weighted_power(audio: np.ndarray, sr: int) -> np.ndarray:
    """Per-sample K-weighted power summed over channels (BS.1770 channel weight 1 for L/R/C).

    Single precision (scipy's sosfilt arithmetic, compiled: engine.kernels), two channels
    per pass; it reads within 1e-4 LU of double precision on real material.
    """
    x = as_frames(audio)
    sos = _k_weighting_sos32(sr)
    power = np.zeros(len(x))
    for c in range(0, x.shape[1], 2):
        pair = c + 1 < x.shape[1]
        kernels.biquad_power(x[:, c], x[:, c + 1 if pair else c], sos, pair, power)
    return power


def _block_powers(power: np.ndarray, sr: float, seconds: float, step: float) -> np.ndarray:
    """Mean power of each gating block, with pyloudnorm's block count and boundaries."""
    n = len(power)
    duration = n / sr
    if duration < seconds:  # shorter than one block: measure what there is as one block
        return np.array([power.sum() / n])
    count = round((duration - seconds) / (seconds * step)) + 1
    hop, span = seconds * step * sr, seconds * sr
    if hop >= 1.0 and abs(hop - round(hop)) < 1e-6 and abs(span / hop - round(span / hop)) < 1e-6:
        # Blocks start on a whole-sample grid (every 100 ms at the usual rates) and span whole
        # grid steps: sum each step once, then any block is two lookups in a short running sum.
        hop, steps = round(hop), round(span / hop)
        whole = n // hop * hop
        sums = power[:whole].reshape(-1, hop).sum(axis=1)
        if whole < n:
            sums = np.append(sums, power[whole:].sum())
        csum = np.concatenate([[0.0], np.cumsum(sums)])
        j = np.arange(count)
        return (csum[np.minimum(j + steps, len(sums))] - csum[j]) / span
    csum = np.concatenate([[0.0], np.cumsum(power)])
    j = np.arange(count)
    lower = (seconds * (j * step) * sr).astype(np.int64)
    upper = np.minimum((seconds * (j * step + 1) * sr).astype(np.int64), n)
    return (csum[upper] - csum[lower]) / span


def _to_lufs(power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def gated_lufs(power: np.ndarray, sr: float) -> float:
    """BS.1770-4 integrated loudness from per-sample K-weighted power."""
    z = _block_powers(power, sr, BLOCK_SECONDS, 1.0 - BLOCK_OVERLAP)
    loud = _to_lufs(z)
    above_abs = z[loud >= ABSOLUTE_GATE]
    if len(above_abs) == 0:
        return -math.inf
    relative = _to_lufs(above_abs.mean()) + RELATIVE_GATE
    gated = z[(loud > relative) & (loud > ABSOLUTE_GATE)]
    if len(gated) == 0:
        return -math.inf
    return float(_to_lufs(gated.mean()))


def loudness_range(power: np.ndarray, sr: int) -> float:
    """EBU Tech 3342 LRA: 3 s short-term loudness every 0.1 s, gated at -70 LUFS and 20 LU
    below their power mean; the spread between the 10th and 95th percentiles."""
    z = _block_powers(power, sr, SHORT_TERM_SECONDS, SHORT_TERM_STEP / SHORT_TERM_SECONDS)
    loud = _to_lufs(z)
    loud = loud[loud >= ABSOLUTE_GATE]
    if len(loud) == 0:
        return 0.0
    relative = _to_lufs(np.mean(10.0 ** ((loud + 0.691) / 10.0))) + LRA_RELATIVE_GATE
    loud = loud[loud >= relative]
    low, high = np.percentile(loud, LRA_PERCENTILES)
    return float(high - low)


def integrated_lufs(audio: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4); -inf for silence."""
    return gated_lufs(k_weighted_power(audio, sr), sr)


def lra(audio: np.ndarray, sr: int) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 for silence."""
    return loudness_range(k_weighted_power(audio, sr), sr)


# ---------------------------------------------------------------------------------------------
# True peak


@lru_cache(maxsize=1)
def _phase_taps() -> tuple[np.ndarray, float]:
    """Taps of the three new phases of a 4x windowed-sinc interpolator, over input offsets
    -HALF+1 .. HALF, and the largest sum of |taps|: how far an interpolated value can exceed
    the biggest neighbouring sample. 24 taps per phase with a Kaiser(8) window: flat close to
    Nyquist, so hats and cymbals up there are not under-read (a short interpolator reads them
    up to 0.4 dB low, and ffmpeg's ebur128 meter would disagree)."""
    taps = OVERSAMPLE * _TAPS_PER_PHASE + 1  # odd length: phase 0 is exactly the input
    h = signal.firwin(taps, 1.0 / OVERSAMPLE, window=("kaiser", 8.0)) * OVERSAMPLE
    centre = taps // 2
    offsets = np.arange(-_HALF + 1, _HALF + 1)
    # y[4n + p] = sum over offsets k of x[n + k] * h[centre + p - 4k]
    phases = np.stack([h[centre + p - OVERSAMPLE * offsets] for p in range(1, OVERSAMPLE)])
    return phases, float(np.abs(phases).sum(axis=1).max())


def _spectra(kernels: list[np.ndarray], first: int, context: int) -> np.ndarray:
    """FFT-correlation spectra of kernels whose tap 0 sits at input offset `first`, for
    windows that start `context` samples before their chunk."""
    out = []
    for kernel in kernels:
        g = np.zeros(_WINDOW)
        g[context + first : context + first + len(kernel)] = kernel
        out.append(np.conj(sp_fft.fft(g)).astype(np.complex64))
    return np.stack(out)


@lru_cache(maxsize=1)
def _interpolator() -> tuple[np.ndarray, float]:
    """The three phases' spectra for windows with HALF samples of context either side."""
    phases, l1 = _phase_taps()
    return _spectra(list(phases), -_HALF + 1, _HALF), l1


@lru_cache(maxsize=8)
def band_limit_taps(sr: int) -> np.ndarray:
    """Linear-phase low-pass at 20 kHz (BAND_LIMIT_TAPS taps, Kaiser window)."""
    cutoff = min(BAND_LIMIT_HZ, 0.45 * sr)
    return signal.firwin(BAND_LIMIT_TAPS, cutoff, fs=sr, window=("kaiser", 8.0))


@lru_cache(maxsize=8)
def _band_limited_interpolator(sr: int) -> np.ndarray:
    """Spectra that give, from one window of input, the band-limited samples (phase 0) and
    the band-limited signal's three new phases: each phase's taps convolved with the low-pass."""
    taps = band_limit_taps(sr)
    half = len(taps) // 2
    phases, _ = _phase_taps()
    kernels = [np.pad(taps, (_HALF - 1, _HALF))]  # the low-pass alone, on the same offsets
    kernels += [np.convolve(phase, taps) for phase in phases]
    return _spectra(kernels, -_HALF + 1 - half, _HALF + half)


def _chunk_max(peak: np.ndarray) -> np.ndarray:
    n = len(peak)
    chunks = -(-n // _CHUNK)
    padded = np.zeros(chunks * _CHUNK, dtype=peak.dtype)
    padded[:n] = peak
    return padded.reshape(chunks, _CHUNK).max(axis=1)


def interpolation_gain() -> float:
    """How far the oversampled waveform can rise above the largest sample within reach of the
    interpolator (12 samples either side): the sum of |taps| of its worst phase."""
    return _interpolator()[1]


def _correlate_windows(
    x: np.ndarray,
    spectra: np.ndarray,
    context: int,
    chunks: int,
    chosen: np.ndarray | None = None,
    first_out: np.ndarray | None = None,
) -> np.ndarray:
    """Correlate windows of `x` (each a chunk plus `context` samples either side, zeros past
    the ends) with every spectrum; per window and chunk sample, the largest |value| over the
    channels and all outputs. `chosen`: only these windows (default all `chunks`).
    `first_out` (chunks x chunk frames, channels) receives the first spectrum's output."""
    n, channels = x.shape
    chunk = _WINDOW - 2 * context
    best = np.zeros((chunks if chosen is None else len(chosen), chunk), dtype=np.float32)
    product = np.empty((len(best), _WINDOW), dtype=np.complex64)
    # Two channels at once: left in the real part, right in the imaginary part (the filters
    # are real, so they never mix). More channels go round in pairs.
    for c in range(0, channels, 2):
        packed = np.zeros(chunks * chunk + 2 * context, dtype=np.complex64)
        if channels == 2 and x.flags.c_contiguous:  # (L, R) float32 pairs are complex64
            packed[context : context + n] = x.view(np.complex64)[:, 0]
        else:
            packed.real[context : context + n] = x[:, c]
            if c + 1 < channels:
                packed.imag[context : context + n] = x[:, c + 1]
        windows = sliding_window_view(packed, _WINDOW)[::chunk]
        windows = sp_fft.fft(windows if chosen is None else windows[chosen], axis=1)
        for index, spectrum in enumerate(spectra):
            np.multiply(windows, spectrum, out=product)
            y = sp_fft.ifft(product, axis=1, overwrite_x=True)
            if index == 0 and first_out is not None:
                if channels == 2:  # (L, R) pairs as they are
                    first_out.view(np.complex64).reshape(chunks, chunk)[:] = y[:, :chunk]
                else:
                    pairs = y[:, :chunk].reshape(-1)
                    first_out[:, c] = pairs.real
                    if c + 1 < channels:
                        first_out[:, c + 1] = pairs.imag
            kernels.track_peaks(best, y)
    return best


def true_peak_envelope(
    audio: np.ndarray, floor: float = 0.0, bound: np.ndarray | None = None
) -> np.ndarray:
    """Per sample, the largest |value| over channels and the 4x-oversampled points from this
    sample up to the next: the waveform a D/A converter really draws. Exact wherever the
    result could reach `floor` (linear); elsewhere the sample peak (then known < floor).
    `bound`, when the caller knows one, is a per-sample upper bound of the result that is
    tighter than the interpolator's own; stretches whose bound stays under `floor` are skipped."""
    x = as_frames(audio)
    if x.shape[1] > 2:
        x = np.ascontiguousarray(x)
    n = len(x)
    env = np.abs(x[:, 0])
    for c in range(1, x.shape[1]):
        np.maximum(env, np.abs(x[:, c]), out=env)
    spectra, gain = _interpolator()
    cmax = _chunk_max(env)
    if bound is not None:
        chosen = np.flatnonzero(_chunk_max(bound) >= floor)
    else:
        # A chunk's inter-sample peaks stay below gain x (its own and its neighbours' samples).
        near = cmax.copy()
        np.maximum(near[1:], cmax[:-1], out=near[1:])
        np.maximum(near[:-1], cmax[1:], out=near[:-1])
        chosen = np.flatnonzero(near * gain >= floor)
    if len(chosen) == 0:
        return env
    best = _correlate_windows(x, spectra, _HALF, len(cmax), chosen)
    if len(chosen) == len(cmax):  # every chunk: plain slices, no fancy indexing
        np.maximum(env, best.reshape(-1)[:n], out=env)
        return env
    targets = (chosen[:, None] * _CHUNK + np.arange(_CHUNK)[None, :]).reshape(-1)
    keep = targets < n
    hit = targets[keep]
    env[hit] = np.maximum(env[hit], best.reshape(-1)[keep])
    return env


def band_limited(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """The audio through a linear-phase 20 kHz low-pass, and that result's true-peak envelope
    (exact everywhere), from one FFT of each window: the low-pass and the oversampling are
    both correlations, so each phase is one spectrum multiply away.

    Energy right at Nyquist makes the true peak ill-defined: meters with different
    interpolators disagree by up to 1 dB there. A master has none, and every meter (ours,
    ffmpeg's, a DAC's) reads the same peak; the 20 kHz cut itself is inaudible.
    """
    x = as_frames(audio)
    n, channels = x.shape
    context = _HALF + BAND_LIMIT_TAPS // 2
    chunk = _WINDOW - 2 * context
    chunks = -(-n // chunk)
    out = np.empty((chunks * chunk, channels), dtype=np.float32)
    best = _correlate_windows(x, _band_limited_interpolator(sr), context, chunks, first_out=out)
    envelope = best.reshape(-1)[:n]
    out = out[:n]
    # At the very ends the interpolator reaches past the audio, where the delivered file has
    # silence but the low-pass has its ringing: measure those few samples on the result.
    edge = min(n, 4 * _HALF)
    envelope[:_HALF] = true_peak_envelope(out[:edge])[:_HALF]
    envelope[-_HALF:] = true_peak_envelope(out[-edge:])[-_HALF:]
    return out, envelope


def true_peak_linear(audio: np.ndarray) -> float:
    x = as_frames(audio)
    peak = sample_peak(x)
    if peak == 0.0:
        return 0.0
    return float(true_peak_envelope(x, floor=peak).max())


def true_peak(audio: np.ndarray, sr: int) -> float:
    """True peak in dBTP (4x oversampled, BS.1770-4 Annex 2); -inf for silence. `sr` is part
    of the shared meter signature; 4x oversampling is defined relative to any rate."""
    del sr
    return db(true_peak_linear(audio))


def measure(audio: np.ndarray, sr: int) -> Loudness:
    """Integrated loudness, loudness range, true peak and sample peak in one pass."""
    x = as_frames(audio)
    power = k_weighted_power(x, sr)
    return Loudness(
        lufs=gated_lufs(power, sr),
        lra=loudness_range(power, sr),
        true_peak=db(true_peak_linear(x)),
        sample_peak=db(sample_peak(x)),
    )
