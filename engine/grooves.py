"""How each genre plays: drum grooves, bass and chord styles, section plans, feel.

Drum patterns are one bar of 4/4 on a 16-step grid: "X" accent, "x" normal, "o" ghost,
"." rest. A genre lists a few variants per drum; the seed picks one per take, and sections
swap in their own variants so verse and hook feel different. Triplet feels (drill hats,
trap rolls) are generated in compose, because they don't sit on the 16-step grid. Which kit
and voices play is the palette's choice (engine.palettes), not the groove's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Velocities for the pattern letters.
HIT_VELOCITY: dict[str, float] = {"X": 1.0, "x": 0.82, "o": 0.45}

Template = tuple[tuple[str, float], ...]  # (section name, relative length) in order


@dataclass(frozen=True)
class Style:
    """Everything genre-specific the composer needs (the genre's traits as data)."""

    # drum name -> pattern variants (16 steps each): the core groove verses and hooks share
    drums: dict[str, tuple[str, ...]]
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
    # section plans a take picks from by seed (the first is the genre's classic form)
    plans: tuple[Template, ...]
    # swing applies to this subdivision (beats): 0.25 = 16ths, 0.5 = 8ths
    swing_unit: float = 0.25
    # humanise: timing jitter (beats) and velocity jitter
    humanise_time: float = 0.0
    humanise_velocity: float = 0.04
    sidechain: float = 0.0  # depth 0..1 of bass/chord ducking under the kick
    vinyl: bool = False
    hat_rolls: bool = False  # trap: 16th/32nd/triplet rolls
    triplet_hats: bool = False  # drill: hats on a triplet grid
    four_on_floor: bool = False  # the kick never stops (fills leave it alone)
    chord_register: tuple[int, int] = (52, 76)
    bass_register: tuple[int, int] = (33, 52)
    melody_register: tuple[int, int] = (67, 86)
    rootless: bool = False
    # Layers only hooks and drops add (open hats, percussion): the hook is bigger, not louder.
    hook_drums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Hooks move the closed-hat pattern onto this cymbal (rock: hat in verses, ride in hooks).
    hook_cymbal: str | None = None
    # Beats the backbeat (snare/clap on 2 and 4) sits behind the grid: the lazy hip hop snare.
    snare_lag: float = 0.0
    # Closed-hat velocity per 16th within a beat (on, e, and, a): the hand's accents.
    hat_accent: tuple[float, float, float, float] = (1.0, 0.7, 0.82, 0.7)
    # Snare ghost notes as ornaments between the backbeats (live and sampled-break genres).
    ghosts: bool = False
    # Multi-bar breaks (kick + snare per bar) replacing the programmed kick/snare (jungle).
    breaks: tuple[tuple[dict[str, str], ...], ...] = ()


STANDARD: Template = (("intro", 1.0), ("verse", 3.0), ("hook", 3.0), ("outro", 1.0))
WITH_BRIDGE: Template = (
    ("intro", 1.0),
    ("verse", 2.0),
    ("hook", 2.0),
    ("verse", 1.5),
    ("hook", 2.0),
    ("outro", 1.0),
)
# Hook first: trap and drill producers often open on the hook so the artist comes in hot.
HOOK_FIRST: Template = (
    ("intro", 1.0),
    ("hook", 2.0),
    ("verse", 3.0),
    ("hook", 2.0),
    ("outro", 1.0),
)
# A breakdown between two hooks instead of a second verse (house, pop, lo-fi).
WITH_BREAK: Template = (
    ("intro", 1.0),
    ("verse", 2.0),
    ("hook", 2.0),
    ("break", 1.0),
    ("hook", 2.0),
    ("outro", 1.0),
)
# Drops are under half the beat: the drop is the event, the rest the anticipation.
BUILD_DROP: Template = (
    ("intro", 1.5),
    ("build", 1.0),
    ("drop", 2.5),
    ("break", 1.5),
    ("drop", 2.0),
    ("outro", 1.0),
)
# A second build after the break: the festival form.
BUILD_DROP_TWICE: Template = (
    ("intro", 1.25),
    ("build", 1.0),
    ("drop", 2.5),
    ("break", 1.0),
    ("build", 0.75),
    ("drop", 2.5),
    ("outro", 0.75),
)
JAZZ: Template = (("intro", 1.0), ("head", 3.0), ("solo", 3.0), ("outro", 1.0))
JAZZ_HEAD_OUT: Template = (
    ("intro", 1.0),
    ("head", 2.0),
    ("solo", 3.0),
    ("head", 1.5),
    ("outro", 1.0),
)

# Hat accents: swung genres lean on the quarter and let the "e"/"a" fall away (a hand on
# the hats), house pushes the off-beat, straight genres keep an even, slightly shaped line.
SWUNG_ACCENT = (1.0, 0.55, 0.78, 0.6)
OFFBEAT_ACCENT = (0.78, 0.62, 1.0, 0.62)
TRAP_ACCENT = (1.0, 0.68, 0.86, 0.7)

# Jungle breaks, programmed in the manner of the classic funk breaks: syncopated kicks,
# ghosted snares between the backbeats, and a different third and fourth bar.
AMEN_STYLE = (
    {"kick": "X.X.......XX....", "snare": "....X..o.o..X..o"},
    {"kick": "X.X.......XX....", "snare": "....X..o.o..X..o"},
    {"kick": "X.X.......X.....", "snare": "....X..o.o....X."},
    {"kick": "..XX......X.....", "snare": ".o..X..o.o....X."},
)
THINK_STYLE = (
    {"kick": "X......X..X.....", "snare": "....X..o.o..X.o."},
    {"kick": "X......X.XX.....", "snare": "....X..o....X..o"},
    {"kick": "X......X..X.....", "snare": "....X..o.o..X.o."},
    {"kick": "X.X.......X..X..", "snare": "....X.o..o..X.X."},
)
ROLLER_STYLE = (
    {"kick": "X.........X.....", "snare": "....X..o....X..."},
    {"kick": "X.........X..x..", "snare": "....X.......X.o."},
    {"kick": "X.........X.....", "snare": "....X..o.o..X..."},
    {"kick": "X.x.......X.....", "snare": ".o..X.......X.oX"},
)

STYLES: dict[str, Style] = {
    "trap": Style(
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
        },
        bass_style="808",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="sparse",
        plans=(STANDARD, HOOK_FIRST, WITH_BRIDGE),
        hat_rolls=True,
        chord_register=(55, 75),
        bass_register=(28, 43),
        melody_register=(72, 91),
        hook_drums={
            "hat_open": ("..............x.", "......x.......x."),
            "rim": ("...x......x....x", "......x..x....x."),
        },
        hat_accent=TRAP_ACCENT,
    ),
    "lo-fi": Style(
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
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.5,
        melody_style="sparse",
        plans=(STANDARD, WITH_BRIDGE, WITH_BREAK),
        swing_unit=0.5,
        humanise_time=0.012,
        humanise_velocity=0.08,
        vinyl=True,
        rootless=True,
        chord_register=(55, 76),
        bass_register=(33, 50),
        melody_register=(70, 86),
        hook_drums={"hat_open": ("......x.........",), "conga": ("...o......o..o..",)},
        snare_lag=0.03,
        hat_accent=SWUNG_ACCENT,
        ghosts=True,
    ),
    "boom bap": Style(
        drums={
            "kick": (
                "X.....x...X..x..",
                "X......xX.x.....",
                "X.x.......X..x..",
                "X.....X...X.....",
            ),
            "snare": ("....X.......X...", "....X.......X.o.", "....X..o....X..."),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xox.x.x.xox.x."),
        },
        bass_style="root_fifth",
        chord_style="stabs",
        melody_density=2.5,
        melody_style="riff",
        plans=(STANDARD, WITH_BRIDGE, HOOK_FIRST),
        swing_unit=0.5,
        humanise_time=0.01,
        humanise_velocity=0.07,
        vinyl=True,
        bass_register=(31, 50),
        hook_drums={
            "hat_open": ("..............x.", "......x.......x."),
            "shaker": ("..x...x...x...x.",),
        },
        snare_lag=0.025,
        hat_accent=SWUNG_ACCENT,
        ghosts=True,
    ),
    "house": Style(
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....X.......X...",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "oxoxoxoxoxoxoxox", "x.ox..oxx.ox..ox"),
            "hat_open": ("..x...x...x...x.",),
            "shaker": ("oooooooooooooooo", "................"),
        },
        bass_style="octave",
        chord_style="stabs",
        melody_density=4.0,
        melody_style="hook",
        plans=(WITH_BRIDGE, WITH_BREAK, STANDARD),
        sidechain=0.55,
        four_on_floor=True,
        bass_register=(33, 52),
        hook_drums={
            "conga": ("..x..x.x..x...x.", "x..x..x...x.x..."),
            "ride": ("..x...x...x...x.",),
        },
        hat_accent=OFFBEAT_ACCENT,
    ),
    "drill": Style(
        drums={
            "kick": ("X......x..x.....", "X.....x......x..", "X..x......x....."),
            "snare": ("........X.......", "........X.....o.", "........X..o...."),
            "hat_closed": ("x.x.x.x.x.x.x.x.",),
            "rim": ("......x.......x.",),
        },
        bass_style="808",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="sparse",
        plans=(STANDARD, HOOK_FIRST, WITH_BRIDGE),
        triplet_hats=True,
        chord_register=(55, 74),
        bass_register=(28, 45),
        melody_register=(70, 88),
        hook_drums={"hat_open": ("..............x.",), "conga": ("...x.....x....x.",)},
    ),
    "drum and bass": Style(
        drums={
            "kick": ("X.........X.....", "X.........x..x..", "X.x.......X....."),
            "snare": ("....X.......X...", "....X..o....X..o", "....X.......X.o."),
            # Several hat figures: the break's hats change from bar to bar.
            "hat_closed": (
                "x.x.x.x.x.x.x.x.",
                "xxx.xxx.xxx.xxx.",
                "x.xxx.x.x.xxx.xx",
                "x.x.x.xxx.x.x.x.",
            ),
            "ride": ("x...x...x...x...", "..x...x...x...x."),
        },
        bass_style="reese",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="arp",
        plans=(BUILD_DROP, BUILD_DROP_TWICE),
        sidechain=0.2,
        bass_register=(28, 45),
        chord_register=(57, 77),
        hook_drums={
            "hat_open": ("......x.......x.", "..............x."),
            "shaker": ("x.xxx.xxx.xxx.xx",),
        },
        humanise_velocity=0.07,
        ghosts=True,
        breaks=(AMEN_STYLE, THINK_STYLE, ROLLER_STYLE),
    ),
    "techno": Style(
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....x.......x...", "................"),
            "hat_closed": ("xxxxxxxxxxxxxxxx", "..x...x...x...x."),
            "hat_open": ("..x...x...x...x.",),
            "rim": ("..x..x....x..x..", "x..x..x..x..x..."),
        },
        bass_style="pulse",
        chord_style="stabs",
        melody_density=6.0,
        melody_style="arp",
        plans=(STANDARD, WITH_BREAK),
        sidechain=0.35,
        four_on_floor=True,
        bass_register=(28, 45),
        hook_drums={"ride": ("..x...x...x...x.",), "conga": ("...x..x....x..x.",)},
        hat_accent=OFFBEAT_ACCENT,
    ),
    "hip hop": Style(
        drums={
            "kick": ("X......xX.x.....", "X.....x...X.....", "X..x..x...X..x.."),
            "snare": ("....X.......X...", "....X.......X..o"),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
        },
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.0,
        melody_style="riff",
        plans=(STANDARD, HOOK_FIRST, WITH_BRIDGE),
        swing_unit=0.5,
        humanise_time=0.006,
        humanise_velocity=0.06,
        hook_drums={
            "hat_open": ("......x.........", "..............x."),
            "shaker": ("..x...x...x...x.",),
        },
        snare_lag=0.02,
        hat_accent=SWUNG_ACCENT,
        ghosts=True,
    ),
    "r&b": Style(
        drums={
            "kick": ("X.......x.x.....", "X......x..x.....", "X..x......x....."),
            "snare": ("....x..o....x...", "....x.......x..o"),
            "rim": ("..o.......o.....",),
            "hat_closed": ("xoxoxoxoxoxoxoxo", "x.o.x.o.x.o.x.o."),
        },
        bass_style="melodic",
        chord_style="sustain",
        melody_density=3.5,
        melody_style="sparse",
        plans=(STANDARD, WITH_BRIDGE, WITH_BREAK),
        swing_unit=0.5,
        humanise_time=0.006,
        humanise_velocity=0.06,
        rootless=True,
        hook_drums={"hat_open": ("..............x.",), "shaker": ("x.x.x.x.x.x.x.x.",)},
        snare_lag=0.025,
        hat_accent=SWUNG_ACCENT,
        ghosts=True,
    ),
    "pop": Style(
        drums={
            "kick": ("X.......X.x.....", "X...X...X...X...", "X.....x.X......."),
            "clap": ("....X.......X...",),
            "snare": ("....x.......x...",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
            "shaker": ("oxoxoxoxoxoxoxox",),
        },
        bass_style="root_fifth",
        chord_style="pulse",
        melody_density=5.0,
        melody_style="hook",
        plans=(WITH_BRIDGE, STANDARD, WITH_BREAK),
        sidechain=0.15,
        hook_drums={"hat_open": ("..x...x...x...x.",), "conga": ("..x...x..x.x..x.",)},
    ),
    "edm": Style(
        drums={
            "kick": ("X...X...X...X...",),
            "clap": ("....X.......X...",),
            "hat_closed": ("..x...x...x...x.",),
            "hat_open": ("..x...x...x...x.",),
        },
        bass_style="octave",
        chord_style="pulse",
        melody_density=5.0,
        melody_style="hook",
        plans=(BUILD_DROP, BUILD_DROP_TWICE),
        sidechain=0.75,
        four_on_floor=True,
        hook_drums={"shaker": ("oxoxoxoxoxoxoxox",), "ride": ("x.x.x.x.x.x.x.x.",)},
        hat_accent=OFFBEAT_ACCENT,
    ),
    "dubstep": Style(
        drums={
            "kick": ("X.........x.....", "X.....x.........", "X..........x...."),
            "snare": ("........X.......",),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
        },
        bass_style="wobble",
        chord_style="sustain",
        melody_density=2.5,
        melody_style="sparse",
        plans=(BUILD_DROP, BUILD_DROP_TWICE),
        sidechain=0.3,
        bass_register=(28, 43),
        hook_drums={"hat_open": ("......x.......x.",), "rim": ("...x.....x....x.",)},
    ),
    "jazz": Style(
        drums={
            # Ride "ding, ding-a ding, ding-a" on the 8th grid; swing is applied to 8ths.
            "ride": ("X.....x.X.....x.", "X.....x.X.x...x."),
            "hat_closed": ("....x.......x...",),  # foot hat on 2 and 4
            "kick": ("o...o...o...o...", "o.......o......."),  # feathered
            "snare": ("......o.......o.", "..o.......o.o...", "..........o....."),
        },
        bass_style="walking",
        chord_style="comp",
        melody_density=4.0,
        melody_style="riff",
        plans=(JAZZ, JAZZ_HEAD_OUT),
        swing_unit=0.5,
        humanise_time=0.008,
        humanise_velocity=0.08,
        rootless=True,
        bass_register=(31, 55),
        # The solo chorus: the drummer opens up with cross-stick comping.
        hook_drums={"rim": ("......x.......x.", "...x.......x....")},
        ghosts=True,
    ),
    "rock": Style(
        drums={
            "kick": ("X.....x.X.x.....", "X.......X.......", "X.x.....X.x....."),
            "snare": ("....X.......X...", "....X.......X..o"),
            "hat_closed": ("x.x.x.x.x.x.x.x.", "x.x.x.x.x.x.x.xx"),
        },
        bass_style="pulse",
        chord_style="power",
        melody_density=3.0,
        melody_style="riff",
        plans=(WITH_BRIDGE, STANDARD, HOOK_FIRST),
        humanise_time=0.012,
        humanise_velocity=0.1,
        chord_register=(40, 64),
        bass_register=(28, 48),
        hook_drums={"shaker": ("..x...x...x...x.",)},
        hook_cymbal="ride",
        ghosts=True,
    ),
}


def style_for(genre: str) -> Style:
    return STYLES[genre]
