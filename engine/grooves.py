"""How each genre plays: drum grooves, kit, voices, bass and chord styles, section plans.

Drum patterns are one bar of 4/4 on a 16-step grid: "X" accent, "x" normal, "o" ghost,
"." rest. A genre lists a few variants per drum; the seed picks one per take, and sections
swap in their own variants so verse and hook feel different. Triplet feels (drill hats,
trap rolls) are generated in compose, because they don't sit on the 16-step grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Velocities for the pattern letters.
HIT_VELOCITY: dict[str, float] = {"X": 1.0, "x": 0.82, "o": 0.45}


@dataclass(frozen=True)
class Style:
    """Everything genre-specific the composer needs (the genre's traits as data)."""

    kit: str
    # drum name -> pattern variants (16 steps each)
    drums: dict[str, tuple[str, ...]]
    bass_voice: str
    chord_voice: str
    melody_voice: str
    # "808" (long notes on the kick, slides), "root_fifth", "walking", "octave",
    # "melodic", "sub" (whole notes), "wobble" (half-time wobbles), "reese" (held, rolling)
    bass_style: str
    # "sustain" (whole bars), "stabs" (off-beat stabs), "comp" (jazz comping),
    # "pulse" (8ths), "power" (rock 8ths), "arp" (arpeggiated)
    chord_style: str
    # notes per bar the melody aims for (scaled by mood density)
    melody_density: float
    # "hook" (repeated catchy motif), "sparse" (few long notes), "arp", "riff"
    melody_style: str
    sections: tuple[tuple[str, float], ...]
    # swing applies to this subdivision (beats): 0.25 = 16ths, 0.5 = 8ths (jazz)
    swing_unit: float = 0.25
    # humanise: timing jitter (beats) and velocity jitter
    humanise_time: float = 0.0
    humanise_velocity: float = 0.04
    sidechain: float = 0.0  # depth 0..1 of bass/chord ducking under the kick
    vinyl: bool = False
    hat_rolls: bool = False  # trap: 16th/32nd/triplet rolls
    triplet_hats: bool = False  # drill: hats on a triplet grid
    chord_register: tuple[int, int] = (52, 76)
    bass_register: tuple[int, int] = (33, 52)
    melody_register: tuple[int, int] = (67, 86)
    rootless: bool = False
    extra: dict[str, float] = field(default_factory=dict)


STANDARD = (("intro", 1.0), ("verse", 3.0), ("hook", 3.0), ("outro", 1.0))
WITH_BRIDGE = (
    ("intro", 1.0),
    ("verse", 2.0),
    ("hook", 2.0),
    ("verse", 1.5),
    ("hook", 2.0),
    ("outro", 1.0),
)
BUILD_DROP = (
    ("intro", 1.5),
    ("build", 1.0),
    ("drop", 3.0),
    ("break", 1.0),
    ("drop", 2.0),
    ("outro", 1.0),
)

STYLES: dict[str, Style] = {
    "trap": Style(
        kit="808",
        drums={
            "kick": (
                "X.........X.....",
                "X......X..X.....",
                "X.....X...X...x.",
                "X........x.X....",
            ),
            "snare": ("........X.......",),
            "clap": ("........X.......",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "x.xxx.x.x.xxx.x."),
            "hat_open": ("..............x.", "................"),
        },
        bass_voice="808",
        chord_voice="pad",
        melody_voice="bell",
        bass_style="808",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="sparse",
        sections=STANDARD,
        hat_rolls=True,
        chord_register=(55, 75),
        bass_register=(28, 43),
        melody_register=(72, 91),
    ),
    "lo-fi": Style(
        kit="lofi",
        drums={
            "kick": (
                "X......x..X.....",
                "X.....x...X.....",
                "X......xX.......",
                "X.........x.....",
            ),
            "snare": ("....X.......X...", "....X.......X..o", "....X..o....X..."),
            "hat_closed": ("x.o.x.o.x.o.x.o.", "x.x.x.x.x.x.x.xo", "x.o.x.ox.x.o.x.o"),
            "shaker": ("..o...o...o...o.",),
        },
        bass_voice="bass",
        chord_voice="rhodes",
        melody_voice="pluck",
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.5,
        melody_style="sparse",
        sections=STANDARD,
        humanise_time=0.012,
        humanise_velocity=0.08,
        vinyl=True,
        rootless=True,
        chord_register=(55, 76),
        bass_register=(33, 50),
        melody_register=(70, 86),
    ),
    "boom bap": Style(
        kit="dusty",
        drums={
            "kick": (
                "X.....x...X..x..",
                "X......xX.x.....",
                "X.x.......X..x..",
                "X.....X...X.....",
            ),
            "snare": ("....X.......X...", "....X.......X.o.", "....X..o....X..."),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xox.x.x.xox.x."),
            "hat_open": ("..............x.", "................"),
        },
        bass_voice="bass",
        chord_voice="piano",
        melody_voice="strings",
        bass_style="root_fifth",
        chord_style="stabs",
        melody_density=2.5,
        melody_style="riff",
        sections=STANDARD,
        humanise_time=0.01,
        humanise_velocity=0.07,
        vinyl=True,
        bass_register=(31, 50),
    ),
    "house": Style(
        kit="909",
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....X.......X...",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "oxoxoxoxoxoxoxox", "x.ox..oxx.ox..ox"),
            "hat_open": ("..x...x...x...x.",),
            "shaker": ("oooooooooooooooo", "................"),
        },
        bass_voice="bass",
        chord_voice="organ",
        melody_voice="piano",
        bass_style="octave",
        chord_style="stabs",
        melody_density=4.0,
        melody_style="hook",
        sections=WITH_BRIDGE,
        sidechain=0.55,
        bass_register=(33, 52),
    ),
    "drill": Style(
        kit="808",
        drums={
            "kick": ("X......x..x.....", "X.....x......x..", "X..x......x....."),
            "snare": ("........X.......", "........X.....o.", "........X..o...."),
            "hat_closed": ("x.x.x.x.x.x.x.x.",),
            "rim": ("......x.......x.",),
        },
        bass_voice="808",
        chord_voice="strings",
        melody_voice="piano",
        bass_style="808",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="sparse",
        sections=STANDARD,
        triplet_hats=True,
        chord_register=(55, 74),
        bass_register=(28, 45),
        melody_register=(70, 88),
    ),
    "drum and bass": Style(
        kit="breakbeat",
        drums={
            "kick": ("X.........X.....", "X.........x..x..", "X.x.......X....."),
            "snare": ("....X.......X...", "....X..o....X..o", "....X.......X.o."),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "xxx.xxx.xxx.xxx."),
            "ride": ("x...x...x...x...", "................"),
        },
        bass_voice="reese",
        chord_voice="pad",
        melody_voice="pluck",
        bass_style="reese",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="arp",
        sections=BUILD_DROP,
        sidechain=0.2,
        bass_register=(28, 45),
        chord_register=(57, 77),
    ),
    "techno": Style(
        kit="909",
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....x.......x...", "................"),
            "hat_closed": ("xxxxxxxxxxxxxxxx", "..x...x...x...x."),
            "hat_open": ("..x...x...x...x.",),
            "rim": ("..x..x....x..x..", "x..x..x..x..x..."),
        },
        bass_voice="bass",
        chord_voice="pad",
        melody_voice="pluck",
        bass_style="pulse",
        chord_style="stabs",
        melody_density=6.0,
        melody_style="arp",
        sections=STANDARD,
        sidechain=0.35,
        bass_register=(28, 45),
    ),
    "hip hop": Style(
        kit="dusty",
        drums={
            "kick": ("X......xX.x.....", "X.....x...X.....", "X..x..x...X..x.."),
            "snare": ("....X.......X...", "....X.......X..o"),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
            "hat_open": ("......x.........", "................"),
        },
        bass_voice="bass",
        chord_voice="rhodes",
        melody_voice="bell",
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="riff",
        sections=STANDARD,
        humanise_time=0.006,
        humanise_velocity=0.06,
    ),
    "r&b": Style(
        kit="acoustic",
        drums={
            "kick": ("X.......x.x.....", "X......x..x.....", "X..x......x....."),
            "snare": ("....x..o....x...", "....x.......x..o"),
            "rim": ("..o.......o.....",),
            "hat_closed": ("xoxoxoxoxoxoxoxo", "x.o.x.o.x.o.x.o."),
        },
        bass_voice="bass",
        chord_voice="rhodes",
        melody_voice="pluck",
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.5,
        melody_style="sparse",
        sections=STANDARD,
        humanise_time=0.006,
        humanise_velocity=0.06,
        rootless=True,
    ),
    "pop": Style(
        kit="909",
        drums={
            "kick": ("X.......X.x.....", "X...X...X...X...", "X.....x.X......."),
            "clap": ("....X.......X...",),
            "snare": ("....x.......x...",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
            "shaker": ("oxoxoxoxoxoxoxox",),
        },
        bass_voice="bass",
        chord_voice="piano",
        melody_voice="lead",
        bass_style="root_fifth",
        chord_style="pulse",
        melody_density=5.0,
        melody_style="hook",
        sections=WITH_BRIDGE,
        sidechain=0.15,
    ),
    "edm": Style(
        kit="909",
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....X.......X...",),
            "hat_closed": ("..x...x...x...x.",),
            "hat_open": ("..x...x...x...x.",),
        },
        bass_voice="bass",
        chord_voice="supersaw",
        melody_voice="lead",
        bass_style="octave",
        chord_style="pulse",
        melody_density=5.0,
        melody_style="hook",
        sections=BUILD_DROP,
        sidechain=0.75,
    ),
    "dubstep": Style(
        kit="808",
        drums={
            "kick": ("X.........x.....", "X.....x.........", "X..........x...."),
            "snare": ("........X.......",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
            "hat_open": ("......x.......x.", "................"),
        },
        bass_voice="wobble",
        chord_voice="pad",
        melody_voice="lead",
        bass_style="wobble",
        chord_style="sustain",
        melody_density=2.5,
        melody_style="sparse",
        sections=BUILD_DROP,
        sidechain=0.3,
        bass_register=(28, 43),
    ),
    "jazz": Style(
        kit="jazz",
        drums={
            # Ride "ding, ding-a ding, ding-a" on the 8th grid; swing is applied to 8ths.
            "ride": ("X.....x.X.....x.", "X.....x.X.x...x."),
            "hat_closed": ("....x.......x...",),  # foot hat on 2 and 4
            "kick": ("o...o...o...o...", "o.......o......."),  # feathered
            "snare": ("......o.......o.", "..o.......o.o...", "..........o....."),
        },
        bass_voice="bass",
        chord_voice="piano",
        melody_voice="rhodes",
        bass_style="walking",
        chord_style="comp",
        melody_density=4.0,
        melody_style="riff",
        sections=(("intro", 1.0), ("head", 3.0), ("solo", 3.0), ("outro", 1.0)),
        swing_unit=0.5,
        humanise_time=0.008,
        humanise_velocity=0.08,
        rootless=True,
        bass_register=(31, 55),
    ),
    "rock": Style(
        kit="rock",
        drums={
            "kick": ("X.....x.X.x.....", "X.......X.......", "X.x.....X.x....."),
            "snare": ("....X.......X...", "....X.......X..o"),
            "hat_closed": ("x.x.x.x.x.x.x.x.",),
            "ride": ("x.x.x.x.x.x.x.x.",),
        },
        bass_voice="bass",
        chord_voice="guitar",
        melody_voice="lead",
        bass_style="pulse",
        chord_style="power",
        melody_density=3.0,
        melody_style="riff",
        sections=WITH_BRIDGE,
        humanise_time=0.012,
        humanise_velocity=0.1,
        chord_register=(40, 64),
        bass_register=(28, 48),
    ),
}


def style_for(genre: str) -> Style:
    return STYLES[genre]
