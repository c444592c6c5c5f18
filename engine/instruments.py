"""Every sound BeatBot plays, synthesized (no samples): drums, basses, keys, pads, leads, fx.

This is the engine's one door to its sounds: the names (DRUMS, KITS, INSTRUMENTS), checks on
them, and the caches. The sounds themselves are built in engine.drums, engine.voices and
engine.textures from engine.synth's oscillators and filters.

Each sound is a few vectorised numpy/scipy operations on a whole note, so a beat's notes
render in milliseconds. Results are cached (same arguments -> the same read-only array), so a
drum pattern renders each distinct hit once. Callers copy or add, never write in place.
A note is mono (n,); a drum hit (placed, with its room) and a transition effect are stereo
(n, 2).
"""

from __future__ import annotations

import numpy as np
from cachetools import LRUCache, cached

from engine import drums, textures, voices
from engine.errors import EngineInputError
from engine.sends import room_tail
from engine.synth import finish, hz, pan_gains

DRUMS: tuple[str, ...] = tuple(drums.VOICES)
KITS: tuple[str, ...] = drums.KITS
INSTRUMENTS: tuple[str, ...] = tuple(voices.VOICES)
PAIRED = voices.PAIRED
vinyl_crackle = textures.vinyl_crackle
noise_riser = textures.noise_riser
impact = textures.impact
downlifter = textures.downlifter
tuned = drums.tuned
kick_hz = drums.kick_hz

__all__ = [
    "DRUMS",
    "INSTRUMENTS",
    "KITS",
    "PAIRED",
    "ROOMS",
    "downlifter",
    "drum_hit",
    "hz",
    "impact",
    "kick_hz",
    "noise_riser",
    "note",
    "tuned",
    "vinyl_crackle",
]

# How much of a short room each drum gets (its energy relative to the dry hit, as an
# amplitude). Snare, clap and percussion in a dead, dry box sound like a drum machine's
# demo; a short room (0.5 s, engine.sends.room_tail) puts them in a space and spreads them
# across the field (the room's two sides are decorrelated). Hats and ride get a touch, for
# air. Kick and crash get none: the kick stays mono and tight, a crash is its own wash.
# Cost: 2 ms per distinct hit, once (one FFT against the room's cached spectra); nothing
# per beat after, but the hit's overlap-add grows by the 0.55 s room (about 2 ms a beat).
ROOMS: dict[str, float] = {
    "snare": 0.42,
    "clap": 0.5,
    "rim": 0.3,
    "conga": 0.28,
    "tom": 0.25,
    "cowbell": 0.25,
    "shaker": 0.25,
    "hat_closed": 0.14,
    "hat_open": 0.16,
    "ride": 0.12,
}
# Worn, close-miked kits sit in smaller, deader rooms; bright modern kits in more.
_KIT_ROOM = {"lofi": 0.7, "dusty": 0.8, "jazz": 1.2, "rock": 1.15, "hard": 0.85}


def _check(name: str, known: tuple[str, ...], what: str) -> None:
    if name not in known:
        raise EngineInputError(f"There is no {what} called {name!r}; I have {', '.join(known)}.")


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
    lowpass_hz: float = 0.0,
    pan: float = 0.0,
) -> np.ndarray:
    """One drum hit, decay and room included, placed at `pan`: stereo (n, 2) float32 whose
    dry hit peaks at `velocity` (read-only). Stereo and placed already, so a beat adds each
    hit with one contiguous multiply-add (4x faster than panning two strided channels).

    `tonic` (a pitch class, C = 0) tunes the tuned drums (kick, snare, rim, conga, cowbell)
    to the song's key; `highpass_hz`/`lowpass_hz` apply the stem's filters (see
    `synth.high_pass`).
    """
    _check(name, DRUMS, "drum")
    _check(kit, KITS, "drum kit")
    tonic = None if tonic is None or name not in drums.TUNED else int(tonic) % 12
    return _drum(
        name,
        sr,
        kit,
        round(float(velocity), 3),
        round(float(tone), 2),
        int(seed),
        tonic,
        float(highpass_hz),
        float(lowpass_hz),
        round(float(pan), 3),
    )


# Rendered sounds are cached by what makes them differ. The budgets are in bytes, not
# entries: a render process lives for many jobs, and a count-bounded cache of long pad notes
# grew by hundreds of MiB over a 30-minute soak before it filled.
DRUM_CACHE_BYTES = 96 * 2**20
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
    lowpass_hz: float,
    pan: float,
) -> np.ndarray:
    # Harder hits are a little brighter, as real drums are.
    tone = min(1.0, tone + 0.15 * (velocity - 0.7))
    voice = drums.VOICES[name]
    x = voice(sr, kit, tone, seed) if tonic is None else voice(sr, kit, tone, seed, tonic)
    wet = ROOMS.get(name, 0.0) * _KIT_ROOM.get(kit, 1.0)
    if wet:  # the room is linear: each cached hit carries its own, free on every later beat
        x = room_tail(np.asarray(x), wet, sr)
    elif x.ndim == 1:
        x = np.stack([x, x], axis=1)
    sound = finish(x, sr, velocity, highpass_hz, lowpass_hz) * np.array(
        pan_gains(pan), dtype=np.float32
    )
    sound.setflags(write=False)
    return sound


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
    lowpass_hz: float = 0.0,
) -> np.ndarray:
    """One note held for `duration` seconds, release tail included: mono float32 peaking at
    `velocity` (read-only). `pitch` is a MIDI note number; `glide_from` slides into it;
    `seed` 0/1 is the left/right side of a PAIRED voice; `highpass_hz`/`lowpass_hz` apply the
    stem's filters (see `synth.high_pass`)."""
    _check(instrument, INSTRUMENTS, "instrument")
    if not (0 < duration <= 60) or not (0 <= pitch <= 127):
        raise EngineInputError(f"A {instrument} note needs a pitch 0-127 and 0-60 s length.")
    return _note(
        instrument,
        round(float(pitch), 3),
        held_for(duration),
        sr,
        round(float(velocity), 3),
        round(float(np.clip(brightness, 0.0, 1.0)), 2),
        None if glide_from is None else round(float(glide_from), 3),
        round(float(glide_time), 3),
        None if mod_rate is None else round(float(mod_rate), 3),
        int(seed),
        float(highpass_hz),
        float(lowpass_hz),
    )


def held_for(duration: float) -> float:
    """How long a note is rendered held: to 10 ms, or to 50 ms from half a second (a long
    note's release starting 25 ms sooner or later is inaudible, and a beat's long chords
    and pads then share their renders instead of each length being its own)."""
    step = 0.05 if duration >= 0.5 else 0.01
    return round(round(float(duration) / step) * step, 2) or 0.01


def _glide_curve(f: float, n: int, sr: int, glide_from: float | None, glide_time: float):
    if glide_from is None:
        return f
    t = np.arange(n, dtype=np.float64) / sr
    start = hz(glide_from)
    # Exponential slide in pitch (linear in semitones), like an 808's portamento.
    ratio = np.clip(t / max(glide_time, 1e-3), 0.0, 1.0)
    return start * (f / start) ** ratio


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
    lowpass_hz: float,
) -> np.ndarray:
    voice, tail = voices.VOICES[instrument]
    n = int((duration + tail) * sr)
    f = _glide_curve(hz(pitch), n, sr, glide_from, glide_time)
    sound = voice(f, n, sr, duration, brightness, mod_rate, seed)
    return finish(sound, sr, velocity, highpass_hz, lowpass_hz)
