"""Arrangement -> stereo stems: overlap-add of cached instrument renders, placed in the stereo
field, then the stem-level stages (balance, filter automation, sidechain, a genre's tape).

Every stem is exactly the arrangement's length (whole bars), so stems, loops and the MIDI
line up sample for sample. What rings past the end is handled one of two ways:
- `wrap=False` (a finished beat): tails are cut, with a short fade so the end never clicks;
- `wrap=True` (a loop): tails wrap round onto the start, as they would when the loop
  repeats, so the loop plays seamlessly.

Instruments are rendered once per distinct sound and cached by engine.instruments: a note
per (voice, pitch, length, side), its velocity a plain gain (no voice's timbre follows it);
a drum hit per (drum, kit, velocity layer, variant), since a harder hit is a brighter one.

Where things sit (the mix is wide above ~150 Hz and mono below, as a producer leaves it):
- drums by DRUM_PLACEMENT (kick, snare, clap centred; hats, cymbals and percussion around
  them, as a kit is miked), their rooms decorrelated left/right (engine.instruments.ROOMS);
- a pitched track's `width` is realised by its voice: detuned stacks and sections as a
  left/right pair of differently detuned voices (instruments.PAIRED), keys through a stereo
  chorus or short moving delay (CHORUS), other voices through a quieter short delay (DOUBLE);
  width 0 leaves a track a point at its `pan` (basses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from engine import instruments
from engine.compose import STEM_NAMES, Arrangement, FilterMove, Track
from engine.dynamics import scale_frames
from engine.kernels import modulated_delay, stereo_chorus, sweep_filter
from engine.mix import highpass_hz
from engine.synth import SWEEP_HOP, cutoff_curve, pan_gains

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
# Velocity layers per drum: two (soft, hard) where a ghost note sounds unlike a hit (a softer
# snare is a darker snare); one elsewhere, velocity a plain gain. Each layer, with the round
# robin and the room, is a render of its own, and each new kit a take draws starts cold:
# a 30 s take on a new kit spent 80 ms synthesising drums with two layers for every drum.
DRUM_VELOCITY_LAYERS = {"snare": 2, "clap": 2, "rim": 2, "tom": 2}
END_FADE_SECONDS = 0.03
TOM_TONE = {50: 0.8, 48: 0.65, 45: 0.5, 43: 0.35}
# Variants of each drum hit, played in turn: four where hits come fast (a 16th-note hat);
# two elsewhere (enough that no noise repeats bar on bar); none for a tuned tom or a crash.
ROUND_ROBIN = {"hat_closed": 4, "hat_open": 4, "shaker": 4, "ride": 4, "tom": 1, "crash": 1}
# Sidechain: how much each stem ducks (fraction of the arrangement's depth), and the duck's
# recovery time in beats (a quarter-note pump).
SIDECHAIN_AMOUNT = {"bass": 1.0, "chords": 0.8, "melody": 0.45, "fx": 0.3}
SIDECHAIN_RELEASE_BEATS = 0.45

# Where each drum sits (pan -1 left .. +1 right), seen from the audience of a right-handed
# kit: hats right, ride and crash left, toms from high (right) to floor (left); percussion
# fills the sides. Drum tracks are placed here (compose leaves their Track.pan at 0).
DRUM_PLACEMENT: dict[str, float] = {
    "kick": 0.0,
    "snare": 0.0,
    "clap": 0.0,
    "rim": -0.2,
    "hat_closed": 0.32,
    "hat_open": 0.38,
    "ride": -0.4,
    "crash": -0.45,
    "shaker": -0.5,
    "conga": 0.45,
    "cowbell": 0.35,
    "tom": 0.0,
}
TOM_PLACEMENT = {50: 0.35, 48: 0.12, 45: -0.12, 43: -0.35}


@dataclass(frozen=True)
class Chorus:
    """A stereo chorus: the voice plus a copy read through a slowly moving delay, added to
    the left and taken from the right (a mid/side chorus), so left and right differ while
    their sum is the dry voice alone. A near-still delay is a short stereo delay (each side a
    comb whose peaks sit in the other's notches)."""

    delay_ms: float
    depth_ms: float
    rate_hz: float
    wet: float


# Keys are widened by a chorus or a short moving delay, by instrument: a Rhodes is classic
# through a lush slow chorus, an organ through a rotary-speed one; an acoustic piano only
# through a near-static short delay (a chorus on a piano sounds like a cheap keyboard).
CHORUS: dict[str, Chorus] = {
    "rhodes": Chorus(9.0, 2.2, 0.7, 0.85),
    "felt": Chorus(12.0, 1.0, 0.35, 0.8),
    "organ": Chorus(5.0, 0.6, 5.8, 0.8),
    "piano": Chorus(14.0, 0.35, 0.25, 0.8),
    "vibes": Chorus(10.0, 1.5, 0.5, 0.8),
    "nylon": Chorus(12.0, 0.7, 0.4, 0.75),
    "marimba": Chorus(11.0, 0.5, 0.3, 0.7),
}
# Any other unpaired voice with width (leads, bells, plucks, flutes) gets a quieter short
# stereo delay: a double that widens it without pushing it off the centre.
DOUBLE = Chorus(11.0, 0.3, 0.2, 0.6)
# Cost: one compiled pass over the track, 5.6 ms per 30 s keys track, every beat.
CHORUS_HOP = 32  # control step of the chorus's and the tape's moving delay
PAIR_APART = 0.6  # the width at which a pair's sides are fully separate (compose's pads: 0.6)


@dataclass(frozen=True)
class Tape:
    """A genre's bus character: a low-pass over everything (applied to each cached sound: the
    filter is linear, so that is the bus's low-pass at no cost per beat) and wow and flutter
    (a moving tape speed) on the tonal stems, where pitch wobble is heard."""

    lowpass_hz: float
    wow_cents: float
    wow_hz: float
    flutter_cents: float
    flutter_hz: float
    stems: tuple[str, ...] = ("bass", "chords", "melody")


# Lo-fi: a worn cassette: highs gone above ~7 kHz, a slow ±9-cent wow, a light 6.5 Hz flutter.
# Cost: the wow 21 ms per 30 s beat (three stems, compiled); the low-pass 0.7 ms per new note.
GENRE_TAPE: dict[str, Tape] = {"lo-fi": Tape(7000.0, 9.0, 0.5, 2.5, 6.5)}
AUTOMATION_FADE_SECONDS = 0.01  # a filter move fades in and out over this long
# One two-pole stage, Q 0.8 (a hint of resonance at the cutoff, as a synth's or a DJ
# mixer's filter has): 12 dB/octave, which still takes a 300 Hz intro's hats 57 dB down.
# Two stages (24 dB/octave) cost 50 ms more per 30 s edm take, where compose automates six
# stems through the intro, build, break and outro: a fifth of the render.
AUTOMATION_DAMPING = np.array([1.0 / 0.8])


def render(
    arrangement: Arrangement,
    *,
    sr: int = 44100,
    wrap: bool = False,
    on_group: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Stereo float32 stems keyed by STEM_NAMES, each exactly `arrangement.duration` long."""
    return render_leveled(arrangement, sr=sr, wrap=wrap, on_group=on_group)[0]


def render_leveled(
    arrangement: Arrangement,
    *,
    sr: int = 44100,
    wrap: bool = False,
    on_group: Callable[[str], None] | None = None,
    gains: Mapping[str, float] | None = None,
    tape_seconds: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """`render`, with the whole-beat level decisions an edit keeps: `gains` (linear, per
    stem) instead of measuring the balance for the stems they name, and `tape_seconds` the
    span the tape's wow cycles over (the beat before an edit), so an edited beat plays its
    kept bars at the levels and the wobble they had. Returns the stems and every stem's
    balance gain."""
    frames = round(arrangement.duration * sr)
    stems = {name: np.zeros((frames, 2), dtype=np.float32) for name in STEM_NAMES}
    tape = GENRE_TAPE.get(arrangement.genre)
    for group, stem_names in GROUPS.items():
        if on_group is not None:
            on_group(group)
        for track in arrangement.tracks.values():
            if track.stem in stem_names:
                place = _Placement(arrangement, sr, frames, wrap, tape)
                place.track(track, stems[track.stem])
    used = balance(stems, arrangement.genre, sr, gains)
    for move in arrangement.automation:
        apply_filter_move(stems, move, arrangement.beat_seconds, sr)
    if arrangement.sidechain > 0 and "kick" in arrangement.tracks:
        _apply_sidechain(stems, arrangement, sr, frames, wrap)
    if tape is not None:
        _wow_and_flutter(stems, tape, arrangement, sr, wrap, tape_seconds)
    if not wrap:
        fade = min(frames, int(END_FADE_SECONDS * sr))
        ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
        for audio in stems.values():
            scale_frames(audio[frames - fade :], ramp, out=audio[frames - fade :])
    return stems, used


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


def balance(
    stems: dict[str, np.ndarray],
    genre: str,
    sr: int,
    gains: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Gain-stage each stem to its place in the genre's balance (in place); returns the gain
    each sounding stem got. A stem named in `gains` gets that gain instead (an edit keeps
    the levels of the beat it edits).

    Synth voices differ in level by tens of dB; a mix engineer sets faders by ear, we set
    them by measured level. Levels sit around -20 dBFS so the mix compressors work as
    designed instead of flattening whatever arrives hottest.
    """
    offsets = GENRE_LEVEL_OFFSETS.get(genre, {})
    used: dict[str, float] = {}
    for name, audio in stems.items():
        if gains is not None and name in gains:
            gain = np.float32(gains[name])
        else:
            level = active_level(audio, sr)
            if not np.isfinite(level):
                continue
            target = STEM_LEVELS[name] + offsets.get(name, 0.0)
            gain = np.float32(10.0 ** ((target - level) / 20.0))
        audio *= gain
        used[name] = float(gain)
    return used


def _velocity_layer(velocity: float, layers: int) -> tuple[float, float]:
    """(velocity a drum hit is rendered at, remaining gain): few layers, few renders."""
    layer = max(1, round(velocity * layers)) / layers
    return layer, velocity / layer


def drum_pan(track: Track, pitch: float) -> float:
    """Where a drum track's hit sits: the placement table (toms by which tom)."""
    if track.instrument == "tom":
        return TOM_PLACEMENT.get(int(pitch), 0.0)
    return DRUM_PLACEMENT.get(track.instrument, 0.0)


class _Placement:
    """Renders one track's sounds and places them into its stereo stem."""

    def __init__(
        self, arrangement: Arrangement, sr: int, frames: int, wrap: bool, tape: Tape | None
    ) -> None:
        self.arrangement = arrangement
        self.sr = sr
        self.frames = frames
        self.wrap = wrap
        self.lowpass = tape.lowpass_hz if tape is not None else 0.0

    def track(self, track: Track, stem: np.ndarray) -> None:
        gain = 10.0 ** (track.gain_db / 20.0)
        highpass = highpass_hz(track.stem)  # the mix's, applied to each cached sound
        flat = stem.reshape(-1)  # interleaved L R L R ...
        if track.kind == "fx":
            self.fx(track, flat, gain, highpass)
        elif track.kind == "drum":
            self.drums(track, flat, gain, highpass)
        elif track.instrument in instruments.PAIRED or track.width <= 0:
            self.pitched(track, flat, gain, highpass)
        else:
            self.chorused(track, stem, gain, highpass)

    def start(self, beat: float) -> int:
        return round(beat * self.arrangement.beat_seconds * self.sr)

    def drums(self, track: Track, flat: np.ndarray, gain: float, highpass: float) -> None:
        tonic = self.arrangement.key.tonic
        layers = DRUM_VELOCITY_LAYERS.get(track.instrument, 1)
        for index, event in enumerate(track.events):
            layer, rest = _velocity_layer(event.velocity, layers)
            tone = (
                TOM_TONE.get(int(event.pitch), track.brightness)
                if track.instrument == "tom"
                else track.brightness
            )
            # Round-robin variants (each its own noise) keep fast hats from sounding like a
            # machine gun, and keep a drum's noise from printing the same spectral peaks into
            # every bar (a chroma key reading heard the kick's as notes). Toms are tuned
            # per hit already; a crash rarely repeats.
            variant = index % ROUND_ROBIN.get(track.instrument, 2)
            sound = instruments.drum_hit(
                track.instrument,
                sr=self.sr,
                kit=track.kit,
                velocity=layer,
                tone=tone,
                seed=variant,
                tonic=tonic,
                highpass_hz=highpass,
                lowpass_hz=self.lowpass,
                pan=drum_pan(track, event.pitch),
            )
            start = self.start(event.time)
            _add_interleaved(flat, sound, rest * gain, start, self.frames, self.wrap)

    def _note(self, track: Track, event, highpass: float, side: int) -> np.ndarray:
        """The event's note at full velocity (the caller applies the velocity as a gain)."""
        spb = self.arrangement.beat_seconds
        return instruments.note(
            track.instrument,
            event.pitch,
            round(event.duration * spb, 2),
            sr=self.sr,
            velocity=1.0,
            brightness=track.brightness,
            glide_from=event.glide_from,
            mod_rate=event.lfo_per_beat / spb if event.lfo_per_beat else None,
            seed=side,
            highpass_hz=highpass,
            lowpass_hz=self.lowpass,
        )

    def pitched(self, track: Track, flat: np.ndarray, gain: float, highpass: float) -> None:
        """Notes at the track's pan; a PAIRED voice with width as a pair of players."""
        width = min(1.0, max(0.0, track.width))
        paired = track.instrument in instruments.PAIRED and width > 0
        # A pair's two players are fully apart from PAIR_APART up; narrower, each side hears
        # some of the other.
        apart = min(1.0, width / PAIR_APART)
        near, far = (1.0 + apart) / 2.0, (1.0 - apart) / 2.0
        left, right = pan_gains(track.pan)
        for event in track.events:
            start = self.start(event.time)
            level = event.velocity * gain
            to_left, to_right = level * left, level * right
            if not paired:
                sound = self._note(track, event, highpass, 0)
                self.add(flat, sound, to_left, to_right, start)
                continue
            for side, (mine, other) in enumerate(((near, far), (far, near))):
                sound = self._note(track, event, highpass, side)
                self.add(flat, sound, to_left * mine, to_right * other, start)

    def chorused(self, track: Track, stem: np.ndarray, gain: float, highpass: float) -> None:
        """Keys: the track's notes summed dry in mono, then through its stereo chorus into the
        stem. The chorus is one pass over the track (a moving delay per side, compiled)."""
        dry = np.zeros((self.frames, 1), dtype=np.float32)
        flat = dry.reshape(-1)
        for event in track.events:
            sound = self._note(track, event, highpass, 0)
            self.add_mono(flat, sound, event.velocity * gain, self.start(event.time))
        setting = CHORUS.get(track.instrument, DOUBLE)
        # Narrow parts get less of it, but the square root keeps a melody's 0.2 audible.
        wet = setting.wet * min(1.0, max(0.0, track.width) / PAIR_APART) ** 0.5
        # The moved copy goes in with opposite signs (a mid/side chorus): left and right
        # differ, yet the mono sum is the dry note alone: a chorus that can never comb.
        gains = np.array(pan_gains(track.pan))
        delay = self._chorus_delay(setting)
        stereo_chorus(flat, delay, CHORUS_HOP, wet, gains, self.wrap, stem)

    def _chorus_delay(self, setting: Chorus) -> np.ndarray:
        """The chorus's delay (frames) every CHORUS_HOP frames: a slow sine round its centre."""
        steps = -(-self.frames // CHORUS_HOP) + 1
        t = np.arange(steps) * (CHORUS_HOP / self.sr)
        rate = setting.rate_hz
        if self.wrap:  # whole cycles over a loop, so it repeats seamlessly
            rate = max(1, round(rate * self.frames / self.sr)) * self.sr / self.frames
        swing = setting.depth_ms * np.sin(2.0 * np.pi * rate * t)
        return (setting.delay_ms + swing) * self.sr / 1000.0

    def fx(self, track: Track, flat: np.ndarray, gain: float, highpass: float) -> None:
        spb = self.arrangement.beat_seconds
        seed = self.arrangement.seed
        filters = {"sr": self.sr, "highpass_hz": highpass, "lowpass_hz": self.lowpass}
        for index, event in enumerate(track.events):
            seconds = event.duration * spb
            start = self.start(event.time)
            amount = gain * event.velocity
            if track.instrument == "vinyl":
                sound = instruments.vinyl_crackle(seconds, seed=seed, **filters)
            elif track.instrument == "impact":
                sound = instruments.impact(round(seconds, 2), seed=index % 4, **filters)
            elif track.instrument == "downlifter":
                sound = instruments.downlifter(round(seconds, 2), seed=index % 4, **filters)
            else:  # riser: two decorrelated noise sweeps make it wide
                sound = np.stack(
                    [
                        instruments.noise_riser(seconds, seed=2 * index + side, **filters)
                        for side in range(2)
                    ],
                    axis=1,
                )
            self.add(flat, sound, amount, amount, start)

    def add(
        self, flat: np.ndarray, sound: np.ndarray, left: float, right: float, start: int
    ) -> None:
        """Overlap-add a mono sound (panned) or a stereo one (each side its gain)."""
        sides = 1 if sound.ndim == 1 else 2
        _overlap_add(flat, sound, sides, (left, right), start, self.frames, self.wrap, 2)

    def add_mono(self, flat: np.ndarray, sound: np.ndarray, gain: float, start: int) -> None:
        """Overlap-add a sound into a mono buffer (a stereo sound folds to its mid)."""
        mono = sound if sound.ndim == 1 else sound.mean(axis=1)
        _overlap_add(flat, mono, 1, (gain,), start, self.frames, self.wrap, 1)


def _add_interleaved(
    flat: np.ndarray, sound: np.ndarray, gain: float, start: int, frames: int, wrap: bool
) -> None:
    """Overlap-add stereo (n, 2) `sound` at frame `start` into an interleaved stereo buffer at
    one gain: one contiguous BLAS multiply-add over both channels at once."""
    _overlap_add(flat, sound.reshape(-1), 1, (gain,), 2 * start, 2 * frames, wrap, 1)


def _overlap_add(
    flat: np.ndarray,
    sound: np.ndarray,
    sides: int,
    gains: tuple[float, ...],
    start: int,
    frames: int,
    wrap: bool,
    channels: int,
) -> None:
    """Overlap-add `sound` (mono, or interleaved with `sides` channels) at frame `start` into
    an interleaved buffer of `channels`, channel c at gains[c] (from the sound's channel c,
    or its only one). BLAS axpy scales and adds in place, reading and writing by stride: no
    temporaries. Past `frames` the sound wraps to the start (loops) or is dropped."""
    if start >= frames:
        if not wrap:
            return
        start %= frames
    source = np.ascontiguousarray(sound, dtype=np.float32).reshape(-1)
    length = len(source) // sides
    offset = 0
    while offset < length:
        take = min(frames - start, length - offset)
        for channel, amount in enumerate(gains):
            if amount:
                blas.saxpy(
                    source,
                    flat,
                    n=take,
                    a=amount,
                    offx=offset * sides + min(channel, sides - 1),
                    incx=sides,
                    offy=channels * start + channel,
                    incy=channels,
                )
        if not wrap:
            return
        offset, start = offset + take, 0  # a tail longer than the loop wraps more than once


# --- stem stages -------------------------------------------------------------------------------


def stems_of(move: FilterMove) -> tuple[str, ...]:
    """The stems a move names ("drums" stands for the four drum stems)."""
    names: list[str] = []
    for name in move.stems:
        names.extend(GROUPS["drums"] if name == "drums" else (name,))
    return tuple(n for n in dict.fromkeys(names) if n in STEM_NAMES)


def apply_filter_move(
    stems: dict[str, np.ndarray], move: FilterMove, beat_seconds: float, sr: int
) -> None:
    """One FilterMove, in place: its stems through a 12 dB/octave low- or high-pass whose
    cutoff glides from `from_hz` to `to_hz` on a log scale over the move (a DJ's filter
    sweep), faded in and out over AUTOMATION_FADE_SECONDS; untouched outside it."""
    if move.kind not in ("lowpass", "highpass") or move.from_hz <= 0 or move.to_hz <= 0:
        raise ValueError(f"Unplayable filter move: {move}")
    frames = len(next(iter(stems.values())))
    start = max(0, round(move.start * beat_seconds * sr))
    stop = min(frames, round(move.end * beat_seconds * sr))
    if stop - start < 2:
        return
    span = stop - start
    position = np.arange(0, span + SWEEP_HOP, SWEEP_HOP) / span
    cutoff = move.from_hz * (move.to_hz / move.from_hz) ** np.minimum(position, 1.0)
    g = cutoff_curve(np.repeat(cutoff, SWEEP_HOP), sr)  # cutoff_curve samples every hop
    fade = min(span // 2, round(AUTOMATION_FADE_SECONDS * sr))
    for name in stems_of(move):
        audio = stems[name]
        if not np.any(audio[start:stop]):
            continue
        sweep_filter(
            audio, start, stop, g, SWEEP_HOP, AUTOMATION_DAMPING, move.kind == "highpass", fade
        )


def _wow_and_flutter(
    stems: dict[str, np.ndarray],
    tape: Tape,
    arrangement: Arrangement,
    sr: int,
    wrap: bool,
    tape_seconds: float | None = None,
) -> None:
    """The tape's moving speed on its stems, in place: every stem read through the same
    moving delay (a tape's stems wobble together). Rates are whole cycles over the beat (or
    over `tape_seconds`, the beat before an edit, whose wobble the kept bars keep), so a
    loop's end meets its start; a loop is read round its end, so its start loses nothing."""
    frames = len(stems["bass"])
    duration = tape_seconds if tape_seconds is not None else frames / sr
    steps = -(-frames // CHORUS_HOP) + 1
    t = np.arange(steps) * (CHORUS_HOP / sr)
    delay = np.zeros(steps)
    phase = np.random.default_rng(arrangement.seed).uniform(0.0, 1.0, 2)
    depth_total = 0.0
    for cents, rate, offset in (
        (tape.wow_cents, tape.wow_hz, phase[0]),
        (tape.flutter_cents, tape.flutter_hz, phase[1]),
    ):
        cycles = max(1, round(rate * duration))
        rate = cycles / duration
        # A delay swinging by D seconds at f Hz bends the pitch by up to 2πfD: D for `cents`.
        depth = (2.0 ** (cents / 1200.0) - 1.0) / (2.0 * np.pi * rate) * sr
        delay += depth * np.sin(2.0 * np.pi * (rate * t + offset))
        depth_total += depth
    delay += depth_total + 1.0
    for name in tape.stems:
        if np.any(stems[name]):
            stems[name][:] = modulated_delay(stems[name], delay, CHORUS_HOP, wrap)


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
