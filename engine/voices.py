"""Pitched voices: basses, keys, pads, plucks, leads, mallets, winds.

Every voice is `voice(f, n, sr, held, brightness, mod_rate, seed) -> mono float64`, unscaled:
`f` is the frequency (a number, or a per-sample curve for glides and vibrato), `held` how long
the key is down (s), `mod_rate` a tempo-synced LFO rate (Hz) where the voice has one. Voices in
PAIRED take `seed` 0 for the left and 1 for the right of a stereo pair (engine.render), each
side with its own detune and phases: two players, not one copied.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine import kernels
from engine.synth import (
    envelope,
    noise,
    oscillator,
    phase,
    saw,
    sine,
    sos_filter,
    square,
    swept,
    timeline,
)

TWO_PI = 2.0 * np.pi


# --- shared shapes -----------------------------------------------------------------------------


def _vibrato(
    f: float | np.ndarray, n: int, sr: int, rate: float, cents: float, delay: float
) -> np.ndarray:
    t = timeline(n, sr)
    depth = cents * (np.log(2.0) / 1200.0) * np.clip((t - delay) / 0.2, 0.0, 1.0)
    # 2^(cents/1200) as 1 + cents ln2/1200: within 0.1 cent for a vibrato's 20 cents, and
    # a multiply where a power per sample cost more than the voice around it.
    return f * (1.0 + depth * sine(rate * t))


def _side_cents(cents: tuple[float, ...], seed: int) -> tuple[float, ...]:
    """The right side of a pair detunes the other way and a little wider, so left and right
    beat at different rates and never line up: that is what makes a pair wide."""
    return cents if seed % 2 == 0 else tuple(-1.12 * c for c in cents)


def _detuned_saws(
    f: float | np.ndarray, n: int, sr: int, cents: tuple[float, ...], seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    offsets = np.array([rng.uniform() for _ in cents])
    ratios = 2.0 ** (np.array(_side_cents(cents, seed)) / 1200.0)
    base, step = oscillator(f, n, sr)  # a detuned copy's phase is this one scaled: integrate once
    return kernels.saw_stack(base, np.atleast_1d(np.asarray(step, np.float64)), ratios, offsets)


def _mean(f: float | np.ndarray) -> float:
    return float(np.mean(f))


def _partials(
    base: float, n: int, sr: int, levels: list[tuple[float, float, float]], stretch: float = 0.0
) -> np.ndarray:
    """A sum of decaying sine partials: (ratio, level, decay rate 1/s) each, the ratio bent
    sharp by `stretch` x ratio² as stiff strings are; partials past 0.45 sr are left out."""
    t = timeline(n, sr)
    out = np.zeros(n)
    for ratio, level, rate in levels:
        fk = base * ratio * np.sqrt(1.0 + stretch * ratio * ratio)
        if fk > 0.45 * sr:
            break
        out += level * sine(fk * t) * np.exp(-t * rate)
    return out


# --- basses ------------------------------------------------------------------------------------


def v808(f, n, sr, held, b, mod_rate, seed):
    x = sine(phase(f, n, sr))
    env = envelope(n, sr, 0.002, held, 0.12, decay=2.0, sustain=0.35)
    drive = 1.3 + 2.5 * b  # saturation lets an 808 be heard on small speakers
    return np.tanh(drive * x * env) / np.tanh(drive)


def v808_dirty(f, n, sr, held, b, mod_rate, seed):
    """The distorted 808: a pitch punch at the start, an octave partial, hard clipping. Its
    harmonics (200 Hz - 1.5 kHz) carry the bass line on a phone; a low-pass at 1.8 kHz keeps
    the clipping from fizzing."""
    t = timeline(n, sr)
    ph = phase(f * (1.0 + 0.25 * np.exp(-t / 0.015)), n, sr)
    x = sine(ph) + 0.3 * sine(2.0 * ph)
    env = envelope(n, sr, 0.002, held, 0.12, decay=1.6, sustain=0.45)
    drive = 4.0 + 4.0 * b
    return sos_filter(np.tanh(drive * x * env) / np.tanh(drive), "lowpass", 1800.0, sr)


def vsub(f, n, sr, held, b, mod_rate, seed):
    return sine(phase(f, n, sr)) * envelope(n, sr, 0.006, held, 0.08)


def vbass(f, n, sr, held, b, mod_rate, seed):
    ph, step = oscillator(f, n, sr)
    x = 0.6 * saw(ph, step) + 0.4 * sine(ph)
    x = sos_filter(x, "lowpass", _mean(f) * (2.5 + 7 * b) + 150, sr)
    return x * envelope(n, sr, 0.004, held, 0.07, decay=0.35, sustain=0.65)


def vupright(f, n, sr, held, b, mod_rate, seed):
    """A plucked upright: a round fundamental, upper partials that die within a beat (a soft
    finger), and the thump of the string hitting the fingerboard."""
    t = timeline(n, sr)
    ph = phase(f, n, sr)
    x = np.zeros(n)
    for k, level in ((1, 1.0), (2, 0.55), (3, 0.25 + 0.15 * b), (4, 0.1 + 0.1 * b), (5, 0.05)):
        x += level * sine(k * ph) * np.exp(-t * (0.9 + 1.6 * k))
    thump = sos_filter(noise(n, seed), "lowpass", 350.0, sr) * np.exp(-t / 0.012)
    x += 0.25 * thump / (np.abs(thump).max() or 1.0)
    return x * envelope(n, sr, 0.004, held, 0.08, decay=1.0, sustain=0.3)


def vfm_bass(f, n, sr, held, b, mod_rate, seed):
    """Two-operator FM at ratio 1: a bright slap of harmonics that settles to a round tone
    within a 16th, the electric-piano-era synth bass (r&b, house)."""
    t = timeline(n, sr)
    ph = phase(f, n, sr)
    index = (1.0 + 2.5 * b) * np.exp(-t / 0.12) + 0.5
    x = sine(ph + index / TWO_PI * sine(ph))
    return x * envelope(n, sr, 0.003, held, 0.06, decay=0.5, sustain=0.7)


def vacid(f, n, sr, held, b, mod_rate, seed):
    """A 303-style line: a saw through a resonant low-pass whose cutoff snaps open at each note
    and falls back (the squelch), then a little drive."""
    t = timeline(n, sr)
    ph, step = oscillator(f, n, sr)
    base = _mean(f)
    cutoff = base * (1.5 + (3.0 + 9.0 * b) * np.exp(-t / 0.09)) + 150.0
    x = swept(saw(ph, step), cutoff, sr, (0.18,), "lowpass")  # Q 5.5: the resonant peak
    x = sos_filter(np.tanh(1.8 * x), "highpass", 25.0, sr)  # the drive's offset taken out
    return x * envelope(n, sr, 0.003, held, 0.05, decay=0.25, sustain=0.6)


def vreese(f, n, sr, held, b, mod_rate, seed):
    x = _detuned_saws(f, n, sr, (-14.0, 0.0, 13.0), seed)
    x = sos_filter(x, "lowpass", 350 + 1100 * b, sr, order=4)
    x += 0.7 * sine(phase(f, n, sr))
    return x * envelope(n, sr, 0.01, held, 0.1)


def _growl(ph: np.ndarray, lfo: np.ndarray, sr: int, amount: float) -> np.ndarray:
    """The mid-range growl: FM with the modulator an octave up and its index swept by the
    wobble's LFO (the harmonics move like a mouth opening), clipped, then kept to 200 Hz-2 kHz:
    the band a dubstep bass talks in, above the sub and below the hats."""
    index = 1.0 + 5.0 * lfo
    talk = np.tanh(2.5 * sine(ph + index / TWO_PI * sine(2.0 * ph)))
    return amount * sos_filter(talk, "bandpass", (200.0, 2000.0), sr, order=2)


def vwobble(f, n, sr, held, b, mod_rate, seed):
    ph, step = oscillator(f, n, sr)
    raw = 0.6 * saw(ph, step) + 0.4 * square(ph * 1.005, step * 1.005)
    dark = sos_filter(raw, "lowpass", 180.0, sr, order=4)
    bright = sos_filter(raw, "lowpass", 1800 + 2500 * b, sr, order=2)
    rate = mod_rate or 2.0
    lfo = 0.5 - 0.5 * sine(rate * timeline(n, sr) + 0.25)  # 0..1, opening and closing
    x = dark + (bright - dark) * lfo
    x = np.tanh(2.0 * x) + 0.5 * sine(ph) + _growl(ph, lfo, sr, 0.8)
    return x * envelope(n, sr, 0.005, held, 0.08)


def vgrowl(f, n, sr, held, b, mod_rate, seed):
    """A riddim/neuro bass: the talking growl over a clean sine sub (the sub keeps the low end
    mono and steady while the mids move)."""
    ph = phase(f, n, sr)
    rate = mod_rate or 4.0
    lfo = 0.5 - 0.5 * sine(rate * timeline(n, sr) + 0.25)
    x = 0.9 * sine(ph) + _growl(ph, lfo, sr, 1.3 + 0.6 * b)
    return x * envelope(n, sr, 0.005, held, 0.08)


# --- keys --------------------------------------------------------------------------------------


def vrhodes(f, n, sr, held, b, mod_rate, seed):
    t = timeline(n, sr)
    ph = phase(f, n, sr)
    index = (0.4 + 1.4 * b) * np.exp(-t / 0.35)
    x = sine(ph + index / TWO_PI * sine(ph))
    tine = 0.2 * sine(4.0 * ph) * np.exp(-t / 0.04)  # two octaves up: in key
    tremolo = 1.0 - 0.12 * (0.5 + 0.5 * sine(4.5 * t))
    return (x + tine) * tremolo * envelope(n, sr, 0.003, held, 0.25, decay=1.2, sustain=0.4)


def vpiano(f, n, sr, held, b, mod_rate, seed):
    t = timeline(n, sr)
    base = _mean(f)
    tilt = 1.6 - 0.7 * b
    levels = [(k, 1.0 / k**tilt, 0.9 + 0.6 * k) for k in range(1, 11)]
    x = _partials(base, n, sr, levels, stretch=0.0004)  # strings are slightly inharmonic
    hammer = sos_filter(noise(n, seed), "bandpass", (base * 2, base * 12), sr) * np.exp(-t / 0.004)
    return (x + 0.15 * hammer) * envelope(n, sr, 0.002, held, 0.18)


def vfelt(f, n, sr, held, b, mod_rate, seed):
    """A felt piano (a cloth between hammer and strings): a slower, softer attack, upper
    partials that die fast, two strings per note a hair apart (a slow beat), and the thud of
    the felt instead of a hammer's click."""
    t = timeline(n, sr)
    base = _mean(f)
    tilt = 2.3 - 0.5 * b
    levels = [(k, 1.0 / k**tilt, 1.2 + 1.4 * k**1.3) for k in range(1, 7)]
    x = _partials(base, n, sr, levels, stretch=0.0003)
    x += _partials(base * 1.0011, n, sr, levels, stretch=0.0003)
    thud = sos_filter(noise(n, seed), "lowpass", 260.0, sr) * np.exp(-t / 0.015)
    x += 0.12 * thud / (np.abs(thud).max() or 1.0) * np.abs(x).max()
    return x * envelope(n, sr, 0.006, held, 0.35)


def vorgan(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 6.2, 10.0, 0.0)  # a slow rotary shimmer
    ph = phase(freq, n, sr)
    bars = ((0.5, 0.5), (1.0, 1.0), (2.0, 0.6), (3.0, 0.35 + 0.3 * b), (4.0, 0.2 + 0.3 * b))
    x = sum(level * sine(ratio * ph) for ratio, level in bars)
    return x * envelope(n, sr, 0.008, held, 0.06)


def vstab(f, n, sr, held, b, mod_rate, seed):
    """A house chord stab: detuned saws whose filter snaps shut in 80 ms, a short body and a
    quick release, so a chord on the off-beat punches and gets out of the way."""
    t = timeline(n, sr)
    x = _detuned_saws(f, n, sr, (-9.0, 0.0, 9.0), seed)
    base = _mean(f)
    bright = sos_filter(x, "lowpass", base * (6 + 8 * b), sr)
    dark = sos_filter(x, "lowpass", base * 1.3, sr)
    snap = np.exp(-t / 0.08)
    return (dark + (bright - dark) * snap) * envelope(
        n, sr, 0.002, held, 0.1, decay=0.18, sustain=0.35
    )


# --- pads, strings, brass ----------------------------------------------------------------------


def vpad(f, n, sr, held, b, mod_rate, seed):
    x = _detuned_saws(f, n, sr, (-12.0, -5.0, 4.0, 11.0), seed)
    x = sos_filter(x, "lowpass", _mean(f) * (1.5 + 4 * b) + 300, sr)
    return x * envelope(n, sr, 0.35, held, 0.5)


def vsupersaw(f, n, sr, held, b, mod_rate, seed):
    # Eight saws as a pair: each side plays every other one of the stack, so together they
    # are the classic seven-ish and each side beats on its own (and renders at half cost).
    stack = (-27.0, -19.0, -11.0, -4.0, 4.0, 11.0, 19.0, 27.0)
    x = _detuned_saws(f, n, sr, stack[seed % 2 :: 2], seed)
    x = sos_filter(x, "lowpass", 2500 + 6000 * b, sr)
    return x * envelope(n, sr, 0.02, held, 0.25)


def vstrings(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 5.0 + 0.3 * (seed % 2), 9.0, 0.3)
    x = _detuned_saws(freq, n, sr, (-8.0, 0.0, 9.0), seed)
    x = sos_filter(x, "lowpass", _mean(f) * (2 + 4 * b) + 800, sr)
    return x * envelope(n, sr, 0.25, held, 0.4)


def vbrass(f, n, sr, held, b, mod_rate, seed):
    """A horn section (a pair: two players): the filter opens as the player blows in (the
    "bwah"), a delayed vibrato, a short fall at the release."""
    t = timeline(n, sr)
    freq = _vibrato(f, n, sr, 5.2 + 0.4 * (seed % 2), 12.0, 0.25)
    x = _detuned_saws(freq, n, sr, (-6.0, 0.0, 7.0), seed)
    base = _mean(f)
    blow = 1.0 - np.exp(-t / 0.06)
    dark = sos_filter(x, "lowpass", base * 1.5, sr)
    bright = sos_filter(x, "lowpass", base * (3 + 5 * b) + 500, sr)
    return (dark + (bright - dark) * blow) * envelope(
        n, sr, 0.03, held, 0.15, decay=0.6, sustain=0.75
    )


# --- plucks, leads, mallets, winds -------------------------------------------------------------


def vpluck(f, n, sr, held, b, mod_rate, seed):
    t = timeline(n, sr)
    ph, step = oscillator(f, n, sr)
    x = 0.7 * saw(ph, step) + 0.3 * square(ph, step)
    bright = sos_filter(x, "lowpass", _mean(f) * (4 + 10 * b), sr)
    dark = sos_filter(x, "lowpass", _mean(f) * 1.5, sr)
    snap = np.exp(-t / 0.05)  # the filter closes quickly: a pluck
    return (dark + (bright - dark) * snap) * np.exp(-t / 0.35) * envelope(n, sr, 0.002, held, 0.1)


def vnylon(f, n, sr, held, b, mod_rate, seed):
    """A nylon-string pluck: plucked a sixth of the way along the string, so every 6th
    partial is missing (the hollow, woody colour), high partials dying first, a soft nail."""
    t = timeline(n, sr)
    base = _mean(f)
    levels = [
        (k, abs(np.sin(np.pi * k / 6.0)) / k ** (1.1 - 0.3 * b), 1.6 + 0.9 * k**1.4)
        for k in range(1, 13)
    ]
    x = _partials(base, n, sr, levels, stretch=0.00005)
    nail = sos_filter(noise(n, seed), "bandpass", (base * 2, base * 10), sr) * np.exp(-t / 0.003)
    return (x + 0.1 * nail) * envelope(n, sr, 0.001, held, 0.15)


def vlead(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 5.5, 18.0, 0.18)
    ph, step = oscillator(freq, n, sr)
    x = 0.6 * saw(ph, step) + 0.4 * square(ph * 1.003, step * 1.003)
    x = sos_filter(x, "lowpass", _mean(f) * (3 + 6 * b) + 400, sr)
    return x * envelope(n, sr, 0.01, held, 0.12, decay=0.4, sustain=0.8)


def vbell(f, n, sr, held, b, mod_rate, seed):
    t = timeline(n, sr)
    ph = phase(f, n, sr)
    index = (1.0 + 2.0 * b) * np.exp(-t / 0.6)
    # A whole-number ratio keeps the sidebands harmonic (a celesta-like bell): at 3.5 the
    # strongest partial sits a tenth up, out of key, and muddies the key for the listener.
    x = sine(ph + index / TWO_PI * sine(3.0 * ph))
    return x * np.exp(-t / 1.4) * envelope(n, sr, 0.002, held, 0.6)


def _mallet(f, n, sr, seed, body_decay: float, overtone: float, click: float) -> np.ndarray:
    """A struck bar: the fundamental, the partial two octaves up that a tuned bar is cut to
    (4x: in key; the bar's natural 10x partial is a major third off and is left out), and the
    mallet's tick."""
    t = timeline(n, sr)
    ph = phase(f, n, sr)
    x = sine(ph) * np.exp(-t / body_decay) + overtone * sine(4.0 * ph) * np.exp(-t / 0.07)
    tick = sos_filter(noise(n, seed), "bandpass", (2000.0, 6000.0), sr) * np.exp(-t / 0.002)
    return x + click * tick / (np.abs(tick).max() or 1.0)


def vmarimba(f, n, sr, held, b, mod_rate, seed):
    x = _mallet(f, n, sr, seed, 0.45, 0.3 + 0.2 * b, 0.15)
    return x * envelope(n, sr, 0.001, held, 0.3)


def vvibes(f, n, sr, held, b, mod_rate, seed):
    """Vibraphone: long-ringing bars and the motor's tremolo (5.5 Hz)."""
    t = timeline(n, sr)
    x = _mallet(f, n, sr, seed, 1.6, 0.2 + 0.15 * b, 0.06)
    tremolo = 1.0 - 0.3 * (0.5 + 0.5 * sine(5.5 * t))
    return x * tremolo * envelope(n, sr, 0.002, held, 0.5)


def vflute(f, n, sr, held, b, mod_rate, seed):
    """A breathy flute: nearly a sine (a few weak harmonics), a chiff of breath at the start
    that settles to a quiet hiss around the note, a delayed vibrato."""
    t = timeline(n, sr)
    freq = _vibrato(f, n, sr, 5.0, 14.0, 0.2)
    ph = phase(freq, n, sr)
    x = sine(ph) + (0.12 + 0.1 * b) * sine(2.0 * ph) + 0.04 * sine(3.0 * ph)
    base = _mean(f)
    breath = sos_filter(noise(n, seed), "bandpass", (base * 0.9, base * 4.0), sr)
    breath *= (0.35 + 0.65 * np.exp(-t / 0.06)) * 0.25 / (np.std(breath) or 1.0)
    return (x + breath) * envelope(n, sr, 0.05, held, 0.12)


def vguitar(f, n, sr, held, b, mod_rate, seed):
    """A driven guitar; as a pair, two takes (each side its own detune): double-tracked."""
    t = timeline(n, sr)
    side = 1.0 if seed % 2 == 0 else -1.0
    f = f * 2.0 ** (side * 3.0 / 1200.0)  # the second take is a few cents off the first
    ph, step = oscillator(f, n, sr)
    octave = 2.0 + side * 0.003
    string = (saw(ph, step) + 0.5 * saw(ph * octave, step * octave)) * np.exp(-t / 1.5)
    driven = np.tanh((4.0 + 6.0 * b) * string)  # the amp
    cabinet = sos_filter(
        sos_filter(driven, "lowpass", 3800 + 1500 * b, sr, 4), "highpass", 90.0, sr
    )
    return cabinet * envelope(n, sr, 0.003, held, 0.12)


# name: (voice, release tail in seconds)
VOICES: dict[str, tuple[Callable[..., np.ndarray], float]] = {
    "808": (v808, 0.15),
    "808_dirty": (v808_dirty, 0.15),
    "sub": (vsub, 0.1),
    "bass": (vbass, 0.09),
    "upright": (vupright, 0.1),
    "fm_bass": (vfm_bass, 0.08),
    "acid": (vacid, 0.06),
    "reese": (vreese, 0.12),
    "wobble": (vwobble, 0.1),
    "growl": (vgrowl, 0.1),
    "rhodes": (vrhodes, 0.3),
    "piano": (vpiano, 0.25),
    "felt": (vfelt, 0.4),
    "organ": (vorgan, 0.08),
    "stab": (vstab, 0.12),
    "pad": (vpad, 0.6),
    "supersaw": (vsupersaw, 0.3),
    "strings": (vstrings, 0.5),
    "brass": (vbrass, 0.18),
    "pluck": (vpluck, 0.12),
    "nylon": (vnylon, 0.2),
    "lead": (vlead, 0.15),
    "bell": (vbell, 0.8),
    "marimba": (vmarimba, 0.35),
    "vibes": (vvibes, 0.6),
    "flute": (vflute, 0.15),
    "guitar": (vguitar, 0.15),
}
# Voices rendered as a stereo pair (seed 0 left, seed 1 right): sections of players and
# detuned stacks, whose width comes from the two sides differing. Cost: each paired note
# renders twice (a 1.5 s pad side 3 ms, once per distinct note), and adds twice per beat;
# the supersaw splits its stack between the sides, so its pair costs what one voice did.
PAIRED = frozenset({"pad", "supersaw", "strings", "brass", "stab", "guitar"})
