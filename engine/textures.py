"""Textures and transition effects: the record's surface, risers, impacts and downlifters.

The transition effects are stereo (frames, 2) and wide: noise layers are drawn separately for
each side, so they are decorrelated and open the mix up at the moments they mark. Anything
under ~150 Hz in them (the impact's boom) is the same on both sides: the low end stays mono.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pedalboard import HighpassFilter

from engine.synth import finish, high_pass, noise, phase, sine, sos_filter, timeline

SURFACE_SECONDS = 8.0  # the record's hiss and rumble repeat after this long (cached)
CLICKS_PER_SECOND = 9
_CLICK_SECONDS = 0.004  # a pop: a band-passed impulse that rings this long


@lru_cache(maxsize=4)
def _vinyl_surface(sr: int, highpass_hz: float, lowpass_hz: float) -> np.ndarray:
    """SURFACE_SECONDS of stereo surface noise: band-passed hiss on each side, shared rumble.
    It loops, so it is high-passed twice round and the second lap kept: no seam at the wrap."""
    n = int(SURFACE_SECONDS * sr)
    rng = np.random.default_rng(33)
    top = min(7000.0, lowpass_hz or 7000.0)
    hiss = [sos_filter(rng.standard_normal(n), "bandpass", (800.0, top), sr) * 0.004 for _ in "LR"]
    rumble = sos_filter(rng.standard_normal(n), "lowpass", 60.0, sr) * 0.01
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
    click = sos_filter(impulse, "bandpass", (1000.0, 9000.0), sr).astype(np.float32)
    return high_pass(click, sr, highpass_hz)


def vinyl_crackle(
    duration: float,
    *,
    sr: int = 44100,
    seed: int = 0,
    highpass_hz: float = 0.0,
    lowpass_hz: float = 0.0,
) -> np.ndarray:
    """A record's hiss and crackle, stereo (n, 2), quiet (about -40 dBFS RMS).

    The surface noise is rendered once and played from a seed's own place on the record (so
    it costs nothing per beat); the pops land at the seed's own random times.
    """
    n = int(duration * sr)
    rng = np.random.default_rng(seed)
    surface = _vinyl_surface(sr, float(highpass_hz), float(lowpass_hz))
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
    duration: float,
    *,
    sr: int = 44100,
    seed: int = 0,
    highpass_hz: float = 0.0,
    lowpass_hz: float = 0.0,
) -> np.ndarray:
    """An EDM build: noise that opens from dark to bright and swells, mono (read-only)."""
    n = int(duration * sr)
    t = timeline(n, sr) / max(duration, 1e-3)
    source = noise(n, seed)
    dark = sos_filter(source, "lowpass", 600.0, sr)
    bright = sos_filter(source, "highpass", 2500.0, sr)
    x = (dark + (bright - dark) * t**2) * (0.05 + 0.95 * t**2)
    return finish(x, sr, 0.9, highpass_hz, lowpass_hz)


def _two_sides(
    n: int,
    seed: int,
    sr: int,
    dark: float | tuple[float, float],
    bright: float | tuple[float, float],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(dark, bright) filtered noise for each side, each side its own noise (seed, seed+1): a
    wide texture is two unrelated noises. A number is a low-pass (dark) or a high-pass
    (bright) cutoff, a pair a band."""
    out = []
    for side in range(2):
        hiss = noise(n, seed + side)
        dark_kind = "bandpass" if isinstance(dark, tuple) else "lowpass"
        bright_kind = "bandpass" if isinstance(bright, tuple) else "highpass"
        pair = sos_filter(hiss, dark_kind, dark, sr), sos_filter(hiss, bright_kind, bright, sr)
        out.append(pair)
    return out


IMPACT_BOOM_HZ = (110.0, 42.0)  # the boom's pitch falls from, to


@lru_cache(maxsize=16)
def impact(
    duration: float,
    *,
    sr: int = 44100,
    seed: int = 0,
    highpass_hz: float = 0.0,
    lowpass_hz: float = 0.0,
) -> np.ndarray:
    """The hit on a hook's or drop's downbeat, (n, 2): a boom (a sine falling 110 -> 42 Hz,
    the same on both sides) under a noise burst whose brightness closes as it rings, drawn
    apart for each side (wide). It rings for at most `duration` s, and fades out there."""
    n = max(1, int(duration * sr))
    t = timeline(n, sr)
    ring = min(duration / 4.0, 0.7)  # a short event may ring less
    top, bottom = IMPACT_BOOM_HZ
    boom = sine(phase(bottom + (top - bottom) * np.exp(-t / 0.06), n, sr))
    boom *= np.exp(-t / ring)
    closing = np.exp(-t / 0.08)
    sides = []
    for dark, bright in _two_sides(n, 2 * seed, sr, (200.0, 2500.0), (800.0, 12000.0)):
        burst = (dark + (bright - dark) * closing) * (0.9 * closing + 0.25 * np.exp(-t / ring))
        sides.append(0.5 * burst / (np.std(bright) or 1.0))
    x = np.stack(sides, axis=1) + boom[:, None]
    x *= np.minimum(1.0, (n - np.arange(n)) / max(1.0, 0.05 * sr))[:, None]  # fade at the end
    return finish(x, sr, 0.95, highpass_hz, lowpass_hz)


@lru_cache(maxsize=16)
def downlifter(
    duration: float,
    *,
    sr: int = 44100,
    seed: int = 0,
    highpass_hz: float = 0.0,
    lowpass_hz: float = 0.0,
) -> np.ndarray:
    """A falling noise sweep, (n, 2): the riser played backwards in spirit: it starts bright
    and loud and closes down to a dark murmur over `duration` s. Each side has its own noise
    and its own slow sway, so it drifts across the field as it falls."""
    n = max(1, int(duration * sr))
    t = timeline(n, sr) / max(duration, 1e-3)
    fall = (1.0 - t) ** 2
    sides = []
    for side, (dark, bright) in enumerate(_two_sides(n, 2 * seed + 101, sr, 500.0, 2500.0)):
        sway = 1.0 + 0.25 * sine(0.7 * t * duration + 0.5 * side)
        sides.append((dark + (bright - dark) * fall) * (0.05 + 0.95 * fall) * sway)
    return finish(np.stack(sides, axis=1), sr, 0.9, highpass_hz, lowpass_hz)
