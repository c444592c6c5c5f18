"""Each genre's sound palette: the kits and voices a producer of that genre would reach for.

A take picks one option per role from its seed, so three seeds of one prompt sound like three
producers' takes while staying in the genre. Option 0 of every role is the genre's classic
sound. Every name here is a kit in `instruments.KITS` or a voice in `instruments.INSTRUMENTS`;
alternatives for a role must fit how the genre plays that role (its `Style.bass_style`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


PALETTES: dict[str, Palette] = {
    "trap": Palette(kits=("808",), bass=("808",), chords=("pad",), melody=("bell",)),
    "lo-fi": Palette(kits=("lofi",), bass=("bass",), chords=("rhodes",), melody=("pluck",)),
    "boom bap": Palette(kits=("dusty",), bass=("bass",), chords=("piano",), melody=("strings",)),
    "house": Palette(kits=("909",), bass=("bass",), chords=("organ",), melody=("piano",)),
    "drill": Palette(kits=("808",), bass=("808",), chords=("strings",), melody=("piano",)),
    "drum and bass": Palette(
        kits=("breakbeat",), bass=("reese",), chords=("pad",), melody=("pluck",)
    ),
    "techno": Palette(kits=("909",), bass=("bass",), chords=("pad",), melody=("pluck",)),
    "hip hop": Palette(kits=("dusty",), bass=("bass",), chords=("rhodes",), melody=("bell",)),
    "r&b": Palette(kits=("acoustic",), bass=("bass",), chords=("rhodes",), melody=("pluck",)),
    "pop": Palette(kits=("909",), bass=("bass",), chords=("piano",), melody=("lead",)),
    "edm": Palette(kits=("909",), bass=("bass",), chords=("supersaw",), melody=("lead",)),
    "dubstep": Palette(kits=("808",), bass=("wobble",), chords=("pad",), melody=("lead",)),
    "jazz": Palette(kits=("jazz",), bass=("bass",), chords=("piano",), melody=("rhodes",)),
    "rock": Palette(kits=("rock",), bass=("bass",), chords=("guitar",), melody=("lead",)),
}

# General MIDI programs (0-based) for the pitched voices, so the MIDI file opens on a fitting
# instrument in any DAW.
GM_PROGRAMS: dict[str, int] = {
    "808": 38,
    "sub": 38,
    "bass": 33,
    "reese": 39,
    "wobble": 39,
    "rhodes": 4,
    "piano": 0,
    "organ": 17,
    "pad": 89,
    "pluck": 45,
    "lead": 81,
    "supersaw": 90,
    "bell": 10,
    "guitar": 30,
    "strings": 48,
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
