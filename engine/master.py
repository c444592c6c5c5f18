"""Mastering: loudness to a target with a true-peak ceiling, reference matching, A/B preview.

The chain is three gain stages that all read the 4x-oversampled peak envelope of the input,
so the audio itself is touched once (input x total gain) and every stage is cheap:

1. glue: a soft-knee compressor on 50 ms K-weighted loudness, only when the target asks for
   more than a few dB of peak reduction (loud cd/club masters on dynamic material);
2. transient stage: a very fast look-ahead limiter that shaves up to 3 dB off drum tops, the
   clean cousin of a soft clipper (gain, so no aliasing harmonics);
3. true-peak limiter: look-ahead, held and smoothed attack, exponential release, holding the
   oversampled peaks at `ceiling - MARGIN_DB`.

Gains are computed at a control rate (every HOP samples) and interpolated; the look-ahead hold
covers neighbouring control points, so interpolation never lets a peak through. The input gain
is found by a secant search on a loudness model (K-weighted input power x gain^2), then the real
output is measured; a small residual is corrected and the true peak verified exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from engine import kernels
from engine.dynamics import apply_gain, hop_reduce, release
from engine.errors import AudioInputError, EngineInputError
from engine.loudness import (
    Loudness,
    as_frames,
    band_limited,
    db,
    gated_lufs,
    interpolation_gain,
    k_weighted_power,
    loudness_range,
    measure,
    sample_peak,
    true_peak_envelope,
)

PRESETS: dict[str, float] = {"streaming": -14.0, "cd": -9.0, "club": -8.0}
LUFS_RANGE = (-36.0, -6.0)  # targets we accept; louder than -6 LUFS is destruction
CEILING_RANGE = (-9.0, 0.0)
MARGIN_DB = 0.2  # the limiter aims this far under the ceiling
HOLD_SLACK_DB = 0.1  # a peak this close over the limiter's aim is left alone
HOP = 16  # control-rate decimation for limiter gains (0.36 ms at 44.1 kHz)
COMP_HOP = 64  # the glue compressor moves slowly; a coarser control rate is plenty
SILENCE_LUFS = -70.0
MIN_SECONDS = 0.5  # loudness gating needs a few 400 ms blocks
TRANSIENT_MAX_DB = 8.0  # the most the transient stage takes off a peak
TRANSIENT_FRACTION = 0.6  # its share of the peak reduction; the limiter does the rest
TRANSIENT_RELEASE = 600.0  # dB/s: recovers 4 dB in under 7 ms, like a soft clipper
LIMITER_RELEASE = 120.0  # dB/s: 3 dB back in 25 ms; slower pumps, faster distorts bass

SILENT_TRACK = "The track is silent, so there is nothing to master; send audio with sound in it."


@dataclass
class MasterResult:
    audio: np.ndarray  # (frames, channels) float32
    before: Loudness
    after: Loudness

    def summary(self) -> str:
        return f"before: {self.before.summary()} / after: {self.after.summary()}"


def preset_lufs(quality: str) -> float:
    """Target loudness of a quality preset; EngineInputError naming them for anything else."""
    try:
        return PRESETS[quality.strip().lower()]
    except KeyError:
        names = ", ".join(f"{k} ({v:g} LUFS)" for k, v in PRESETS.items())
        raise EngineInputError(f"Unknown quality {quality!r}; pick one of {names}.") from None


def _check_targets(lufs: float, ceiling: float) -> None:
    lo, hi = LUFS_RANGE
    if not (math.isfinite(lufs) and lo <= lufs <= hi):
        raise EngineInputError(
            f"A loudness target of {lufs:g} LUFS is out of range; use {lo:g} to {hi:g} LUFS "
            "(streaming is -14, cd -9, club -8)."
        )
    lo, hi = CEILING_RANGE
    if not (math.isfinite(ceiling) and lo <= ceiling <= hi):
        raise EngineInputError(
            f"A true-peak ceiling of {ceiling:g} dBTP is out of range; use {lo:g} to {hi:g}."
        )


# ---------------------------------------------------------------------------------------------
# Gain computers (all in dB at a control rate)


def _limiter_gain(
    peak: np.ndarray, threshold: float, attack: int, release_db: float, knee_db: float = 0.0
) -> np.ndarray:
    """Gain (dB, per control step) keeping `peak` (linear, per step) at or under `threshold`.
    Look-ahead: the required gain is held `attack` steps either side and then averaged over
    `attack` steps, so the gain glides down before a peak and every peak is still covered."""
    need = np.zeros(len(peak))
    start = threshold * 10.0 ** (-knee_db / 20.0)
    loud = peak > start
    if not loud.any():
        return need
    over = 20.0 * np.log10(peak[loud] / threshold)
    if knee_db > 0.0:  # soft knee: gentle below the threshold, brick wall above it
        w = knee_db
        in_knee = over < 0.0
        over = np.where(in_knee, (over + w) ** 2 / (4.0 * w) - w / 4.0, over)
        over = np.maximum(over, 0.0)
    need[loud] = -over
    radius = attack + 1  # +1: interpolation between control points stays covered
    held = ndimage.minimum_filter1d(need, 2 * radius + 1, mode="nearest")
    released = release(held, release_db)
    return ndimage.uniform_filter1d(released, attack + 1, mode="nearest")


def _compressor_gain(
    level_db: np.ndarray, threshold: float, ratio: float, knee: float, attack: int, rel: float
) -> np.ndarray:
    """Soft-knee downward compression of a loudness curve (dB), with look-ahead attack and
    rate-limited release (dB per control step)."""
    over = level_db - threshold
    slope = 1.0 / ratio - 1.0
    gr = np.where(
        over <= -knee / 2.0,
        0.0,
        np.where(over >= knee / 2.0, slope * over, slope * (over + knee / 2.0) ** 2 / (2.0 * knee)),
    )
    held = ndimage.minimum_filter1d(gr, 2 * attack + 1, mode="nearest")
    return ndimage.uniform_filter1d(release(held, rel), 2 * attack + 1, mode="nearest")


# ---------------------------------------------------------------------------------------------
# The chain


@dataclass
class _Analysis:
    """Everything about the input the passes reuse."""

    n: int
    sr: int
    power_hop: np.ndarray  # K-weighted power, mean per HOP
    envelope: np.ndarray  # oversampled peak per sample (exact where it can matter)
    peak_hop: np.ndarray  # envelope max per HOP
    level_comp: np.ndarray  # 50 ms K-weighted loudness at COMP_HOP rate (dB)
    before: Loudness


def _analyse(x: np.ndarray, sr: int, power: np.ndarray, envelope: np.ndarray) -> _Analysis:
    before = Loudness(
        lufs=gated_lufs(power, sr),
        lra=loudness_range(power, sr),
        true_peak=db(float(envelope.max())),
        sample_peak=db(sample_peak(x)),
    )
    comp_power = hop_reduce(power, COMP_HOP, np.add) / COMP_HOP
    window = max(1, round(0.05 * sr / COMP_HOP))
    smoothed = ndimage.uniform_filter1d(comp_power, window, mode="nearest")
    with np.errstate(divide="ignore"):
        level = -0.691 + 10.0 * np.log10(np.maximum(smoothed, 1e-12))
    return _Analysis(
        n=len(x),
        sr=sr,
        power_hop=hop_reduce(power, HOP, np.add) / HOP,
        envelope=envelope,
        peak_hop=kernels.hop_peaks(envelope, HOP),
        level_comp=level,
        before=before,
    )


@dataclass
class _Plan:
    """The chain's settings for one master, chosen from how much peak reduction it needs."""

    target: float
    threshold: float  # linear true-peak threshold of the final limiter
    comp_ratio: float
    comp_threshold: float
    transient_share: float  # the most dB the transient stage may take


def _plan(a: _Analysis, target: float, ceiling: float) -> _Plan:
    gain = target - a.before.lufs
    excess = a.before.true_peak + gain - (ceiling - MARGIN_DB)  # dB of peaks over the line
    ratio = 1.0 + min(1.5, max(0.0, excess - 3.0) / 4.0)
    return _Plan(
        target=target,
        threshold=10.0 ** ((ceiling - MARGIN_DB) / 20.0),
        comp_ratio=ratio,
        comp_threshold=target + 4.0,
        transient_share=TRANSIENT_MAX_DB if excess > 0.0 else 0.0,
    )


def _gain_curve(a: _Analysis, plan: _Plan, gain_db: float) -> np.ndarray:
    """Total gain in dB at the HOP control rate for an input gain of `gain_db`."""
    sr = a.sr
    steps = len(a.peak_hop)
    total = np.full(steps, gain_db)
    if plan.comp_ratio > 1.0:
        comp = _compressor_gain(
            a.level_comp + gain_db,
            plan.comp_threshold,
            plan.comp_ratio,
            knee=10.0,
            attack=max(1, round(0.015 * sr / COMP_HOP)),
            rel=12.0 * COMP_HOP / sr,  # 12 dB/s: slow, glue-like recovery
        )
        t = np.arange(steps) * HOP / COMP_HOP
        total += np.interp(t, np.arange(len(comp)), comp)

    # Peaks within each hop, scaled by the largest gain the hop sees (the gain interpolates).
    def hop_peak(curve: np.ndarray) -> np.ndarray:
        upper = np.maximum(curve, np.append(curve[1:], curve[-1]))
        return a.peak_hop * 10.0 ** (upper / 20.0)

    if plan.transient_share > 0.0:
        peaks = hop_peak(total)
        top = db(float(peaks.max())) - db(plan.threshold)
        if top > 0.0:
            shave = min(plan.transient_share, TRANSIENT_FRACTION * top)
            fast_threshold = plan.threshold * 10.0 ** ((top - shave) / 20.0)
            total += _limiter_gain(
                peaks,
                fast_threshold,
                attack=max(1, round(0.0004 * sr / HOP)),
                release_db=TRANSIENT_RELEASE * HOP / sr,
                knee_db=2.0,
            )
    total += _limiter_gain(
        hop_peak(total),
        plan.threshold,
        attack=max(1, round(0.0015 * sr / HOP)),
        release_db=LIMITER_RELEASE * HOP / sr,
    )
    return total


def _model_lufs(a: _Analysis, curve_db: np.ndarray) -> float:
    """Loudness of input x gain without filtering again, at the control rate: K-weighting is
    linear and the gain moves slowly next to it, so K(g x) ~ g K(x)."""
    g2 = 10.0 ** (curve_db / 10.0)
    g2 = 0.5 * (g2 + np.append(g2[1:], g2[-1]))  # the gain glides between control points
    return gated_lufs(a.power_hop * g2, a.sr / HOP)


def _solve_gain(a: _Analysis, plan: _Plan, aim: float, start: float) -> tuple[np.ndarray, float]:
    """Secant search for the input gain (dB) whose output model lands on `aim` LUFS; returns
    the gain curve and that input gain."""
    g0 = start
    curve = _gain_curve(a, plan, g0)
    l0 = _model_lufs(a, curve)
    if abs(l0 - aim) < 0.02:
        return curve, g0
    g1 = g0 + (aim - l0)
    for _ in range(12):
        curve = _gain_curve(a, plan, g1)
        l1 = _model_lufs(a, curve)
        if abs(l1 - aim) < 0.02:
            break
        slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        slope = min(1.0, max(0.1, slope))  # limiting makes loudness grow slower than gain
        g0, l0 = g1, l1
        g1 = g1 + (aim - l1) / slope
    else:
        g1 = g0  # out of steps: keep the last gain that `curve` was computed for
    return curve, g1


def _output_bound(a: _Analysis, curve_db: np.ndarray) -> np.ndarray:
    """Per sample, an upper bound of the true peak of input x gain (gain `curve_db` at HOP).

    Where the gain holds still, the output's inter-sample peak is the input's times the gain;
    where it moves, by at most the input's level x how far the gain moves within the
    interpolator's reach (12 samples, inside one HOP either side) x the interpolator's
    gain. So the output is oversampled only where it can come near the line: at a
    streaming target that is one stretch in ten.
    """
    g = 10.0 ** (curve_db / 20.0)
    pairs = np.maximum(g, np.append(g[1:], g[-1]))  # the largest gain within each hop
    env = a.peak_hop

    def around(v: np.ndarray, op: np.ufunc) -> np.ndarray:  # over the hop and its neighbours
        out = v.copy()
        op(out[1:], v[:-1], out=out[1:])
        op(out[:-1], v[1:], out=out[:-1])
        return out

    moved = around(pairs, np.maximum) - around(np.minimum(g, np.append(g[1:], g[-1])), np.minimum)
    bound = pairs * env + around(env, np.maximum) * moved * interpolation_gain()
    return np.repeat(bound * (1.0 + 1e-4), HOP)[: a.n]  # 1e-4: float32 rounding of x * gain


def _measure_output(
    y: np.ndarray,
    sr: int,
    threshold_db: float,
    power: np.ndarray,
    bound: np.ndarray | None = None,
) -> tuple[Loudness, np.ndarray]:
    """The output's meters, and its oversampled envelope (exact from 1 dB under the line)."""
    peak = sample_peak(y)
    floor = min(10.0 ** ((threshold_db - 1.0) / 20.0), peak)
    envelope = true_peak_envelope(y, floor=floor, bound=bound)
    return (
        Loudness(
            lufs=gated_lufs(power, sr),
            lra=loudness_range(power, sr),
            true_peak=db(float(envelope.max())),
            sample_peak=db(peak),
        ),
        envelope,
    )


def master_to(audio: np.ndarray, sr: int, lufs: float, *, ceiling: float = -1.0) -> MasterResult:
    """Master to `lufs` integrated loudness (BS.1770-4) with true peak <= `ceiling` dBTP.

    Lands within 0.5 LU of the target (typically 0.1) with the true peak at least 0.1 dB under
    the ceiling. Deterministic. AudioInputError for silence, EngineInputError for targets out
    of range.
    """
    _check_targets(lufs, ceiling)
    x = as_frames(audio)
    if len(x) < MIN_SECONDS * sr:
        raise AudioInputError(
            f"The track is only {len(x) / sr:.2f} s long; mastering needs at least "
            f"{MIN_SECONDS:g} s of audio."
        )
    x, envelope = band_limited(x, sr)  # before any measuring: this is the signal we deliver
    threshold_db = ceiling - MARGIN_DB
    pre = k_weighted_power(x, sr)
    lufs_in = gated_lufs(pre, sr)
    if not math.isfinite(lufs_in) or lufs_in < SILENCE_LUFS:
        raise AudioInputError(SILENT_TRACK)
    a = _analyse(x, sr, pre, envelope)
    plan = _plan(a, lufs, ceiling)

    aim = lufs
    start = lufs - a.before.lufs
    for _ in range(3):
        curve, start = _solve_gain(a, plan, aim, start)
        y = apply_gain(x, curve, HOP)
        power = k_weighted_power(y, sr)  # loudness first: the true peak only once, at the end
        miss = gated_lufs(power, sr) - lufs
        if abs(miss) <= 0.1:
            break
        aim -= miss  # the model's bias is steady: correct the aim and solve again
    after, envelope = _measure_output(y, sr, threshold_db, power, _output_bound(a, curve))
    # Verify the true peak on the real output; tighten locally where the model was optimistic.
    if after.true_peak > ceiling - 0.1:
        y = _hold_ceiling(y, envelope, threshold_db, sr)
        power = k_weighted_power(y, sr)
        after, _ = _measure_output(y, sr, threshold_db, power)
    return MasterResult(audio=y, before=a.before, after=after)


def _hold_ceiling(y: np.ndarray, envelope: np.ndarray, line_db: float, sr: int) -> np.ndarray:
    """Limit `y` (with its oversampled `envelope`) until its true peak is under `line_db` +
    HOLD_SLACK_DB. Gain-only, so the loudness barely moves: only the peaks that cross are
    touched."""
    line = 10.0 ** (line_db / 20.0)
    for attempt in range(4):
        if float(envelope.max()) <= line * 10.0 ** (HOLD_SLACK_DB / 20.0):
            break
        fix = _limiter_gain(
            kernels.hop_peaks(envelope, HOP),
            line * 10.0 ** (-0.05 * (attempt + 1) / 20.0),
            attack=max(1, round(0.0015 * sr / HOP)),
            release_db=LIMITER_RELEASE * HOP / sr,
        )
        y = apply_gain(y, fix, HOP)
        envelope = true_peak_envelope(y, floor=min(line * 0.7, sample_peak(y)))
    return y


def limit_true_peak(audio: np.ndarray, sr: int, ceiling: float = -1.0) -> np.ndarray:
    """Hold the true peak of `audio` at or under `ceiling` - MARGIN_DB + HOLD_SLACK_DB dBTP
    (0.1 dB under `ceiling`) with the look-ahead limiter alone: no loudness target. Audio
    already under the line is returned unchanged. Used to make room for lossy encoders'
    overshoot."""
    x, envelope = band_limited(as_frames(audio), sr)
    if sample_peak(x) == 0.0:
        return x
    return _hold_ceiling(x, envelope, ceiling - MARGIN_DB, sr)


# ---------------------------------------------------------------------------------------------
# Reference mastering

EQ_LIMIT_DB = 9.0  # the matching EQ never moves a band more than this
EQ_TAPS = 2049  # linear-phase FIR: ~22 Hz resolution at 44.1 kHz, enough for 1/3 octaves
_EQ_LOW_HZ, _EQ_HIGH_HZ = 30.0, 18000.0


def _third_octave_centres(sr: int) -> np.ndarray:
    k = np.arange(-17, 14)  # 20 Hz .. 20 kHz around 1 kHz
    centres = 1000.0 * 2.0 ** (k / 3.0)
    return centres[(centres >= 20.0) & (centres < 0.45 * sr)]


def _band_levels(x: np.ndarray, sr: int, centres: np.ndarray) -> np.ndarray:
    """Long-term power (dB) per 1/3-octave band of the mid channel (Welch average)."""
    mid = x.mean(axis=1)
    f, pxx = signal.welch(mid, fs=sr, nperseg=8192, noverlap=4096)
    edges_lo, edges_hi = centres * 2.0 ** (-1 / 6), centres * 2.0 ** (1 / 6)
    levels = np.empty(len(centres))
    for i, (lo, hi) in enumerate(zip(edges_lo, edges_hi, strict=True)):
        band = pxx[(f >= lo) & (f < hi)]
        levels[i] = 10.0 * np.log10(band.mean() + 1e-20) if len(band) else -200.0
    return levels


def match_eq_curve(
    audio: np.ndarray, reference: np.ndarray, sr: int
) -> tuple[np.ndarray, np.ndarray]:
    """(band centres Hz, gain dB) that move `audio`'s long-term tonal balance toward the
    reference's: the smoothed ratio of their 1/3-octave spectra, level-neutral (the loudness
    stage sets the level), limited to +-EQ_LIMIT_DB."""
    centres = _third_octave_centres(sr)
    diff = _band_levels(reference, sr, centres) - _band_levels(audio, sr, centres)
    # Neighbouring bands smooth the curve (a 1-2-1 kernel): broad tonal moves, not notches.
    diff = np.convolve(np.pad(diff, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    useful = (centres >= _EQ_LOW_HZ) & (centres <= _EQ_HIGH_HZ)
    diff = np.where(useful, diff, np.interp(centres, centres[useful], diff[useful]))
    diff -= np.median(diff[useful])  # tone, not level
    return centres, np.clip(diff, -EQ_LIMIT_DB, EQ_LIMIT_DB)


def _eq_fir(centres: np.ndarray, gain_db: np.ndarray, sr: int) -> np.ndarray:
    nyq = sr / 2.0
    freq = np.concatenate([[0.0], centres, [nyq]])
    gains = np.concatenate([[gain_db[0]], gain_db, [gain_db[-1]]])
    return signal.firwin2(EQ_TAPS, freq / nyq, 10.0 ** (gains / 20.0)).astype(np.float32)


def apply_eq(x: np.ndarray, centres: np.ndarray, gain_db: np.ndarray, sr: int) -> np.ndarray:
    """Linear-phase FIR EQ through the given (centre, gain) points; same length as `x`."""
    taps = _eq_fir(centres, gain_db, sr)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        out[:, c] = signal.oaconvolve(x[:, c], taps, mode="same")
    return out


def master_to_reference(
    audio: np.ndarray,
    sr: int,
    reference: np.ndarray,
    *,
    amount: float = 1.0,
    ceiling: float = -1.0,
    lufs: float | None = None,
) -> MasterResult:
    """Master `audio` toward a reference track: its integrated loudness (unless `lufs` is
    given) and its long-term spectral balance. `amount` (0..1) blends both moves: 0 keeps the
    track's own tone and loudness, 1 matches the reference."""
    if not (0.0 <= amount <= 1.0):
        raise EngineInputError(f"The amount must be between 0 and 1, not {amount:g}.")
    x = as_frames(audio)
    ref = as_frames(reference)
    ref_lufs = gated_lufs(k_weighted_power(ref, sr), sr)
    if not math.isfinite(ref_lufs) or ref_lufs < SILENCE_LUFS:
        raise AudioInputError("The reference track is silent; pick one with music in it.")
    own = gated_lufs(k_weighted_power(x, sr), sr)
    if not math.isfinite(own) or own < SILENCE_LUFS:
        raise AudioInputError(SILENT_TRACK)
    if lufs is None:
        lo, hi = LUFS_RANGE
        lufs = min(hi, max(lo, own + amount * (ref_lufs - own)))
    centres, gain_db = match_eq_curve(x, ref, sr)
    shaped = apply_eq(x, centres, gain_db * amount, sr) if amount > 0 else x
    result = master_to(shaped, sr, lufs, ceiling=ceiling)
    return MasterResult(audio=result.audio, before=measure(x, sr), after=result.after)


# ---------------------------------------------------------------------------------------------
# A/B preview

PREVIEW_GAP = 0.6  # seconds of silence between "before" and "after"
PREVIEW_FADE = 0.03


def loudest_section(audio: np.ndarray, sr: int, seconds: float) -> tuple[int, int]:
    """(start, end) frames of the `seconds`-long stretch with the most K-weighted energy."""
    x = as_frames(audio)
    length = min(len(x), round(seconds * sr))
    if length >= len(x):
        return 0, len(x)
    csum = np.concatenate([[0.0], np.cumsum(k_weighted_power(x, sr))])
    hop = max(1, round(0.1 * sr))
    starts = np.arange(0, len(x) - length + 1, hop)
    energy = csum[starts + length] - csum[starts]
    start = int(starts[int(np.argmax(energy))])
    return start, start + length


def ab_preview(before: np.ndarray, after: np.ndarray, sr: int, seconds: float = 10.0) -> np.ndarray:
    """The loudest `seconds` of the track, first before then after mastering, both at the same
    integrated loudness (the quieter of the two), faded and separated by a short gap, so a
    listener compares tone and punch rather than volume."""
    a = as_frames(before)
    b = as_frames(after)
    n = min(len(a), len(b))
    start, end = loudest_section(b[:n], sr, seconds)
    clips = [a[start:end].copy(), b[start:end].copy()]
    levels = [gated_lufs(k_weighted_power(c, sr), sr) for c in clips]
    if not all(math.isfinite(v) for v in levels):
        raise AudioInputError(SILENT_TRACK)
    common = min(levels)
    fade = min(round(PREVIEW_FADE * sr), (end - start) // 4)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
    for clip, level in zip(clips, levels, strict=True):
        clip *= np.float32(10.0 ** ((common - level) / 20.0))
        if fade:
            clip[:fade] *= ramp
            clip[-fade:] *= ramp[::-1]
    channels = max(a.shape[1], b.shape[1])
    gap = np.zeros((round(PREVIEW_GAP * sr), channels), dtype=np.float32)
    widen = [np.repeat(c, channels // c.shape[1], axis=1) for c in clips]
    return np.concatenate([widen[0], gap, widen[1]]).astype(np.float32)
