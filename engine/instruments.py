"""Every sound BeatBot plays, synthesized (no samples): drums, basses, keys, pads, leads.

Each voice is a few vectorised numpy/scipy operations on a whole note, so a beat's notes
render in milliseconds. Results are cached (same arguments -> the same read-only array), so a
drum pattern renders each distinct hit once. Callers copy or add, never write in place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from cachetools import LRUCache, cached
from pedalboard import HighpassFilter
from scipy import signal

from engine.errors import EngineInputError

DRUMS: tuple[str, ...] = (
    "kick",
    "snare",
    "clap",
    "rim",
    "hat_closed",
    "hat_open",
    "ride",
    "crash",
    "shaker",
    "conga",
    "tom",
    "cowbell",
)
KITS: tuple[str, ...] = ("808", "909", "acoustic", "dusty", "breakbeat", "jazz", "rock", "lofi")
INSTRUMENTS: tuple[str, ...] = (
    "808",
    "sub",
    "bass",
    "reese",
    "wobble",
    "rhodes",
    "piano",
    "organ",
    "pad",
    "pluck",
    "lead",
    "supersaw",
    "bell",
    "guitar",
    "strings",
)

_FADE_S = 0.003  # every sound starts and ends with a few ms of fade: never a click


# --- building blocks -------------------------------------------------------------------------


def hz(pitch: float) -> float:
    return float(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))


def _time(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sr


@lru_cache(maxsize=512)
def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int) -> np.ndarray:
    nyquist = 0.45 * sr
    if isinstance(cutoff, tuple):
        low, high = max(20.0, cutoff[0]), min(nyquist, cutoff[1])
        return signal.butter(order, (low, max(low * 1.1, high)), "bandpass", fs=sr, output="sos")
    return signal.butter(order, min(nyquist, max(20.0, cutoff)), kind, fs=sr, output="sos")


def _filter(
    x: np.ndarray, kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2
) -> np.ndarray:
    if isinstance(cutoff, float | int):
        cutoff = round(float(cutoff), -1) or 20.0  # round: keeps the filter cache small
    return signal.sosfilt(_sos(kind, cutoff, sr, order), x)


def _sine(cycles: np.ndarray | float) -> np.ndarray:
    """sin(2π·cycles) in single precision. The phase is wrapped to one cycle first, in double
    precision, so the float32 angle is off by at most ~4e-7 rad (-130 dB, far under anything
    heard) while numpy's vectorised float32 sine runs 15x faster than its float64 one."""
    c = np.asarray(cycles, dtype=np.float64)
    return np.sin(np.float32(2.0 * np.pi) * (c - np.floor(c)).astype(np.float32))


def _saw(phase: np.ndarray) -> np.ndarray:
    return 2.0 * (phase - np.floor(phase + 0.5))


def _square(phase: np.ndarray) -> np.ndarray:
    return np.where((phase % 1.0) < 0.5, 1.0, -1.0)


def _phase(freq: np.ndarray | float, n: int, sr: int) -> np.ndarray:
    """Phase in cycles; a frequency curve (glide, vibrato) is integrated sample by sample."""
    if np.isscalar(freq):
        return _time(n, sr) * float(freq)
    return np.cumsum(freq) / sr


def _envelope(
    n: int,
    sr: int,
    attack: float,
    held: float,
    release: float,
    decay: float | None = None,
    sustain: float = 1.0,
) -> np.ndarray:
    """Attack, optional decay to `sustain` while held, then an exponential release."""
    t = _time(n, sr)
    env = np.minimum(1.0, t / max(attack, 1e-4))
    if decay is not None:
        env = env * (sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0) / decay))
    after = t > held
    if np.any(after):
        level = env[min(int(held * sr), n - 1)]
        env[after] = level * np.exp(-(t[after] - held) / max(release / 4.6, 1e-4))
    return env


def _finish(x: np.ndarray, sr: int, peak: float, highpass_hz: float = 0.0) -> np.ndarray:
    """Fade the ends, scale to `peak`, high-pass (see `high_pass`), float32, read-only."""
    x = np.asarray(x, dtype=np.float64)
    fade = min(len(x) // 2, int(_FADE_S * sr))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    top = float(np.max(np.abs(x))) if len(x) else 0.0
    if top > 0:
        x *= min(peak, 1.0) / top
    out = high_pass(x.astype(np.float32), sr, highpass_hz)
    out.setflags(write=False)
    return out


HIGHPASS_TAIL_TAUS = 6.0  # the high-pass rings on after a sound ends; keep e^-6 of it


def high_pass(x: np.ndarray, sr: int, hz: float) -> np.ndarray:
    """`x` through the mix's first-order high-pass at `hz` (0 = unchanged), with the filter's
    own tail kept and faded out. A stem is a sum of sounds and the filter is linear, so
    filtering each cached sound once is the stem's high-pass, done for free on every beat."""
    if not hz:
        return x
    tail = int(HIGHPASS_TAIL_TAUS * sr / (2.0 * np.pi * hz))
    padded = np.concatenate([x, np.zeros(tail, dtype=np.float32)])
    out = HighpassFilter(cutoff_frequency_hz=float(hz))(padded, sr, reset=True)
    fade = min(len(out) // 2, max(1, tail // 2))
    out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _check(name: str, known: tuple[str, ...], what: str) -> None:
    if name not in known:
        raise EngineInputError(f"There is no {what} called {name!r}; I have {', '.join(known)}.")


# --- drums -----------------------------------------------------------------------------------

# kick: (start Hz, end Hz, pitch drop s, decay s, click level, drive)
_KICKS = {
    "808": (130.0, 46.0, 0.06, 0.9, 0.05, 1.2),
    "909": (190.0, 52.0, 0.035, 0.38, 0.35, 1.6),
    "acoustic": (115.0, 58.0, 0.03, 0.30, 0.25, 1.0),
    "dusty": (105.0, 52.0, 0.04, 0.32, 0.15, 2.2),
    "lofi": (95.0, 50.0, 0.05, 0.30, 0.08, 1.8),
    "breakbeat": (140.0, 58.0, 0.03, 0.24, 0.3, 1.5),
    "jazz": (90.0, 55.0, 0.03, 0.22, 0.1, 1.0),
    "rock": (125.0, 56.0, 0.03, 0.32, 0.4, 1.4),
}
# snare: (body Hz, body decay, noise decay, noise band low, high, noise level)
_SNARES = {
    "808": (190.0, 0.09, 0.16, 900.0, 9000.0, 0.8),
    "909": (200.0, 0.07, 0.18, 1500.0, 12000.0, 1.0),
    "acoustic": (185.0, 0.08, 0.22, 1200.0, 10000.0, 0.9),
    "dusty": (175.0, 0.09, 0.2, 700.0, 6000.0, 0.8),
    "lofi": (170.0, 0.1, 0.18, 600.0, 5000.0, 0.7),
    "breakbeat": (210.0, 0.07, 0.2, 1300.0, 11000.0, 1.0),
    "jazz": (180.0, 0.06, 0.16, 1500.0, 9000.0, 0.6),
    "rock": (190.0, 0.1, 0.26, 1000.0, 10000.0, 1.0),
}
_DARK_KITS = ("dusty", "lofi", "jazz")


def tuned(freq: float, tonic: int | None) -> float:
    """`freq` moved to the nearest pitch of the key's tonic (at most a tritone away).

    Producers tune the kick and snare to the key: an untuned 52 Hz kick is a loud G#
    under an A minor song, and a chroma-based key reading hears it as one.
    """
    if tonic is None:
        return freq
    pitch = 69.0 + 12.0 * np.log2(freq / 440.0)
    shift = (tonic - pitch) % 12.0
    return hz(pitch + (shift if shift <= 6.0 else shift - 12.0))


def _kick(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    start, end, drop, decay, click, drive = _KICKS[kit]
    end, start = tuned(end, tonic), start * tuned(end, tonic) / end
    n = int(sr * (decay * 3.5 + 0.05))
    t = _time(n, sr)
    freq = end + (start - end) * np.exp(-t / drop)
    body = _sine(_phase(freq, n, sr)) * np.exp(-t / decay)
    body = np.tanh(drive * body) / np.tanh(drive)
    beater = _filter(_noise(n, seed), "highpass", 1500 + 3000 * tone, sr) * np.exp(-t / 0.004)
    x = body + click * (0.5 + tone) * beater
    if kit in _DARK_KITS:
        x = _filter(x, "lowpass", 2500 + 4000 * tone, sr)
    return x


def _snare(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    body_hz, body_decay, noise_decay, low, high, level = _SNARES[kit]
    body_hz = tuned(body_hz, tonic)
    n = int(sr * (noise_decay * 4 + 0.03))
    t = _time(n, sr)
    freq = body_hz * (1 + 0.4 * np.exp(-t / 0.01))
    body = (_sine(_phase(freq, n, sr)) + 0.5 * _sine(_phase(freq * 1.78, n, sr))) * np.exp(
        -t / body_decay
    )
    wires = _filter(_noise(n, seed), "bandpass", (low, high * (0.6 + 0.6 * tone)), sr)
    wires *= np.exp(-t / noise_decay)
    return 0.8 * body + level * 2.5 * wires


def _clap(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 0.45)
    t = _time(n, sr)
    noise = _filter(_noise(n, seed), "bandpass", (900.0, 2500.0 + 3000 * tone), sr)
    env = np.zeros(n)
    for offset in (0.0, 0.011, 0.022):  # three hands a few ms apart, then the room
        env += np.where(t >= offset, np.exp(-(t - offset) / 0.006), 0.0)
    env += 0.6 * np.where(t >= 0.03, np.exp(-(t - 0.03) / (0.09 if kit != "808" else 0.12)), 0)
    return noise * env


def _metal(sr: int, n: int, base: float, seed: int) -> np.ndarray:
    """Six inharmonic square waves: the classic cymbal/cowbell metal."""
    t = _time(n, sr)
    ratios = (1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523)
    jitter = np.random.default_rng(seed).uniform(0.99, 1.01, len(ratios))
    return sum(_square(base * r * j * t) for r, j in zip(ratios, jitter, strict=True))


def _hat(sr: int, kit: str, tone: float, seed: int, decay: float) -> np.ndarray:
    n = int(sr * (decay * 4.5 + 0.01))
    t = _time(n, sr)
    metal = _metal(sr, n, 330.0 + 80 * tone, seed)
    noise = _noise(n, seed)
    x = _filter(0.6 * metal + noise, "highpass", 6000 + 3000 * tone, sr, order=4)
    if kit in _DARK_KITS:
        x = _filter(x, "lowpass", 9000 + 4000 * tone, sr)
    return x * np.exp(-t / decay)


def _ride(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 1.6)
    t = _time(n, sr)
    ping = _filter(_metal(sr, n, 420.0 + 60 * tone, seed), "bandpass", (2500.0, 9000.0), sr)
    wash = _filter(_noise(n, seed), "highpass", 5000, sr)
    return ping * np.exp(-t / 0.35) + 0.35 * wash * np.exp(-t / 0.5)


def _crash(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 2.2)
    t = _time(n, sr)
    x = _filter(_noise(n, seed) + 0.5 * _metal(sr, n, 380.0, seed), "highpass", 3500, sr)
    return x * np.exp(-t / (0.45 + 0.2 * tone))


def _rim(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 0.08)
    t = _time(n, sr)
    return (
        _sine(1700 * t)
        + 0.6 * _sine(820 * t)
        + 0.3 * _filter(_noise(n, seed), "highpass", 3000, sr)
    ) * np.exp(-t / 0.012)


def _shaker(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 0.14)
    t = _time(n, sr)
    env = np.minimum(1.0, t / 0.012) * np.exp(-t / 0.035)
    return _filter(_noise(n, seed), "bandpass", (5000.0, 11000.0 + 4000 * tone), sr) * env


def _tonal_drum(sr: int, base: float, decay: float, bend: float) -> np.ndarray:
    n = int(sr * decay * 4)
    t = _time(n, sr)
    freq = base * (1 + bend * np.exp(-t / 0.02))
    return _sine(_phase(freq, n, sr)) * np.exp(-t / decay)


def _conga(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    return _tonal_drum(sr, 190.0 + 120 * tone, 0.09, 0.3)


def _tom(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    return _tonal_drum(sr, 80.0 + 140 * tone, 0.18, 0.5)


def _cowbell(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 0.5)
    t = _time(n, sr)
    x = _square(540 * t) + _square(800 * t)
    return _filter(x, "bandpass", (500.0, 2500.0), sr) * np.exp(-t / 0.08)


_DRUM_VOICES: dict[str, Callable[[int, str, float, int], np.ndarray]] = {
    "kick": _kick,
    "snare": _snare,
    "clap": _clap,
    "rim": _rim,
    "hat_closed": lambda sr, kit, tone, seed: _hat(sr, kit, tone, seed, 0.035 + 0.02 * tone),
    "hat_open": lambda sr, kit, tone, seed: _hat(sr, kit, tone, seed, 0.22),
    "ride": _ride,
    "crash": _crash,
    "shaker": _shaker,
    "conga": _conga,
    "tom": _tom,
    "cowbell": _cowbell,
}


def drum_hit(
    name: str,
    *,
    sr: int = 44100,
    kit: str = "acoustic",
    velocity: float = 1.0,
    tone: float = 0.5,
    seed: int = 0,
    tonic: int | None = None,
    highpass_hz: float = 0.0,
) -> np.ndarray:
    """One drum hit, decay included: mono float32 peaking at `velocity` (read-only).

    `tonic` (a pitch class, C = 0) tunes the kick and snare bodies to the song's key;
    `highpass_hz` applies the mix's high-pass for the hit's stem (see `high_pass`).
    """
    _check(name, DRUMS, "drum")
    _check(kit, KITS, "drum kit")
    tonic = None if tonic is None or name not in _TUNED_DRUMS else int(tonic) % 12
    return _drum(
        name,
        sr,
        kit,
        round(float(velocity), 3),
        round(float(tone), 2),
        int(seed),
        tonic,
        float(highpass_hz),
    )


_TUNED_DRUMS = ("kick", "snare")


# Rendered sounds are cached by what makes them differ. The budgets are in bytes, not
# entries: a render process lives for many jobs, and a count-bounded cache of long pad notes
# grew by hundreds of MiB over a 30-minute soak before it filled.
DRUM_CACHE_BYTES = 64 * 2**20
NOTE_CACHE_BYTES = 192 * 2**20


def _nbytes(sound: np.ndarray) -> int:
    return int(sound.nbytes)


@cached(LRUCache(maxsize=DRUM_CACHE_BYTES, getsizeof=_nbytes))
def _drum(
    name: str,
    sr: int,
    kit: str,
    velocity: float,
    tone: float,
    seed: int,
    tonic: int | None,
    highpass_hz: float,
) -> np.ndarray:
    # Harder hits are a little brighter, as real drums are.
    tone = min(1.0, tone + 0.15 * (velocity - 0.7))
    voice = _DRUM_VOICES[name]
    x = voice(sr, kit, tone, seed) if tonic is None else voice(sr, kit, tone, seed, tonic)
    return _finish(x, sr, velocity, highpass_hz)


# --- pitched voices --------------------------------------------------------------------------


def _glide_curve(f: float, n: int, sr: int, glide_from: float | None, glide_time: float):
    if glide_from is None:
        return f
    t = _time(n, sr)
    start = hz(glide_from)
    # Exponential slide in pitch (linear in semitones), like an 808's portamento.
    ratio = np.clip(t / max(glide_time, 1e-3), 0.0, 1.0)
    return start * (f / start) ** ratio


def _vibrato(
    f: float | np.ndarray, n: int, sr: int, rate: float, cents: float, delay: float
) -> np.ndarray:
    t = _time(n, sr)
    depth = cents / 1200.0 * np.clip((t - delay) / 0.2, 0.0, 1.0)
    return f * 2.0 ** (depth * _sine(rate * t))


def _detuned_saws(
    f: float | np.ndarray, n: int, sr: int, cents: tuple[float, ...], seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for c in cents:
        out += _saw(_phase(f * 2.0 ** (c / 1200.0), n, sr) + rng.uniform())
    return out / len(cents)


def _v808(f, n, sr, held, b, mod_rate, seed):
    x = _sine(_phase(f, n, sr))
    env = _envelope(n, sr, 0.002, held, 0.12, decay=2.0, sustain=0.35)
    drive = 1.3 + 2.5 * b  # saturation lets an 808 be heard on small speakers
    return np.tanh(drive * x * env) / np.tanh(drive)


def _vsub(f, n, sr, held, b, mod_rate, seed):
    return _sine(_phase(f, n, sr)) * _envelope(n, sr, 0.006, held, 0.08)


def _vbass(f, n, sr, held, b, mod_rate, seed):
    ph = _phase(f, n, sr)
    x = 0.6 * _saw(ph) + 0.4 * _sine(ph)
    base = float(np.mean(f))
    x = _filter(x, "lowpass", base * (2.5 + 7 * b) + 150, sr)
    return x * _envelope(n, sr, 0.004, held, 0.07, decay=0.35, sustain=0.65)


def _vreese(f, n, sr, held, b, mod_rate, seed):
    x = _detuned_saws(f, n, sr, (-14.0, 0.0, 13.0), seed)
    x = _filter(x, "lowpass", 350 + 1100 * b, sr, order=4)
    x += 0.7 * _sine(_phase(f, n, sr))
    return x * _envelope(n, sr, 0.01, held, 0.1)


def _vwobble(f, n, sr, held, b, mod_rate, seed):
    ph = _phase(f, n, sr)
    raw = 0.6 * _saw(ph) + 0.4 * _square(ph * 1.005)
    dark = _filter(raw, "lowpass", 180.0, sr, order=4)
    bright = _filter(raw, "lowpass", 1800 + 2500 * b, sr, order=2)
    rate = mod_rate or 2.0
    lfo = 0.5 - 0.5 * _sine(rate * _time(n, sr) + 0.25)  # 0..1, opening and closing
    x = dark + (bright - dark) * lfo
    x = np.tanh(2.0 * x) + 0.5 * _sine(ph)
    return x * _envelope(n, sr, 0.005, held, 0.08)


def _vrhodes(f, n, sr, held, b, mod_rate, seed):
    t = _time(n, sr)
    ph = _phase(f, n, sr)
    index = (0.4 + 1.4 * b) * np.exp(-t / 0.35)
    x = _sine(ph + index / (2 * np.pi) * _sine(ph))
    tine = 0.2 * _sine(4.0 * ph) * np.exp(-t / 0.04)  # two octaves up: in key
    tremolo = 1.0 - 0.12 * (0.5 + 0.5 * _sine(4.5 * t))
    return (x + tine) * tremolo * _envelope(n, sr, 0.003, held, 0.25, decay=1.2, sustain=0.4)


def _vpiano(f, n, sr, held, b, mod_rate, seed):
    t = _time(n, sr)
    base = float(np.mean(f))
    x = np.zeros(n)
    tilt = 1.6 - 0.7 * b
    for k in range(1, 11):
        fk = base * k * np.sqrt(1 + 0.0004 * k * k)  # strings are slightly inharmonic
        if fk > 0.45 * sr:
            break
        x += _sine(fk * t) * np.exp(-t * (0.9 + 0.6 * k)) / k**tilt
    hammer = _filter(_noise(n, seed), "bandpass", (base * 2, base * 12), sr) * np.exp(-t / 0.004)
    return (x + 0.15 * hammer) * _envelope(n, sr, 0.002, held, 0.18)


def _vorgan(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 6.2, 10.0, 0.0)  # a slow rotary shimmer
    ph = _phase(freq, n, sr)
    bars = ((0.5, 0.5), (1.0, 1.0), (2.0, 0.6), (3.0, 0.35 + 0.3 * b), (4.0, 0.2 + 0.3 * b))
    x = sum(level * _sine(ratio * ph) for ratio, level in bars)
    return x * _envelope(n, sr, 0.008, held, 0.06)


def _vpad(f, n, sr, held, b, mod_rate, seed):
    x = _detuned_saws(f, n, sr, (-12.0, -5.0, 4.0, 11.0), seed)
    x = _filter(x, "lowpass", float(np.mean(f)) * (1.5 + 4 * b) + 300, sr)
    return x * _envelope(n, sr, 0.35, held, 0.5)


def _vpluck(f, n, sr, held, b, mod_rate, seed):
    t = _time(n, sr)
    ph = _phase(f, n, sr)
    x = 0.7 * _saw(ph) + 0.3 * _square(ph)
    bright = _filter(x, "lowpass", float(np.mean(f)) * (4 + 10 * b), sr)
    dark = _filter(x, "lowpass", float(np.mean(f)) * 1.5, sr)
    snap = np.exp(-t / 0.05)  # the filter closes quickly: a pluck
    return (dark + (bright - dark) * snap) * np.exp(-t / 0.35) * _envelope(n, sr, 0.002, held, 0.1)


def _vlead(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 5.5, 18.0, 0.18)
    ph = _phase(freq, n, sr)
    x = 0.6 * _saw(ph) + 0.4 * _square(ph * 1.003)
    x = _filter(x, "lowpass", float(np.mean(f)) * (3 + 6 * b) + 400, sr)
    return x * _envelope(n, sr, 0.01, held, 0.12, decay=0.4, sustain=0.8)


def _vsupersaw(f, n, sr, held, b, mod_rate, seed):
    x = _detuned_saws(f, n, sr, (-25.0, -16.0, -7.0, 0.0, 7.0, 16.0, 25.0), seed)
    x = _filter(x, "lowpass", 2500 + 6000 * b, sr)
    return x * _envelope(n, sr, 0.02, held, 0.25)


def _vbell(f, n, sr, held, b, mod_rate, seed):
    t = _time(n, sr)
    ph = _phase(f, n, sr)
    index = (1.0 + 2.0 * b) * np.exp(-t / 0.6)
    # A whole-number ratio keeps the sidebands harmonic (a celesta-like bell): at 3.5 the
    # strongest partial sits a tenth up, out of key, and muddies the key for the listener.
    x = _sine(ph + index / (2 * np.pi) * _sine(3.0 * ph))
    return x * np.exp(-t / 1.4) * _envelope(n, sr, 0.002, held, 0.6)


def _vguitar(f, n, sr, held, b, mod_rate, seed):
    t = _time(n, sr)
    ph = _phase(f, n, sr)
    string = (_saw(ph) + 0.5 * _saw(ph * 2.003)) * np.exp(-t / 1.5)
    driven = np.tanh((4.0 + 6.0 * b) * string)  # the amp
    cabinet = _filter(_filter(driven, "lowpass", 3800 + 1500 * b, sr, 4), "highpass", 90.0, sr)
    return cabinet * _envelope(n, sr, 0.003, held, 0.12)


def _vstrings(f, n, sr, held, b, mod_rate, seed):
    freq = _vibrato(f, n, sr, 5.0, 9.0, 0.3)
    x = _detuned_saws(freq, n, sr, (-8.0, 0.0, 9.0), seed)
    x = _filter(x, "lowpass", float(np.mean(f)) * (2 + 4 * b) + 800, sr)
    return x * _envelope(n, sr, 0.25, held, 0.4)


_VOICES: dict[str, tuple[Callable[..., np.ndarray], float]] = {
    # name: (voice, release tail in seconds)
    "808": (_v808, 0.15),
    "sub": (_vsub, 0.1),
    "bass": (_vbass, 0.09),
    "reese": (_vreese, 0.12),
    "wobble": (_vwobble, 0.1),
    "rhodes": (_vrhodes, 0.3),
    "piano": (_vpiano, 0.25),
    "organ": (_vorgan, 0.08),
    "pad": (_vpad, 0.6),
    "pluck": (_vpluck, 0.12),
    "lead": (_vlead, 0.15),
    "supersaw": (_vsupersaw, 0.3),
    "bell": (_vbell, 0.8),
    "guitar": (_vguitar, 0.15),
    "strings": (_vstrings, 0.5),
}


def note(
    instrument: str,
    pitch: float,
    duration: float,
    *,
    sr: int = 44100,
    velocity: float = 1.0,
    brightness: float = 0.5,
    glide_from: float | None = None,
    glide_time: float = 0.08,
    mod_rate: float | None = None,
    seed: int = 0,
    highpass_hz: float = 0.0,
) -> np.ndarray:
    """One note held for `duration` seconds, release tail included: mono float32 peaking at
    `velocity` (read-only). `pitch` is a MIDI note number; `glide_from` slides into it;
    `highpass_hz` applies the mix's high-pass for the note's stem (see `high_pass`)."""
    _check(instrument, INSTRUMENTS, "instrument")
    if not (0 < duration <= 60) or not (0 <= pitch <= 127):
        raise EngineInputError(f"A {instrument} note needs a pitch 0-127 and 0-60 s length.")
    return _note(
        instrument,
        round(float(pitch), 3),
        round(float(duration), 2) or 0.01,
        sr,
        round(float(velocity), 3),
        round(float(np.clip(brightness, 0.0, 1.0)), 2),
        None if glide_from is None else round(float(glide_from), 3),
        round(float(glide_time), 3),
        None if mod_rate is None else round(float(mod_rate), 3),
        int(seed),
        float(highpass_hz),
    )


@cached(LRUCache(maxsize=NOTE_CACHE_BYTES, getsizeof=_nbytes))
def _note(
    instrument: str,
    pitch: float,
    duration: float,
    sr: int,
    velocity: float,
    brightness: float,
    glide_from: float | None,
    glide_time: float,
    mod_rate: float | None,
    seed: int,
    highpass_hz: float,
) -> np.ndarray:
    voice, tail = _VOICES[instrument]
    n = int((duration + tail) * sr)
    f = _glide_curve(hz(pitch), n, sr, glide_from, glide_time)
    sound = voice(f, n, sr, duration, brightness, mod_rate, seed)
    return _finish(sound, sr, velocity, highpass_hz)


# --- textures --------------------------------------------------------------------------------


SURFACE_SECONDS = 8.0  # the record's hiss and rumble repeat after this long (cached)
CLICKS_PER_SECOND = 9
_CLICK_SECONDS = 0.004  # a pop: a band-passed impulse that rings this long


@lru_cache(maxsize=4)
def _vinyl_surface(sr: int, highpass_hz: float) -> np.ndarray:
    """SURFACE_SECONDS of stereo surface noise: band-passed hiss on each side, shared rumble.
    It loops, so it is high-passed twice round and the second lap kept: no seam at the wrap."""
    n = int(SURFACE_SECONDS * sr)
    rng = np.random.default_rng(33)
    hiss = [_filter(rng.standard_normal(n), "bandpass", (800.0, 7000.0), sr) * 0.004 for _ in "LR"]
    rumble = _filter(rng.standard_normal(n), "lowpass", 60.0, sr) * 0.01
    surface = (np.stack(hiss, axis=1) + rumble[:, None]).astype(np.float32)
    if highpass_hz:
        laps = np.concatenate([surface, surface])
        filtered = HighpassFilter(cutoff_frequency_hz=float(highpass_hz))(laps, sr, reset=True)
        surface = np.ascontiguousarray(filtered[n:])
    surface.setflags(write=False)
    return surface


@lru_cache(maxsize=4)
def _click_kernel(sr: int, highpass_hz: float) -> np.ndarray:
    impulse = np.zeros(max(8, int(_CLICK_SECONDS * sr)))
    impulse[0] = 1.0
    click = _filter(impulse, "bandpass", (1000.0, 9000.0), sr).astype(np.float32)
    return high_pass(click, sr, highpass_hz)


def vinyl_crackle(
    duration: float, *, sr: int = 44100, seed: int = 0, highpass_hz: float = 0.0
) -> np.ndarray:
    """A record's hiss and crackle, stereo (n, 2), quiet (about -40 dBFS RMS).

    The surface noise is rendered once and played from a seed's own place on the record (so
    it costs nothing per beat); the pops land at the seed's own random times.
    """
    n = int(duration * sr)
    rng = np.random.default_rng(seed)
    surface = _vinyl_surface(sr, float(highpass_hz))
    start = int(rng.integers(0, len(surface)))
    out = np.resize(np.roll(surface, -start, axis=0), (n, 2))
    kernel = _click_kernel(sr, float(highpass_hz))
    count = int(duration * CLICKS_PER_SECOND)
    for channel in range(2):
        where = rng.integers(0, max(1, n - len(kernel)), count)
        sizes = rng.uniform(0.05, 0.35, count) * rng.choice((-1.0, 1.0), count)
        for at, size in zip(where, sizes, strict=True):
            piece = out[at : at + len(kernel), channel]
            piece += np.float32(size) * kernel[: len(piece)]
    return out


@lru_cache(maxsize=16)  # a beat's builds share their length, and beats share their tempo
def noise_riser(
    duration: float, *, sr: int = 44100, seed: int = 0, highpass_hz: float = 0.0
) -> np.ndarray:
    """An EDM build: noise that opens from dark to bright and swells, mono (read-only)."""
    n = int(duration * sr)
    t = _time(n, sr) / max(duration, 1e-3)
    noise = _noise(n, seed)
    dark = _filter(noise, "lowpass", 600.0, sr)
    bright = _filter(noise, "highpass", 2500.0, sr)
    x = (dark + (bright - dark) * t**2) * (0.05 + 0.95 * t**2)
    return _finish(x, sr, 0.9, highpass_hz)
