"""Each genre's sound palette: the kits and voices a producer of that genre would reach for.

A take picks one option per role from its seed, so three seeds of one prompt sound like three
producers' takes while staying in the genre. Option 0 of every role is the genre's classic
sound. Every name here is a kit in `instruments.KITS` or a voice in `instruments.INSTRUMENTS`;
alternatives for a role must fit how the genre plays that role (its `Style.bass_style`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.errors import EngineInputError


@dataclass(frozen=True)
class Palette:
    """The options per role (2-4 each where the genre has them)."""

    kits: tuple[str, ...]
    bass: tuple[str, ...]
    chords: tuple[str, ...]
    melody: tuple[str, ...]


@dataclass(frozen=True)
class Sound:
    """One take's choice: a kit and a voice per pitched role."""

    kit: str
    bass: str
    chords: str
    melody: str


# Each option is a distinct sound that fits how the genre plays the role (its Style's
# bass_style, chord_style, melody_style): an 808-style bass line gets an 808 (clean or
# driven), a walking line an upright or an electric, off-beat stabs a stab-friendly voice.
PALETTES: dict[str, Palette] = {
    # Trap: the clean 808 or the driven one; a hard, modern kit or a dusty one; dark pads or
    # strings under bells, plucks, a breathy flute or mallets.
    "trap": Palette(
        kits=("808", "hard", "dusty"),
        bass=("808", "808_dirty"),
        chords=("pad", "strings", "felt"),
        melody=("bell", "flute", "marimba", "pluck"),
    ),
    # Lo-fi: Rhodes, a felt piano or a nylon guitar, a soft bass; a worn kit or a brushed one.
    "lo-fi": Palette(
        kits=("lofi", "dusty", "jazz"),
        bass=("bass", "upright", "sub"),
        chords=("rhodes", "felt", "nylon"),
        melody=("pluck", "nylon", "flute", "vibes"),
    ),
    # Boom bap: a chopped piano, Rhodes or horn stabs over a dusty kit or a break.
    "boom bap": Palette(
        kits=("dusty", "breakbeat", "lofi"),
        bass=("bass", "upright"),
        chords=("piano", "rhodes", "brass"),
        melody=("strings", "flute", "vibes"),
    ),
    # House: organ, piano or a synth stab on the off-beats; a 909 or a rounder analog kit.
    "house": Palette(
        kits=("909", "analog"),
        bass=("bass", "fm_bass", "acid"),
        chords=("organ", "piano", "stab"),
        melody=("piano", "pluck", "marimba"),
    ),
    "drill": Palette(
        kits=("808", "hard"),
        bass=("808", "808_dirty"),
        chords=("strings", "pad", "brass"),
        melody=("piano", "bell", "flute"),
    ),
    "drum and bass": Palette(
        kits=("breakbeat", "acoustic", "hard"),
        bass=("reese", "growl"),
        chords=("pad", "strings", "rhodes"),
        melody=("pluck", "bell", "marimba"),
    ),
    # Techno: a 909 or an analog kit, a plain or an acid bass line, pads or stabs.
    "techno": Palette(
        kits=("909", "analog"),
        bass=("bass", "acid"),
        chords=("pad", "stab"),
        melody=("pluck", "acid", "bell"),
    ),
    "hip hop": Palette(
        kits=("dusty", "breakbeat", "808"),
        bass=("bass", "upright", "sub"),
        chords=("rhodes", "piano", "felt"),
        melody=("bell", "flute", "vibes"),
    ),
    "r&b": Palette(
        kits=("acoustic", "808", "lofi"),
        bass=("bass", "fm_bass", "sub"),
        chords=("rhodes", "pad", "felt"),
        melody=("pluck", "bell", "nylon"),
    ),
    "pop": Palette(
        kits=("909", "acoustic", "hard"),
        bass=("bass", "fm_bass", "sub"),
        chords=("piano", "stab", "pluck"),
        melody=("lead", "pluck", "marimba", "bell"),
    ),
    "edm": Palette(
        kits=("909", "hard"),
        bass=("bass", "fm_bass"),
        chords=("supersaw", "stab", "pad"),
        melody=("lead", "supersaw", "pluck"),
    ),
    # Dubstep: the wobble, or a talking growl; pads or strings under a lead, bell or pluck.
    "dubstep": Palette(
        kits=("808", "hard"),
        bass=("wobble", "growl"),
        chords=("pad", "strings", "brass"),
        melody=("lead", "bell", "pluck"),
    ),
    "jazz": Palette(
        kits=("jazz", "acoustic"),
        bass=("bass", "upright"),
        chords=("piano", "rhodes", "vibes"),
        melody=("rhodes", "vibes", "flute"),
    ),
    # Rock: a big rock kit or a looser, roomier break kit; double-tracked guitars or an organ.
    "rock": Palette(
        kits=("rock", "breakbeat"),
        bass=("bass", "fm_bass"),
        chords=("guitar", "organ"),
        melody=("lead", "guitar", "organ"),
    ),
}

# General MIDI programs (0-based) for the pitched voices, so the MIDI file opens on a fitting
# instrument in any DAW.
GM_PROGRAMS: dict[str, int] = {
    "808": 38,
    "808_dirty": 38,
    "sub": 38,
    "bass": 33,
    "upright": 32,
    "fm_bass": 39,
    "acid": 38,
    "reese": 39,
    "wobble": 39,
    "growl": 39,
    "rhodes": 4,
    "piano": 0,
    "felt": 0,
    "organ": 17,
    "stab": 90,
    "pad": 89,
    "supersaw": 90,
    "strings": 48,
    "brass": 61,
    "pluck": 45,
    "nylon": 24,
    "lead": 81,
    "bell": 10,
    "marimba": 12,
    "vibes": 11,
    "flute": 73,
    "guitar": 30,
}


def sound_for(genre: str, rng: np.random.Generator) -> Sound:
    """This take's kit and voices, one draw per role from `rng` (the seed's palette stream)."""
    palette = PALETTES[genre]

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    return Sound(
        kit=pick(palette.kits),
        bass=pick(palette.bass),
        chords=pick(palette.chords),
        melody=pick(palette.melody),
    )


# How a person says each voice (what a chat reply or an error names).
INSTRUMENT_LABELS: dict[str, str] = {
    "808": "808",
    "808_dirty": "distorted 808",
    "sub": "sub bass",
    "bass": "electric bass",
    "upright": "upright bass",
    "fm_bass": "FM bass",
    "acid": "acid bass",
    "reese": "reese bass",
    "wobble": "wobble bass",
    "growl": "growl bass",
    "rhodes": "Rhodes",
    "piano": "piano",
    "felt": "felt piano",
    "organ": "organ",
    "stab": "synth stabs",
    "pad": "pad",
    "supersaw": "supersaw",
    "strings": "strings",
    "brass": "brass",
    "pluck": "pluck",
    "nylon": "nylon guitar",
    "lead": "synth lead",
    "bell": "bells",
    "marimba": "marimba",
    "vibes": "vibraphone",
    "flute": "flute",
    "guitar": "electric guitar",
}
# The roles each chord or melody voice is built for, the first its natural one. Basses are
# not here: a bass voice only fits the bass lines its genre plays (the palette's options).
VOICE_ROLES: dict[str, tuple[str, ...]] = {
    "rhodes": ("chords", "melody"),
    "piano": ("chords", "melody"),
    "felt": ("chords", "melody"),
    "organ": ("chords", "melody"),
    "stab": ("chords",),
    "pad": ("chords",),
    "supersaw": ("chords", "melody"),
    "strings": ("chords", "melody"),
    "brass": ("chords", "melody"),
    "guitar": ("chords", "melody"),
    "nylon": ("chords", "melody"),
    "vibes": ("chords", "melody"),
    "pluck": ("melody", "chords"),
    "lead": ("melody",),
    "bell": ("melody",),
    "marimba": ("melody",),
    "flute": ("melody",),
}
ROLES = ("chords", "melody", "bass")


def includable(genre: str) -> tuple[str, ...]:
    """The voices "with X" may ask for in `genre`: every chord and melody voice, and the
    basses that play the genre's bass line (an 808 line wants an 808, a walking line an
    upright). Unknown genres have none."""
    palette = PALETTES.get(genre)
    if palette is None:
        return ()
    return (*VOICE_ROLES, *(v for v in palette.bass if v not in VOICE_ROLES))


def roles_for(genre: str, voice: str) -> tuple[str, ...]:
    """Where `voice` can play in `genre`, best first: the genre's own palette role(s), then
    the roles the voice is built for."""
    palette = PALETTES[genre]
    own = tuple(r for r in ROLES if voice in getattr(palette, r))
    built = VOICE_ROLES.get(voice, ("bass",) if voice in palette.bass else ())
    return tuple(dict.fromkeys((*own, *built)))


def voices_for(genre: str, include: tuple[str, ...]) -> dict[str, str]:
    """Role -> voice for the included voices, each in the best role still free. Raises
    EngineInputError (one sentence) when two voices need the same role."""
    chosen: dict[str, str] = {}
    for voice in include:
        free = [r for r in roles_for(genre, voice) if r not in chosen]
        if not free:
            taken = ", ".join(f"{INSTRUMENT_LABELS[v]} on {r}" for r, v in chosen.items())
            raise EngineInputError(
                f"There's no part left for {INSTRUMENT_LABELS.get(voice, voice)} "
                f"({taken}); ask for fewer instruments."
            )
        chosen[free[0]] = voice
    return chosen


def with_voices(sound: Sound, voices: dict[str, str]) -> Sound:
    """This take's sound with the asked-for voices in their roles."""
    return replace(sound, **voices) if voices else sound
