"""Arrangement -> stereo stems: overlap-add of cached instrument renders, panning, sidechain.

Every stem is exactly the arrangement's length (whole bars), so stems, loops and the MIDI
line up sample for sample. What rings past the end is handled one of two ways:
- `wrap=False` (a finished beat): tails are cut, with a short fade so the end never clicks;
- `wrap=True` (a loop): tails wrap round onto the start, as they would when the loop
  repeats, so the loop plays seamlessly.

Instruments are rendered once per distinct (voice, pitch, length, velocity layer) and cached
by engine.instruments; velocity within a layer is a plain gain, so a 30 s beat needs only a
few hundred distinct renders.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.linalg import blas

from engine import instruments
from engine.compose import STEM_NAMES, Arrangement, Track
from engine.dynamics import scale_frames
from engine.mix import highpass_hz

# Drum-stem groups in render order (so progress can name what it is doing).
GROUPS: dict[str, tuple[str, ...]] = {
    "drums": ("kick", "snare", "hats", "perc"),
    "bass": ("bass",),
    "chords": ("chords",),
    "melody": ("melody",),
    "fx": ("fx",),
}
STAGE_NAMES: dict[str, str] = {
    "drums": "Rendering drums",
    "bass": "Rendering bass",
    "chords": "Rendering chords",
    "melody": "Rendering melody",
    "fx": "Rendering effects",
}
# Where each stem sits (active RMS, dBFS) before the mix, and each genre's departures.
STEM_LEVELS: dict[str, float] = {
    "kick": -20.0,
    "snare": -23.0,
    "hats": -30.0,
    "perc": -32.0,
    "bass": -21.0,
    "chords": -26.0,
    "melody": -25.0,
    "fx": -38.0,
}
GENRE_LEVEL_OFFSETS: dict[str, dict[str, float]] = {
    "trap": {"bass": 1.5, "hats": 1.0, "chords": -1.0},
    "drill": {"bass": 1.5, "hats": 1.0, "chords": -1.0},
    "lo-fi": {"kick": -2.0, "snare": -2.0, "chords": 2.0, "fx": 4.0},
    "boom bap": {"snare": 1.5, "fx": 3.0},
    "house": {"hats": 1.0, "chords": 1.0},
    "drum and bass": {"snare": 1.5, "hats": 1.0},
    "techno": {"perc": 3.0, "chords": -2.0},
    "r&b": {"chords": 1.5, "kick": -1.0},
    "pop": {"melody": 1.5, "chords": 0.5},
    "edm": {"chords": 1.0, "melody": 1.5},
    "dubstep": {"bass": 1.0, "snare": 1.0},
    "jazz": {"kick": -8.0, "snare": -3.0, "hats": 3.0, "chords": 2.0, "melody": 1.0},
    "rock": {"chords": 3.0, "snare": 1.5, "hats": 1.0},
}
VELOCITY_LAYERS = 8  # distinct velocities the instruments are asked for
END_FADE_SECONDS = 0.03
TOM_TONE = {50: 0.8, 48: 0.65, 45: 0.5, 43: 0.35}
# Sidechain: how much each stem ducks (fraction of the arrangement's depth), and the duck's
# recovery time in beats (a quarter-note pump).
SIDECHAIN_AMOUNT = {"bass": 1.0, "chords": 0.8, "melody": 0.45, "fx": 0.3}
SIDECHAIN_RELEASE_BEATS = 0.45


def render(
    arrangement: Arrangement,
    *,
    sr: int = 44100,
    wrap: bool = False,
    on_group: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Stereo float32 stems keyed by STEM_NAMES, each exactly `arrangement.duration` long."""
    frames = round(arrangement.duration * sr)
    stems = {name: np.zeros((frames, 2), dtype=np.float32) for name in STEM_NAMES}
    for group, stem_names in GROUPS.items():
        if on_group is not None:
            on_group(group)
        for track in arrangement.tracks.values():
            if track.stem in stem_names:
                _render_track(track, arrangement, sr, frames, wrap, stems[track.stem])
    balance(stems, arrangement.genre, sr)
    if arrangement.sidechain > 0 and "kick" in arrangement.tracks:
        _apply_sidechain(stems, arrangement, sr, frames, wrap)
    if not wrap:
        fade = min(frames, int(END_FADE_SECONDS * sr))
        ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
        for audio in stems.values():
            scale_frames(audio[frames - fade :], ramp, out=audio[frames - fade :])
    return stems


def active_level(audio: np.ndarray, sr: int) -> float:
    """dBFS RMS over the 100 ms blocks where the stem plays (within 40 dB of its loudest)."""
    block = max(1, sr // 10)
    frames = len(audio) // block
    if frames == 0:
        return float("-inf")
    power = np.einsum("ijk,ijk->i", *(audio[: frames * block].reshape(frames, block, -1),) * 2)
    power = power / (block * audio.shape[1])
    loudest = float(power.max())
    if loudest <= 1e-12:
        return float("-inf")
    active = power[power >= loudest * 1e-4]
    return float(10.0 * np.log10(active.mean()))


def balance(stems: dict[str, np.ndarray], genre: str, sr: int) -> None:
    """Gain-stage each stem to its place in the genre's balance (in place).

    Synth voices differ in level by tens of dB; a mix engineer sets faders by ear, we set
    them by measured level. Levels sit around -20 dBFS so the mix compressors work as
    designed instead of flattening whatever arrives hottest.
    """
    offsets = GENRE_LEVEL_OFFSETS.get(genre, {})
    for name, audio in stems.items():
        level = active_level(audio, sr)
        if not np.isfinite(level):
            continue
        target = STEM_LEVELS[name] + offsets.get(name, 0.0)
        audio *= np.float32(10.0 ** ((target - level) / 20.0))


def _pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law, normalised so the centre is unity on both sides."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4.0  # math: called once per note
    return math.cos(angle) * math.sqrt(2.0), math.sin(angle) * math.sqrt(2.0)


def _velocity_layer(velocity: float) -> tuple[float, float]:
    """(velocity to render at, remaining gain): few layers keep the instrument cache small."""
    layer = max(1, round(velocity * VELOCITY_LAYERS)) / VELOCITY_LAYERS
    return layer, velocity / layer


def _render_track(
    track: Track,
    arrangement: Arrangement,
    sr: int,
    frames: int,
    wrap: bool,
    stem: np.ndarray,
) -> None:
    """Add one track into its stereo stem.

    Each note is overlap-added straight into the interleaved stem, each channel at its pan
    gain (BLAS axpy: scale and add in place, no temporaries).
    """
    gain = 10.0 ** (track.gain_db / 20.0)
    highpass = highpass_hz(track.stem)  # the mix's, applied to each cached sound
    if track.kind == "fx":
        _render_fx(track, arrangement, sr, frames, wrap, stem.reshape(-1), gain, highpass)
        return
    spb = arrangement.beat_seconds
    # Pitched tracks with width spread their notes by pitch; everything else sits at `pan`.
    spread = track.kind == "pitched" and track.width > 0 and bool(track.events)
    centre = float(np.median([e.pitch for e in track.events])) if spread else 0.0
    flat = stem.reshape(-1)  # interleaved L R L R ...
    for index, event in enumerate(track.events):
        layer, rest = _velocity_layer(event.velocity)
        if track.kind == "drum":
            tone = (
                TOM_TONE.get(int(event.pitch), track.brightness)
                if track.instrument == "tom"
                else track.brightness
            )
            # A few round-robin variants keep fast hats from sounding like a machine gun.
            variant = index % 4 if track.instrument in ("hat_closed", "shaker", "ride") else 0
            sound = instruments.drum_hit(
                track.instrument,
                sr=sr,
                kit=track.kit,
                velocity=layer,
                tone=tone,
                seed=variant,
                tonic=arrangement.key.tonic,
                highpass_hz=highpass,
            )
        else:
            lfo = event.lfo_per_beat / spb if event.lfo_per_beat else None
            sound = instruments.note(
                track.instrument,
                event.pitch,
                round(event.duration * spb, 2),
                sr=sr,
                velocity=layer,
                brightness=track.brightness,
                glide_from=event.glide_from,
                mod_rate=lfo,
                highpass_hz=highpass,
            )
        pan = track.pan
        if spread:
            pan = track.width * (float(event.pitch) - centre) / 12.0  # clamped by the pan law
        left, right = _pan_gains(pan)
        start = round(event.time * spb * sr)
        _add(flat, sound, rest * gain * left, rest * gain * right, start, frames, wrap)


def _add(
    flat: np.ndarray,
    sound: np.ndarray,
    left: float,
    right: float,
    start: int,
    frames: int,
    wrap: bool,
) -> None:
    """Overlap-add mono `sound` at `start` into an interleaved stereo buffer, panned.

    BLAS axpy scales and adds in place, writing each channel by stride: no temporaries.
    Past `frames` the sound wraps to the start (loops) or is dropped.
    """
    if start >= frames:
        if not wrap:
            return
        start %= frames
    sound = np.ascontiguousarray(sound, dtype=np.float32)
    while len(sound):
        take = min(frames - start, len(sound))
        for channel, amount in ((0, left), (1, right)):
            blas.saxpy(sound, flat, n=take, a=amount, offy=2 * start + channel, incy=2)
        if not wrap:
            return
        sound, start = sound[take:], 0  # a tail longer than the loop wraps more than once


def _render_fx(
    track: Track,
    arrangement: Arrangement,
    sr: int,
    frames: int,
    wrap: bool,
    flat: np.ndarray,
    gain: float,
    highpass: float,
) -> None:
    spb = arrangement.beat_seconds
    for index, event in enumerate(track.events):
        seconds = event.duration * spb
        start = round(event.time * spb * sr)
        amount = gain * event.velocity
        if track.instrument == "vinyl":
            crackle = np.asarray(
                instruments.vinyl_crackle(
                    seconds, sr=sr, seed=arrangement.seed, highpass_hz=highpass
                ),
                np.float32,
            )
            for channel in range(2):
                side = (amount, 0.0) if channel == 0 else (0.0, amount)
                _add(flat, crackle[:, channel], *side, start, frames, wrap)
        else:  # riser: two decorrelated noise sweeps make it wide
            for channel in range(2):
                sweep = instruments.noise_riser(
                    seconds, sr=sr, seed=2 * index + channel, highpass_hz=highpass
                )
                side = (amount, 0.0) if channel == 0 else (0.0, amount)
                _add(flat, sweep, *side, start, frames, wrap)


def sidechain_envelope(
    arrangement: Arrangement, sr: int, frames: int, *, wrap: bool = False
) -> np.ndarray:
    """0..1 duck amount over time: jumps up at each kick and recovers over a quarter note.

    The short ramp in keeps the duck itself from clicking.
    """
    spb = arrangement.beat_seconds
    release = int(SIDECHAIN_RELEASE_BEATS * spb * sr)
    attack = max(1, int(0.004 * sr))
    t = np.arange(release, dtype=np.float32) / release
    kernel = np.where(t < 0.15, 1.0, np.cos(np.clip((t - 0.15) / 0.85, 0, 1) * np.pi / 2) ** 2)
    kernel[:attack] *= np.linspace(0.0, 1.0, attack)
    env = np.zeros(frames + release, dtype=np.float32)
    for event in arrangement.tracks["kick"].events:
        start = round(event.time * spb * sr)
        segment = env[start : start + release]
        np.maximum(segment, kernel[: len(segment)] * min(1.0, event.velocity * 1.1), out=segment)
    if wrap:
        env[:release] = np.maximum(env[:release], env[frames : frames + release])
    return env[:frames]


def _apply_sidechain(
    stems: dict[str, np.ndarray], arrangement: Arrangement, sr: int, frames: int, wrap: bool
) -> None:
    env = sidechain_envelope(arrangement, sr, frames, wrap=wrap)
    for stem, amount in SIDECHAIN_AMOUNT.items():
        depth = np.float32(arrangement.sidechain * amount)
        scale_frames(stems[stem], 1.0 - depth * env, out=stems[stem])
