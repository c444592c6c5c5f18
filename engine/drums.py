"""Drum voices and the kits that set them: kicks, snares, claps, hats, cymbals, percussion.

Every voice is `voice(sr, kit, tone, seed[, tonic]) -> mono float64`, unscaled (engine.
instruments scales, filters and caches it). What each one is built from, and why, is said
where it is made; the measured results are held by tests/test_engine_drums.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.synth import (
    hz,
    noise,
    oscillator,
    phase,
    pitch_of,
    sine,
    sos_filter,
    square,
    timeline,
)

KITS: tuple[str, ...] = (
    "808",
    "909",
    "acoustic",
    "dusty",
    "breakbeat",
    "jazz",
    "rock",
    "lofi",
    "hard",
    "analog",
)


# --- kick --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kick:
    """A kick is three layers a producer would stack: a short pitched body (the weight), a
    knock at 100-200 Hz (the punch a small speaker can play) and a beater click at 1-4 kHz
    (the attack that cuts through a full mix)."""

    body_hz: float  # where the body's pitch settles (tuned to the key within KICK_RANGE_HZ)
    sweep: float  # the body starts this many times higher and falls ...
    drop_s: float  # ... with this time constant
    decay_s: float  # body amplitude time constant: 20 dB down after ~2.5-3x this
    knock: float  # level of the 100-200 Hz knock
    knock_hz: float  # the knock band's centre
    click: float  # level of the 1-4 kHz beater click
    drive: float  # saturation of the body (1 = clean; fattens it, see _saturate)
    dark_hz: float = 0.0  # a low-pass on the whole kick (dusty, worn kits); 0 = none


# Decays are set so each kick is 20 dB down 335-400 ms after its peak in the processed kick
# stem (clipper and compressor included; tests/test_engine_drums.py); the 808 kit's is longer
# (a boom, ~445 ms), yet shorter than a beat: a kick still ringing when the next one hits blurs the
# groove into a drone, and a kick under 300 ms is a click with no weight.
_KICKS: dict[str, Kick] = {
    "808": Kick(49.0, 2.6, 0.03, 0.188, 0.38, 120.0, 0.3, 1.3),
    "909": Kick(52.0, 3.6, 0.018, 0.156, 0.68, 150.0, 0.88, 1.8),
    "acoustic": Kick(58.0, 2.2, 0.012, 0.154, 0.9, 125.0, 0.8, 1.0),
    "dusty": Kick(52.0, 2.3, 0.018, 0.149, 0.75, 115.0, 0.56, 2.2, 4500.0),
    "lofi": Kick(50.0, 2.4, 0.024, 0.15, 0.9, 110.0, 0.5, 1.8, 3500.0),
    "breakbeat": Kick(58.0, 2.6, 0.015, 0.146, 0.83, 140.0, 0.8, 1.5),
    "jazz": Kick(56.0, 2.4, 0.012, 0.156, 0.75, 110.0, 0.35, 1.0, 5000.0),
    "rock": Kick(56.0, 2.4, 0.015, 0.163, 0.9, 130.0, 1.04, 1.4),
    "hard": Kick(54.0, 4.0, 0.015, 0.151, 0.75, 170.0, 1.2, 2.6),
    "analog": Kick(50.0, 2.8, 0.027, 0.172, 0.45, 120.0, 0.4, 1.3),
}
LANDING = 6.0  # the kick's pitch lands on its note this many drop times after the hit
# A kick's fundamental lives here: lower is felt, not heard, and fights the bass's sub; higher
# turns the kick into a tom.
KICK_RANGE_HZ = (45.0, 65.5)


def kick_hz(native: float, tonic: int | None) -> float:
    """The kick's settled pitch: the key's tonic, in the octave nearest KICK_RANGE_HZ.

    An untuned 52 Hz kick is a loud G# under an A minor song (a chroma-based key reading hears
    it as one). The band holds 7 of the 12 pitch classes; for the other five the tonic lands
    just outside it (E 41.2, F 43.7, C# 69.3, D 73.4, D# 38.9 Hz) rather than on the fifth:
    a four-on-the-floor kick on the fifth is the loudest note in the bar, and in house and pop
    it moved the measured key to the fifth's key (tests/test_engine_make.py, any key asked).
    The old rule (the nearest tonic within a tritone of the kit's pitch) put kicks anywhere
    from 33 to 78 Hz; in trap an octave under the 808."""
    if tonic is None:
        return native
    low, high = KICK_RANGE_HZ
    centre = (pitch_of(low) + pitch_of(high)) / 2.0
    # The candidates are the tonic's octaves; distance to the band in semitones (0 inside).
    options = [p for p in range(12, 60) if p % 12 == tonic % 12]

    def outside(p: int) -> float:
        return max(0.0, pitch_of(low) - p, p - pitch_of(high))

    best = min(options, key=lambda p: (outside(p), abs(p - centre)))
    return hz(best)


def tuned(freq: float, tonic: int | None) -> float:
    """`freq` moved to the nearest pitch of the key's tonic (at most a tritone away): the
    snare's body, tuned as producers tune it."""
    if tonic is None:
        return freq
    pitch = pitch_of(freq)
    shift = (tonic - pitch) % 12.0
    return hz(pitch + (shift if shift <= 6.0 else shift - 12.0))


def _saturate(x: np.ndarray, drive: float) -> np.ndarray:
    """Fatten a kick's body (|x| <= 1) with a cubic curve: it adds only the third harmonic,
    an octave and a fifth up, in key. tanh adds the fifth harmonic too, a major third two
    octaves up: under a minor song the kick itself played the wrong third (a chroma key
    reading of techno in A minor heard A major). drive 1 = clean, 2.5 and up = the most."""
    amount = min(1.0, max(0.0, (drive - 1.0) / 1.5))
    return x + amount * 0.5 * (x - x * x * x)  # (x**3 runs a power per sample: 10x slower)


def kick(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    k = _KICKS[kit]
    settle = kick_hz(k.body_hz, tonic)
    n = int(sr * (k.decay_s * 5.0 + 0.05))  # the body is 45 dB down by the end (then faded)
    t = timeline(n, sr)
    # The pitch falls from sweep x the settled pitch and lands on it within LANDING drop
    # times: an exponential alone never lands, and a short kick's energy spent just above
    # its note reads as the next semitone up.
    landing = np.clip(1.0 - t / (LANDING * k.drop_s), 0.0, 1.0)
    freq = settle * (1.0 + (k.sweep - 1.0) * np.exp(-t / k.drop_s) * landing)
    body = _saturate(sine(phase(freq, n, sr)) * np.exp(-t / k.decay_s), k.drive)
    # Knock: the body's own pitch sweep, boosted in the 100-200 Hz band for its first 40 ms
    # (the drum head's punch). Drawn from the body, it adds to it: a separate tone there beat
    # against the falling body, and a noise burst left the same stray pitches in every bar.
    knock = sos_filter(body, "bandpass", (k.knock_hz * 0.7, k.knock_hz * 1.4), sr)
    knock *= np.exp(-t / 0.04) / (np.abs(knock).max() or 1.0)
    # Beater: band-passed noise at 1-4 kHz for 3 ms, brighter with the tone, led by a 1 ms
    # tick of open noise (the beater's contact: without it the kick's onset smears in the
    # mix and tempo trackers, ears included, lose the downbeat).
    source = noise(n, seed)
    beater = sos_filter(source, "bandpass", (1000.0, 2500.0 + 1500.0 * tone), sr)
    beater *= np.exp(-t / 0.003) / (np.std(beater[: int(0.003 * sr)]) or 1.0)
    tick = sos_filter(source, "highpass", 3500.0, sr) * np.exp(-t / 0.002)
    beater += 1.6 * tick / (np.std(tick[: int(0.002 * sr)]) or 1.0)
    # `click` is the beater's peak next to the body's: a click that tops the body leaves
    # the body quiet once the hit is scaled to its velocity (all crest, no weight).
    beater /= np.abs(beater).max() or 1.0
    x = body + k.knock * knock + k.click * (0.4 + 0.6 * tone) * beater
    if k.dark_hz:
        x = sos_filter(x, "lowpass", k.dark_hz * (0.8 + 0.4 * tone), sr)
    return x


# --- snare and clap ----------------------------------------------------------------------------

# snare: (body Hz, body decay, noise decay, noise band low, high, noise level)
_SNARES: dict[str, tuple[float, float, float, float, float, float]] = {
    "808": (190.0, 0.09, 0.16, 900.0, 9000.0, 0.8),
    "909": (200.0, 0.07, 0.18, 1500.0, 12000.0, 1.0),
    "acoustic": (225.0, 0.07, 0.16, 1500.0, 9000.0, 0.75),  # tight, dry, tuned high
    "dusty": (175.0, 0.09, 0.2, 700.0, 6000.0, 0.8),
    "lofi": (165.0, 0.12, 0.13, 500.0, 3800.0, 0.5),  # soft and thuddy, little wire
    "breakbeat": (210.0, 0.07, 0.2, 1300.0, 11000.0, 1.0),
    "jazz": (180.0, 0.06, 0.16, 1500.0, 9000.0, 0.6),
    "rock": (185.0, 0.11, 0.28, 900.0, 10000.0, 1.1),  # fat and long, cracked hard
    "hard": (250.0, 0.05, 0.12, 2500.0, 14000.0, 1.4),  # snappy, bright and short
    "analog": (180.0, 0.08, 0.17, 1000.0, 8000.0, 0.85),
}
DARK_KITS = ("dusty", "lofi", "jazz")


def snare(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    body_hz, body_decay, noise_decay, low, high, level = _SNARES[kit]
    body_hz = tuned(body_hz, tonic)
    n = int(sr * (noise_decay * 4 + 0.03))
    t = timeline(n, sr)
    freq = body_hz * (1 + 0.4 * np.exp(-t / 0.01))
    ph = phase(freq, n, sr)
    body = (sine(ph) + 0.5 * sine(ph * 1.78)) * np.exp(-t / body_decay)
    # The wires as a stereo pair of overheads hears them: mostly the same rattle, with a
    # part of each side its own (OVERHEAD_SPREAD); the drum's body stays dead centre.
    band = (low, high * (0.6 + 0.6 * tone))
    shared = sos_filter(noise(n, seed), "bandpass", band, sr)
    sides = [sos_filter(noise(n, seed + 1000 + side), "bandpass", band, sr) for side in (0, 1)]
    wires = _overheads(shared, sides) * np.exp(-t / noise_decay)[:, None]
    return 0.8 * body[:, None] + level * 2.5 * wires


# A clap is several hands a few ms apart: (offset s, centre Hz of that hand's band, pan).
_HANDS = (
    (0.0, 1150.0, -0.25),
    (0.0085, 1400.0, 0.2),
    (0.0185, 1050.0, -0.1),
    (0.027, 1300.0, 0.25),
)


def clap(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    """Layered, stereo (n, 2): four short bursts at uneven spacings (hands never land
    together), each its own noise and band and its own place left or right (several people
    clapping), then a body (the claps fused, ~1.2 kHz, 40 ms) and a longer, brighter tail in
    the middle. One burst with a long decay, as before, reads as a noise hit, not a clap."""
    n = int(sr * 0.5)
    t = timeline(n, sr)
    spread = 0.8 if kit in ("hard", "909") else 1.0 if kit not in DARK_KITS else 1.25
    x = np.zeros((n, 2))
    for index, (offset, centre, pan) in enumerate(_HANDS):
        start = offset * spread
        hand = sos_filter(noise(n, seed * 8 + index), "bandpass", (centre * 0.6, centre * 2.2), sr)
        hand *= (1.0 - 0.12 * index) * np.where(t >= start, np.exp(-(t - start) / 0.0045), 0.0)
        x[:, 0] += hand * np.sqrt(1.0 - pan)  # equal power, unity in the middle
        x[:, 1] += hand * np.sqrt(1.0 + pan)
    last = _HANDS[-1][0] * spread
    fused = sos_filter(noise(n, seed * 8 + 5), "bandpass", (800.0, 1900.0 + 800.0 * tone), sr)
    middle = 0.9 * fused * np.where(t >= last, np.exp(-(t - last) / 0.035), 0.0)
    high = 5000.0 + 4000.0 * tone if kit not in DARK_KITS else 4000.0
    tail = sos_filter(noise(n, seed * 8 + 6), "bandpass", (700.0, high), sr)
    tail_decay = 0.16 if kit in ("808", "analog") else 0.11
    middle += 0.4 * tail * np.where(t >= last, np.exp(-(t - last) / tail_decay), 0.0)
    return x + middle[:, None]


def rim(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    """A rimshot's click: two partials a fifth apart on the key's tonic, and stick noise. (It
    rang at 820 and 1700 Hz, an untuned G# that, with its room, read as the key in techno.)"""
    n = int(sr * 0.08)
    t = timeline(n, sr)
    base = tuned(850.0, tonic)
    return (
        0.6 * sine(base * t)
        + sine(1.5 * base * t)
        + 0.3 * sos_filter(noise(n, seed), "highpass", 3000, sr)
    ) * np.exp(-t / 0.012)


# How much of a noisy drum's sound each overhead hears on its own (0 = a mono close mic,
# 1 = two unrelated noises): two mics a metre apart share the drum's low rattle and not
# its fine high-frequency detail. Measured: hats at 0.5 read about 0.5 L/R correlation.
OVERHEAD_SPREAD = 0.5


def _overheads(shared: np.ndarray, own: list[np.ndarray]) -> np.ndarray:
    """(n, 2): each side `shared` plus its own noise, in the OVERHEAD_SPREAD proportion
    (equal power on each side)."""
    keep, add = np.sqrt(1.0 - OVERHEAD_SPREAD), np.sqrt(OVERHEAD_SPREAD)
    return np.stack([keep * shared + add * side for side in own], axis=1)


# --- hats and cymbals --------------------------------------------------------------------------


def _metal(sr: int, n: int, base: float, seed: int) -> np.ndarray:
    """Six inharmonic square waves (band-limited): the classic cymbal/cowbell metal."""
    ratios = (1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523)
    jitter = np.random.default_rng(seed).uniform(0.99, 1.01, len(ratios))
    out = np.zeros(n)
    for r, j in zip(ratios, jitter, strict=True):
        out += square(*oscillator(base * r * j, n, sr))
    return out


# Hats: (high-pass Hz, low-pass Hz). A hat's body is 4-12 kHz. The old hats were high-passed at
# 6-9 kHz and left open above: 40% of their energy sat over 16 kHz (hiss that most playback
# drops and that reads as noise, not a hat) and under 1% below 6 kHz (no "chick"). The
# high-pass at 3-5 kHz lets the chick through; a 4th-order low-pass near 12 kHz rolls the top
# off, as real cymbals and every sampled hat do above 16 kHz.
_HAT_BAND: dict[str, tuple[float, float, float]] = {
    # kit: (high-pass, low-pass, how long the closed hat rings relative to the default)
    "808": (4200.0, 12500.0, 1.0),
    "909": (4500.0, 13000.0, 0.9),
    "acoustic": (3500.0, 12000.0, 0.8),  # a tight, closely miked hat
    "dusty": (3600.0, 11000.0, 1.1),
    "lofi": (3400.0, 10000.0, 1.3),
    "breakbeat": (3800.0, 12000.0, 1.2),  # a sampled break's loose, washy hat
    "jazz": (3400.0, 12000.0, 1.4),
    "rock": (3500.0, 12500.0, 1.6),  # half-open, played hard
    "hard": (4800.0, 13500.0, 0.75),
    "analog": (4000.0, 11500.0, 1.0),
}


def _hat(sr: int, kit: str, tone: float, seed: int, decay: float) -> np.ndarray:
    """Stereo (n, 2): the metal is one, the sizzle partly each side's own (overheads)."""
    n = int(sr * (decay * 3.5 + 0.01))  # 30 dB down at the end, then faded
    t = timeline(n, sr)
    low, high, _ = _HAT_BAND[kit]
    metal = 0.6 * _metal(sr, n, 330.0 + 80 * tone, seed)
    sizzle = _overheads(noise(n, seed), [noise(n, seed + 1000 + side) for side in (0, 1)])
    x = metal[:, None] + sizzle
    x = sos_filter(x.T, "highpass", low * (0.9 + 0.2 * tone), sr, order=4)
    x = sos_filter(x, "lowpass", high * (0.9 + 0.2 * tone), sr, order=2).T
    attack = np.minimum(1.0, t / 0.0008)  # a stick, not a switch
    return x * (attack * np.exp(-t / decay))[:, None]


def hat_closed(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    return _hat(sr, kit, tone, seed, (0.035 + 0.02 * tone) * _HAT_BAND[kit][2])


def hat_open(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    return _hat(sr, kit, tone, seed, 0.22)


def ride(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 1.6)
    t = timeline(n, sr)
    ping = sos_filter(_metal(sr, n, 420.0 + 60 * tone, seed), "bandpass", (2500.0, 9000.0), sr)
    wash = sos_filter(noise(n, seed), "bandpass", (4000.0, 13000.0), sr)
    return ping * np.exp(-t / 0.35) + 0.35 * wash * np.exp(-t / 0.5)


def crash(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    """A crash keeps its air to the top of the band (unlike a hat, its splash is the point):
    the bar's downbeat reads as one by its wide-open burst."""
    n = int(sr * 2.2)
    t = timeline(n, sr)
    x = noise(n, seed) + 0.5 * _metal(sr, n, 380.0, seed)
    x = sos_filter(x, "highpass", 3000, sr)
    return x * np.exp(-t / (0.45 + 0.2 * tone))


# --- percussion --------------------------------------------------------------------------------


def shaker(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    n = int(sr * 0.14)
    t = timeline(n, sr)
    env = np.minimum(1.0, t / 0.012) * np.exp(-t / 0.035)
    return sos_filter(noise(n, seed), "bandpass", (5000.0, 11000.0 + 3000 * tone), sr) * env


def _tonal_drum(sr: int, base: float, decay: float, bend: float) -> np.ndarray:
    n = int(sr * decay * 4)
    t = timeline(n, sr)
    freq = base * (1 + bend * np.exp(-t / 0.02))
    return sine(phase(freq, n, sr)) * np.exp(-t / decay)


def conga(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    return _tonal_drum(sr, tuned(190.0 + 120 * tone, tonic), 0.09, 0.3)


def tom(sr: int, kit: str, tone: float, seed: int) -> np.ndarray:
    return _tonal_drum(sr, 80.0 + 140 * tone, 0.18, 0.5)


def cowbell(sr: int, kit: str, tone: float, seed: int, tonic: int | None = None) -> np.ndarray:
    """The 808 cowbell: two squares a fifth apart (540 and 800 Hz on the original), tuned."""
    n = int(sr * 0.5)
    t = timeline(n, sr)
    base = tuned(540.0, tonic)
    x = square(*oscillator(base, n, sr)) + square(*oscillator(1.5 * base, n, sr))
    return sos_filter(x, "bandpass", (500.0, 2500.0), sr) * np.exp(-t / 0.08)


VOICES: dict[str, Callable[..., np.ndarray]] = {
    "kick": kick,
    "snare": snare,
    "clap": clap,
    "rim": rim,
    "hat_closed": hat_closed,
    "hat_open": hat_open,
    "ride": ride,
    "crash": crash,
    "shaker": shaker,
    "conga": conga,
    "tom": tom,
    "cowbell": cowbell,
}
TUNED = ("kick", "snare", "rim", "conga", "cowbell")  # voices that take the key's tonic
