"""Compiled inner loops (numba) for the per-sample passes of the mix and the master.

Each kernel is one loop over the samples where numpy would make several trips over a 10 MB
array (abs, reduce, interpolate, multiply, widen ...), so it costs one read and one write
per sample. They compute in float32 in the same order as the numpy expressions they stand
for (no fast-math where rounding could differ), so a beat renders the same either way; the
tests hold each kernel to its numpy or scipy twin.

Compiled code is cached on disk beside this module: the first beat after installing
compiles it (a few seconds in all); every later process loads it in about half a second.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np


def _compiled(*, fastmath: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Compile the function with numba at its first call. numba itself is imported then too:
    it costs a process ~0.3 s to import, which the commands that never render (`beatbot
    parse`, a refused request) shouldn't pay."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        compiled: Callable[..., Any] | None = None

        @functools.wraps(fn)
        def call(*args: Any) -> Any:
            nonlocal compiled
            if compiled is None:
                import numba

                compiled = numba.njit(cache=True, nogil=True, fastmath=fastmath)(fn)
            return compiled(*args)

        return call

    return decorate


_jit = _compiled()
# Only for maxima: max is exact in any order, so letting LLVM vectorise the reduction
# changes nothing but the speed.
_jit_max = _compiled(fastmath=True)


@_jit_max
def hop_peaks(flat: np.ndarray, span: int) -> np.ndarray:
    """Largest |value| of each run of `span` values of a contiguous array (float32; the last
    run may be short): per hop of interleaved frames, span = hop x channels."""
    n = flat.shape[0]
    steps = (n + span - 1) // span
    out = np.empty(steps, np.float32)
    for step in range(steps):
        peak = np.float32(0.0)
        for i in range(step * span, min(n, (step + 1) * span)):
            peak = max(peak, abs(flat[i]))
        out[step] = peak
    return out


@_jit
def apply_curve(flat: np.ndarray, channels: int, gains: np.ndarray, hop: int, out: np.ndarray):
    """out = audio x gain, for interleaved audio and `out` (contiguous). The gain runs in a
    straight line from gains[k] at frame k*hop to the next; the last holds, frames past the
    curve get 0. Mono audio into a wider `out` lands centred in every channel; `out` may be
    `flat` itself. Mono and stereo have their own loops: those are the ones LLVM vectorises
    (a row buffer whose size it can see, one multiply per value)."""
    n = flat.shape[0] // channels
    wide = out.shape[0] // n if n else channels
    frac = np.arange(hop).astype(np.float32) / np.float32(hop)
    row = np.empty(2 * hop, np.float32)
    steps = min(gains.shape[0], (n + hop - 1) // hop)
    for step in range(steps):
        base = step * hop
        level = gains[step]
        slope = (gains[step + 1] if step + 1 < gains.shape[0] else level) - level
        count = min(hop, n - base)
        if wide == 2 and channels <= 2:
            for p in range(count):
                gain = slope * frac[p] + level
                row[2 * p] = gain
                row[2 * p + 1] = gain
            first = 2 * base
            if channels == 2:
                for q in range(2 * count):
                    out[first + q] = flat[first + q] * row[q]
            else:  # mono, centred in both channels
                for q in range(2 * count):
                    out[first + q] = flat[base + q // 2] * row[q]
        elif channels == 1 and wide == 1:
            for p in range(count):
                row[p] = slope * frac[p] + level
            for p in range(count):
                out[base + p] = flat[base + p] * row[p]
        else:
            for p in range(count):
                gain = slope * frac[p] + level
                for c in range(wide):
                    i = (base + p) * wide + c
                    out[i] = flat[(base + p) * channels + min(c, channels - 1)] * gain
    out[steps * hop * wide :] = 0.0
    return out


@_jit
def add_upsampled(out: np.ndarray, low: np.ndarray, factor: int) -> np.ndarray:
    """Add (2, frames) audio at 1/`factor` of out's rate into interleaved stereo `out`,
    linearly interpolated (each value glides to the next; the last glides to silence)."""
    n = out.shape[0] // 2
    frac = np.arange(factor).astype(np.float32) / np.float32(factor)
    steps = min(low.shape[1], (n + factor - 1) // factor)
    for k in range(steps):
        base = k * factor
        left, right = low[0, k], low[1, k]
        last = k + 1 >= low.shape[1]
        to_left = (np.float32(0.0) if last else low[0, k + 1]) - left
        to_right = (np.float32(0.0) if last else low[1, k + 1]) - right
        for p in range(min(factor, n - base)):
            out[2 * (base + p)] += to_left * frac[p] + left
            out[2 * (base + p) + 1] += to_right * frac[p] + right
    return out


@_jit
def ping_pong(audio: np.ndarray, lag: int, feedback: float, mix: float) -> np.ndarray:
    """A ping-pong echo of (frames, channels) float32 audio, out (frames, 2): the mid is sent
    into the left line; each repeat crosses to the other side (`lag` frames later, `feedback`
    as loud), so the echoes bounce left, right, left ... Out = dry*(1-mix) + mix*echo. The
    lines reach back a whole lag, so they run a lag-long block at a time from the block
    before: each block is a straight loop LLVM can vectorise."""
    frames, channels = audio.shape
    out = np.empty((frames, 2), np.float32)
    if not 0 < lag < frames:
        lag = max(frames, 1)  # no repeat lands inside the audio: one block, dry
    fb = np.float32(feedback)
    dry = np.float32(1.0 - mix)
    wet = np.float32(mix)
    half = np.float32(0.5)
    last = channels - 1
    left = np.zeros(lag, np.float32)  # the lines over the block before
    right = np.zeros(lag, np.float32)
    new_left = np.zeros(lag, np.float32)
    new_right = np.zeros(lag, np.float32)
    for start in range(0, frames, lag):
        count = min(lag, frames - start)
        if start >= lag:
            for j in range(count):
                back = start - lag + j
                send = (audio[back, 0] + audio[back, last]) * half
                new_left[j] = send + fb * right[j]
                new_right[j] = fb * left[j]
        for j in range(count):
            out[start + j, 0] = audio[start + j, 0] * dry + wet * new_left[j]
            out[start + j, 1] = audio[start + j, last] * dry + wet * new_right[j]
        left, new_left = new_left, left
        right, new_right = new_right, right
    return out


@_jit
def soft_clip(flat: np.ndarray, knee: float, room: float) -> None:
    """In place: every |value| over `knee` folded toward knee + room along a tanh (slope 1 at
    the knee, so the curve has no corner); values under the knee untouched. (Spelled as two
    one-sided tests: an abs() and a sign pick in one branch ran 25x slower.)"""
    k = np.float32(knee)
    r = np.float32(room)
    inverse = np.float32(1.0) / r
    for i in range(flat.shape[0]):
        value = flat[i]
        if value > k:
            flat[i] = k + r * math.tanh((value - k) * inverse)
        elif value < -k:
            flat[i] = -(k + r * math.tanh((-value - k) * inverse))


@_jit
def polyblep_wave(cycles: np.ndarray, steps: np.ndarray, square: bool) -> np.ndarray:
    """A band-limited saw (rising, -1..1; `square` False) or square (+-1) at phase `cycles`,
    advancing `steps` per sample (one value for a fixed pitch, else one per sample): the
    naive wave with a PolyBLEP residual rounding each step over the two samples around it.
    One pass, where the numpy form took a dozen masked passes per oscillator."""
    n = cycles.shape[0]
    out = np.empty(n)
    fixed = steps.shape[0] == 1
    for i in range(n):
        step = steps[0] if fixed else steps[i]
        # The edges: a saw falls by 2 at t = 0 (t its phase shifted half a cycle, so it
        # rises through 0 mid-cycle); a square rises by 2 at t = 0 and falls at t = 0.5.
        t = cycles[i] + (0.0 if square else 0.5)
        t -= np.floor(t)
        value = (1.0 if t < 0.5 else -1.0) if square else 2.0 * t - 1.0
        for edge in range(2 if square else 1):
            u = t if edge == 0 else t + 0.5 - np.floor(t + 0.5)
            residual = 0.0
            if u < step:
                x = u / step
                residual = x + x - x * x - 1.0
            elif u > 1.0 - step:
                x = (u - 1.0) / step
                residual = x * x + x + x + 1.0
            sign = 1.0 if (square and edge == 0) else -1.0  # a rise adds it, a fall takes it
            value += sign * residual
        out[i] = value
    return out


@_jit
def saw_stack(
    cycles: np.ndarray, steps: np.ndarray, ratios: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """The mean of band-limited saws (as polyblep_wave's) at `cycles` x each ratio + its
    phase offset: a detuned stack in one pass, with no array per voice."""
    n = cycles.shape[0]
    voices = ratios.shape[0]
    out = np.zeros(n)
    fixed = steps.shape[0] == 1
    scale = 1.0 / voices
    for i in range(n):
        base_step = steps[0] if fixed else steps[i]
        total = 0.0
        for v in range(voices):
            step = base_step * ratios[v]
            t = cycles[i] * ratios[v] + offsets[v] + 0.5
            t -= np.floor(t)
            value = 2.0 * t - 1.0
            if t < step:
                x = t / step
                value -= x + x - x * x - 1.0
            elif t > 1.0 - step:
                x = (t - 1.0) / step
                value -= x * x + x + x + 1.0
            total += value
        out[i] = total * scale
    return out


@_jit
def mid_side(audio: np.ndarray, sos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mid, side) of (frames, 2) float32 audio, the side through the filter `sos` (second-
    order sections, scipy's layout and direct form II transposed, in double precision)."""
    frames = audio.shape[0]
    sections = sos.shape[0]
    mid = np.empty(frames, np.float32)
    side = np.empty(frames, np.float32)
    z1 = np.zeros(sections)
    z2 = np.zeros(sections)
    for i in range(frames):
        left = np.float64(audio[i, 0])
        right = np.float64(audio[i, 1])
        mid[i] = (left + right) * 0.5
        x = (left - right) * 0.5
        for k in range(sections):
            y = sos[k, 0] * x + z1[k]
            z1[k] = sos[k, 1] * x - sos[k, 4] * y + z2[k]
            z2[k] = sos[k, 2] * x - sos[k, 5] * y
            x = y
        side[i] = x
    return mid, side


@_jit
def left_right(mid: np.ndarray, side: np.ndarray, gain: float) -> np.ndarray:
    """(frames, 2) float32: left = mid + gain side, right = mid - gain side."""
    out = np.empty((mid.shape[0], 2), np.float32)
    g = np.float32(gain)
    for i in range(mid.shape[0]):
        out[i, 0] = mid[i] + g * side[i]
        out[i, 1] = mid[i] - g * side[i]
    return out


@_jit
def centred_mono(audio: np.ndarray) -> np.ndarray:
    """Channel 0 of (frames, 2) audio as a contiguous (frames, 1) array when both channels
    are identical (mono in stereo clothes), else an empty (0, 1) array. One pass that stops
    at the first difference."""
    n = audio.shape[0]
    mono = np.empty((n, 1), np.float32)
    for i in range(n):
        left = audio[i, 0]
        if left != audio[i, 1]:
            return np.empty((0, 1), np.float32)
        mono[i, 0] = left
    return mono


@_jit
def biquad_power(
    left: np.ndarray, right: np.ndarray, sos: np.ndarray, stereo: bool, out: np.ndarray
) -> None:
    """Add the power of one channel (or, with `stereo`, of a pair) through the float32 SOS
    cascade `sos` (two direct-form-II-transposed sections, scipy's sosfilt) into `out`."""
    b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    c0, c1, c2, d1, d2 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    zero = np.float32(0.0)
    l1 = l2 = m1 = m2 = r1 = r2 = s1 = s2 = zero
    for i in range(left.shape[0]):
        x = left[i]
        y = b0 * x + l1
        l1 = b1 * x - a1 * y + l2
        l2 = b2 * x - a2 * y
        k = c0 * y + m1
        m1 = c1 * y - d1 * k + m2
        m2 = c2 * y - d2 * k
        power = k * k
        if stereo:  # spelled out again, not a loop over channels: the chains then overlap
            x = right[i]
            y = b0 * x + r1
            r1 = b1 * x - a1 * y + r2
            r2 = b2 * x - a2 * y
            k = c0 * y + s1
            s1 = c1 * y - d1 * k + s2
            s2 = c2 * y - d2 * k
            power += k * k
        out[i] += power


@_jit_max
def track_peaks(best: np.ndarray, windows: np.ndarray) -> None:
    """best[r, k] = max(best[r, k], |re|, |im| of windows[r, k]) over best's columns: the
    running peak of two real signals packed as one complex one."""
    rows, width = best.shape
    for r in range(rows):
        for k in range(width):
            value = windows[r, k]
            best[r, k] = max(best[r, k], abs(value.real), abs(value.imag))


# A filter state under this is silence (-600 dB); flushing it to zero keeps the arithmetic off
# denormal numbers, which the CPU handles in microcode.
TINY = 1e-30


@_jit
def sweep_filter(
    audio: np.ndarray,
    start: int,
    stop: int,
    g: np.ndarray,
    hop: int,
    damping: np.ndarray,
    highpass: bool,
    fade: int,
) -> None:
    """In place on (frames, channels <= 2) float32 `audio`: frames [start, stop) through a
    cascade of one or two two-pole state-variable filters (topology-preserving, Zavalishin's;
    one stage per value of `damping` = 1/Q), low- or high-pass. The cutoff comes as
    g = tan(pi fc / sr) every `hop` frames from `start`; each stage's coefficients are
    worked out there and held to the next (no division per sample; at 16 frames a step is
    far finer than a sweep moves). This filter stays stable and smooth however fast the
    cutoff moves, where a biquad's recomputed coefficients click. The first and last `fade`
    frames blend dry into filtered and back, so switching the filter in and out is silent.
    State is kept in double precision: a float32 state hisses at low cutoffs."""
    channels = audio.shape[1]
    stages = damping.shape[0]
    steps = g.shape[0]
    # Per control point and stage: a1 = 1 / (1 + g (g + k)), a2 = g a1, a3 = g a2.
    coef = np.empty((steps, stages, 3))
    for h in range(steps):
        for s in range(stages):
            a1 = 1.0 / (1.0 + g[h] * (g[h] + damping[s]))
            coef[h, s, 0] = a1
            coef[h, s, 1] = g[h] * a1
            coef[h, s, 2] = g[h] * g[h] * a1
    # Up to two stages on up to two channels, the state in named scalars: held in
    # registers, where arrays of state cost a store and a load per sample (3x slower).
    k0 = damping[0]
    k1 = damping[1] if stages > 1 else 0.0
    la1 = la2 = lb1 = lb2 = ra1 = ra2 = rb1 = rb2 = 0.0  # (left|right)(stage a|b)(ic1|ic2)
    first = max(0, start)
    last = min(stop, audio.shape[0])
    for i in range(first, last):
        pos = i - start
        step = min(pos // hop, steps - 1)
        p1, p2, p3 = coef[step, 0, 0], coef[step, 0, 1], coef[step, 0, 2]
        q1 = q2 = q3 = 0.0
        if stages > 1:
            q1, q2, q3 = coef[step, 1, 0], coef[step, 1, 1], coef[step, 1, 2]
        blend = 1.0
        if pos < fade:
            blend = (pos + 0.5) / fade
        elif stop - 1 - i < fade:
            blend = (stop - i - 0.5) / fade
        for c in range(channels):
            x = np.float64(audio[i, c])
            s1, s2 = (la1, la2) if c == 0 else (ra1, ra2)
            v3 = x - s2
            v1 = p1 * s1 + p2 * v3
            v2 = s2 + p2 * s1 + p3 * v3
            s1, s2 = 2.0 * v1 - s1, 2.0 * v2 - s2
            if abs(s1) < TINY and abs(s2) < TINY:
                s1 = s2 = 0.0  # a state decaying in silence turns denormal: 25x slower
            v = x - k0 * v1 - v2 if highpass else v2
            if c == 0:
                la1, la2 = s1, s2
            else:
                ra1, ra2 = s1, s2
            if stages > 1:
                t1, t2 = (lb1, lb2) if c == 0 else (rb1, rb2)
                v3 = v - t2
                v1 = q1 * t1 + q2 * v3
                v2 = t2 + q2 * t1 + q3 * v3
                t1, t2 = 2.0 * v1 - t1, 2.0 * v2 - t2
                if abs(t1) < TINY and abs(t2) < TINY:
                    t1 = t2 = 0.0
                v = v - k1 * v1 - v2 if highpass else v2
                if c == 0:
                    lb1, lb2 = t1, t2
                else:
                    rb1, rb2 = t1, t2
            audio[i, c] = x + (v - x) * blend


@_jit
def modulated_delay(audio: np.ndarray, delay: np.ndarray, hop: int, circular: bool) -> np.ndarray:
    """(frames, 2) float32 `audio` read back `delay` frames late (fractional, linear
    interpolation), the delay given every `hop` frames and linear in between: a tape's
    moving read head. Before the start it reads silence, or with `circular` (a loop) the
    loop's end. The two channels are spelled out: a loop over them runs at half the speed."""
    frames = audio.shape[0]
    out = np.zeros_like(audio)
    last = delay.shape[0] - 1
    for step in range((frames + hop - 1) // hop):
        here = delay[min(step, last)]
        slope = (delay[min(step + 1, last)] - here) / hop
        base = step * hop
        for p in range(min(hop, frames - base)):
            pos = (base + p) - (here + slope * p)
            if pos < 0.0:
                if not circular:
                    continue
                pos += frames
            j = int(pos)
            w = np.float32(pos - j)
            k = j + 1
            if k >= frames:
                j = min(j, frames - 1)
                k = 0 if circular else j
            a0 = audio[j, 0]
            a1 = audio[j, 1]
            out[base + p, 0] = a0 + (audio[k, 0] - a0) * w
            out[base + p, 1] = a1 + (audio[k, 1] - a1) * w
    return out


@_jit
def stereo_chorus(
    dry: np.ndarray,
    delay: np.ndarray,
    hop: int,
    wet: float,
    gains: np.ndarray,
    circular: bool,
    out: np.ndarray,
) -> None:
    """Add mono `dry` (frames,) into stereo `out` (frames, 2) through a mid/side chorus:
    with m = dry read `delay` frames late (every `hop` frames, linear in between; read as
    modulated_delay reads), out[:, 0] += gains[0] (dry + wet m), out[:, 1] += gains[1] (dry -
    wet m). Only the span where `dry` sounds (and its delayed copy) is touched."""
    frames = dry.shape[0]
    first = 0
    while first < frames and dry[first] == 0.0:
        first += 1
    if first == frames:
        return
    last_sound = frames - 1
    while dry[last_sound] == 0.0:
        last_sound -= 1
    begin = 0 if circular else first
    end = frames if circular else min(frames, last_sound + int(np.ceil(delay.max())) + 2)
    last = delay.shape[0] - 1
    wet_left = np.float32(wet * gains[0])
    wet_right = np.float32(-wet * gains[1])
    dry_left = np.float32(gains[0])
    dry_right = np.float32(gains[1])
    for step in range(begin // hop, (end + hop - 1) // hop):
        base = step * hop
        here = delay[min(step, last)]
        slope = (delay[min(step + 1, last)] - here) / hop
        for p in range(max(0, begin - base), min(hop, end - base)):
            i = base + p
            pos = i - (here + slope * p)
            moved = np.float32(0.0)
            if pos < 0.0 and circular:
                pos += frames
            if pos >= 0.0:
                j = int(pos)
                k = j + 1
                if k >= frames:
                    j = min(j, frames - 1)
                    k = 0 if circular else j
                moved = dry[j] + (dry[k] - dry[j]) * np.float32(pos - j)
            x = dry[i]
            out[i, 0] += dry_left * x + wet_left * moved
            out[i, 1] += dry_right * x + wet_right * moved


def warm() -> None:
    """Compile (or load from the disk cache) every kernel for the array layouts a beat uses,
    so a render process's first beat doesn't pay for it (about half a second)."""
    frames = np.zeros((64, 2), np.float32)
    flat = frames.reshape(-1)
    gains = np.ones(4, np.float32)
    hop_peaks(flat, 32)
    for channels, out in ((1, np.empty(64, np.float32)), (1, flat.copy()), (2, flat.copy())):
        apply_curve(flat[: 64 * channels], channels, gains, 16, out)
    add_upsampled(flat, np.zeros((2, 16), np.float32), 4)
    biquad_power(frames[:, 0], frames[:, 1], np.ones((2, 6), np.float32), True, np.zeros(64))
    track_peaks(np.zeros((1, 4), np.float32), np.zeros((1, 8), np.complex64))
    centred_mono(frames)
    mid, side = mid_side(frames, np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]]))
    left_right(mid, side, 1.0)
    ping_pong(frames, 8, 0.3, 0.2)
    soft_clip(flat.copy(), 0.5, 0.2)
    saw_stack(np.zeros(8), np.full(1, 0.01), np.ones(2), np.zeros(2))
    for square in (False, True):
        polyblep_wave(np.zeros(8), np.full(1, 0.01), square)
        polyblep_wave(np.zeros(8), np.full(8, 0.01), square)
    ping_pong(frames[:, :1].copy(), 8, 0.3, 0.2)
    sweep_filter(frames.copy(), 0, 64, np.full(4, 0.5), 16, np.ones(2), False, 8)
    modulated_delay(frames, np.ones(4), 16, False)
    stereo_chorus(frames[:, 0].copy(), np.ones(4), 16, 0.5, np.ones(2), False, frames.copy())
