"""The melody: a 2-bar call and its answer, developed across the section like a topline.

Every take writes one motif and one answer (a seeded rhythm and contour, starting on a
seeded degree in a seeded register), then a section plays them in 2-bar statements:
    call, answer, call developed (sequenced or shifted by an 8th), answer with the climax.
A short section carries the cycle on from the last one of its name, so the answer sounds
even in 2-bar hooks; the climax is raised above everything else in its cycle. Verses play a
thinner version (beats only), the first verse only the calls; hooks add an octave layer.
Every note is checked against the chord under it: nothing sits a half-step above a chord
tone (a minor ninth, the sound of a wrong note).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.compose.model import NoteEvent, Section, rng_for
from engine.compose.take import Take
from engine.theory import Chord, chord_tones_in, nearest, scale_tones_in

MELODY_GAIN_DB: dict[str, float] = {"lead": -12.0, "bell": -11.0, "strings": -13.0}
OCTAVE_LAYER_DB = -5.0  # the octave double sits under the melody, not beside it
VERSE_LEVEL = 0.85  # the verse melody steps back for the vocal
# Scale steps from the chord's root a motif may start on: root, third, fifth, the fifth
# below, the sixth below. On the downbeat it lands on the nearest chord tone.
START_DEGREES = (0, 2, 4, -3, -5)

Figure = list[tuple[float, float, int, float]]  # (start beat, length, scale step, velocity)
CLIMAX_VELOCITY = 1.0  # the one note of a phrase played at full strength: its peak


@dataclass(eq=False)
class Sung:
    """A melody note as written, with the chord under it and whether it is the climax."""

    note: NoteEvent
    chord: Chord
    climax: bool


@dataclass(frozen=True)
class Material:
    """The take's melodic idea, shared by every section so hooks repeat and stick."""

    call: Figure  # two bars
    answer: Figure  # two bars
    centre: float  # MIDI note the melody's home sits nearest
    develop: str  # "sequence" | "displace": how the third statement varies the call
    shift: int  # scale steps the sequence moves
    arp: tuple[tuple[tuple[int, ...], tuple[int, ...]], str, int]  # shape, rhythm, lift
    riff: list[tuple[float, float, int, float]]  # techno's one-bar figure on the tonic


def play_melody(take: Take) -> None:
    low, high = take.style.melody_register
    voice = take.sound.melody
    track = take.track(
        "melody",
        "pitched",
        voice,
        "melody",
        brightness=take.brightness,
        gain_db=MELODY_GAIN_DB.get(voice, -10.0),
        pan=0.1,
        width=0.2,
    )
    take_material = _material(
        take,
        rng_for(take.seed, "melody"),
        rng_for(take.seed, "arp"),
        rng_for(take.seed, "techno-figure"),
    )
    scale = scale_tones_in(take.key, low, high)
    scale_pcs = set(take.key.scale())
    carry: dict[str, int] = {}  # where each section name's call-and-answer cycle stands
    for section in take.sections:
        # A short section goes on where the last one of its name stopped, so two 2-bar
        # hooks are a call and its answer and a 4-bar hook's return develops it; a section
        # of 8 bars or more holds a whole cycle and starts it afresh.
        first = 0 if section.bars >= 8 else carry.get(section.name, 0)
        carry[section.name] = (first + (section.bars + 1) // 2) % 4
        if not _plays(take, section):
            continue
        rng = take.rng("melody", section)
        material = take_material
        if take.redrawn(section):  # a redrawn section sings a fresh motif over its chords
            material = _material(
                take,
                take.choices("melody", section),
                take.choices("arp", section),
                take.choices("techno-figure", section),
            )
        arc = take.arc(section)
        level = arc.velocity * (VERSE_LEVEL if section.name == "verse" else 1.0)
        sung: list[Sung] = []
        cycles: dict[int, list[Sung]] = {}  # this section's notes by 8-bar cycle
        for bar in range(section.start_bar, section.end_bar):
            if take.is_last_bar(bar):
                continue
            position = bar - section.start_bar
            chord = take.chords[bar]
            statement = first + position // 2
            if take.style.melody_style == "arp" or take.spec.genre == "techno":
                notes = _arp_bar(take, material, bar, chord)
                if arc.sparse:
                    notes = notes[::2]
            else:
                if arc.sparse and statement % 2:
                    continue  # the first verse: the call alone, the answer is the hook's
                figure = _statement(material, statement, position % 2)
                if section.name == "verse":
                    figure = _thin(figure)
                if section.name == "solo" and rng.random() < 0.5:
                    figure = [(t, d, s + int(rng.integers(-2, 3)), v) for t, d, s, v in figure]
                notes = _realise(take, figure, chord, scale, material.centre)
            pcs = set(chord.pitch_classes)
            cycle = cycles.setdefault(statement // 4, [])
            for start, length, pitch, velocity in notes:
                time = take.swung(bar * 4.0 + start)
                end = take.swung(bar * 4.0 + min(start + length, 4.0))
                note = NoteEvent(
                    time,
                    max(0.05, end - time - 0.02),
                    float(consonant(pitch, pcs, scale_pcs)),
                    min(1.0, velocity) * level,
                )
                sung.append(Sung(note, chord, velocity >= CLIMAX_VELOCITY))
                cycle.append(sung[-1])
        for cycle in cycles.values():
            _crown(take, cycle)
        played = [s.note for s in sung]
        track.events += played
        if arc.layers and played and take.spec.genre != "jazz":  # a soloist doesn't double
            _octave_layer(take, played, 1.0 if arc.peak else 0.8)


def _crown(take: Take, cycle: list[Sung]) -> None:
    """The climax goes above every other note of its 8-bar cycle: the nearest chord tone
    over the cycle's highest note (in absolute pitch: chord roots move the contour)."""
    rest = [s.note.pitch for s in cycle if not s.climax]
    if not rest:
        return
    ceiling = take.style.melody_register[1] + 5  # a peak may reach a little past the register
    for sung in cycle:
        if not sung.climax:
            continue
        pcs = set(sung.chord.pitch_classes)
        above = [
            p
            for p in chord_tones_in(sung.chord, int(max(rest)) + 1, ceiling)
            if (p - 1) % 12 not in pcs
        ]
        if above:
            sung.note = replace(sung.note, pitch=float(above[0]))


def _plays(take: Take, section: Section) -> bool:
    return section.name in ("hook", "drop", "solo", "head", "verse", "break")


def _material(
    take: Take, rng: np.random.Generator, arp: np.random.Generator, riff: np.random.Generator
) -> Material:
    density = take.style.melody_density * take.density
    call = _motif(take, rng, density, first=int(rng.choice(START_DEGREES)))
    answer = _motif(take, rng, density, first=int(rng.choice(START_DEGREES[:3])))
    low, high = take.style.melody_register
    centre = (low + high) / 2 + float(rng.uniform(-5.0, 5.0))
    develop = ("sequence", "displace")[int(rng.integers(2))]
    shift = (1, 2, -1)[int(rng.integers(3))]
    shape = ARP_ORDERS[int(arp.integers(len(ARP_ORDERS)))]
    pulse = ARP_RHYTHMS[int(arp.integers(len(ARP_RHYTHMS)))]
    lift = (0, 3, 5, 8)[int(arp.integers(4))]  # where in the register the arpeggio sits
    figure = _techno_figure(take, riff) if take.spec.genre == "techno" else []
    return Material(call, answer, centre, develop, shift, (shape, pulse, lift), figure)


def _motif(take: Take, rng: np.random.Generator, density: float, first: int) -> Figure:
    """A rhythm (8th grid, some 16ths) and a stepwise contour, two bars long.

    Steps are scale-degree offsets from the bar's chord root; `_realise` snaps strong beats
    onto the chord so one motif fits every chord.
    """
    style = take.style.melody_style
    grid = 0.5 if style in ("sparse", "riff") else 0.25
    slots = np.arange(0.0, 8.0, grid)
    count = int(np.clip(round(density * 2 * (0.8 + 0.4 * rng.random())), 2, len(slots) - 1))
    weights = np.array([3.0 if s % 1 == 0 else 1.6 if s % 0.5 == 0 else 0.8 for s in slots])
    weights[slots >= 7.5] *= 0.3  # leave a breath before the repeat
    chosen = np.sort(rng.choice(slots, size=count, replace=False, p=weights / weights.sum()))
    if chosen[0] != 0.0 and rng.random() < 0.7:
        chosen[0] = 0.0
        chosen = np.unique(chosen)
    steps, step = [], first
    for _ in chosen:
        steps.append(step)
        step += int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]))
        step = int(np.clip(step, -5, 6))
    if len(steps) > 2:
        steps[-1] = 0  # come home at the end of the phrase
    figure = []
    for i, start in enumerate(chosen):
        end = chosen[i + 1] if i + 1 < len(chosen) else 8.0
        length = min(end - start, 2.0 if style == "sparse" else 1.0)
        velocity = 0.9 if start % 1 == 0 else 0.72
        figure.append((float(start), float(length) * 0.92, steps[i], velocity))
    return figure


def _statement(material: Material, statement: int, half: int) -> Figure:
    """Bar `half` (0 or 1) of the 2-bar statement number `statement` in a section."""
    turn = statement % 4
    figure = material.answer if turn % 2 else material.call
    if turn == 2:
        if material.develop == "sequence":
            figure = [(t, d, s + material.shift, v) for t, d, s, v in figure]
        else:  # rhythmic displacement: the same notes an 8th later
            figure = [(t + 0.5, d, s, v) for t, d, s, v in figure if t + 0.5 < 7.75]
    elif turn == 3:
        figure = _climax(material, figure)
    offset = half * 4.0
    return [(t - offset, d, s, v) for t, d, s, v in figure if offset <= t < offset + 4.0]


def _climax(material: Material, figure: Figure) -> Figure:
    """The last answer reaches the phrase's peak: its highest note in the first bar goes two
    steps above anything the motif has played, held a little longer and accented."""
    top = max(s for _, _, s, _ in material.call + material.answer)
    first_bar = [i for i, (t, _, _, _) in enumerate(figure) if t < 4.0]
    if not first_bar:
        return figure
    peak = max(first_bar, key=lambda i: (figure[i][2], -i))
    t, d, _, _ = figure[peak]
    next_start = figure[peak + 1][0] if peak + 1 < len(figure) else 8.0
    figure = list(figure)
    figure[peak] = (t, max(d, min(1.5, next_start - t) * 0.92), top + 2, 1.0)
    return figure


def _thin(figure: Figure) -> Figure:
    """The verse's melody: only the notes on the beat, held to the next one (room for a
    vocal); a bar with none keeps its first note."""
    kept = [e for e in figure if e[0] % 1 == 0] or figure[:1]
    thinned = []
    for i, (t, _d, s, v) in enumerate(kept):
        end = kept[i + 1][0] if i + 1 < len(kept) else 4.0
        thinned.append((t, min(2.0, end - t) * 0.92, s, v * 0.9))
    return thinned


def _realise(
    take: Take, figure: Figure, chord: Chord, scale: list[int], centre: float
) -> list[tuple[float, float, int, float]]:
    """Scale steps -> pitches around this bar's chord root; downbeats land on chord tones.

    The home note moves by octaves until the whole figure fits the register, so a contour
    keeps its shape instead of flattening against the register's edge."""
    home = nearest(chord.pitch_classes[0], centre)
    home_index = min(range(len(scale)), key=lambda i: abs(scale[i] - home))
    if figure:
        octave = len(take.key.scale())
        lowest = min(s for _, _, s, _ in figure)
        highest = max(s for _, _, s, _ in figure)
        while home_index + lowest < 0 and home_index + octave + highest < len(scale):
            home_index += octave
        while home_index + highest >= len(scale) and home_index - octave + lowest >= 0:
            home_index -= octave
    low, high = take.style.melody_register
    pcs = set(chord.pitch_classes)
    tones = [p for p in chord_tones_in(chord, low, high) if (p - 1) % 12 not in pcs]
    notes = []
    for start, length, step, velocity in figure:
        pitch = scale[int(np.clip(home_index + step, 0, len(scale) - 1))]
        if start % 1 == 0 and tones:
            pitch = min(tones, key=lambda p: (abs(p - pitch), p))
        notes.append((start, length, pitch, velocity))
    return notes


def consonant(pitch: int, chord_pcs: set[int], scale_pcs: set[int]) -> int:
    """`pitch`, or the nearest scale or chord tone if it sits a half-step above a chord tone
    (a minor ninth against the harmony: the one interval a melody note can't hold)."""
    if (pitch - 1) % 12 not in chord_pcs:
        return pitch
    for move in (-1, 1, -2, 2, -3, 3):
        candidate = pitch + move
        pc = candidate % 12
        if (pc in scale_pcs or pc in chord_pcs) and (candidate - 1) % 12 not in chord_pcs:
            return candidate
    return pitch - 1


def _octave_layer(take: Take, played: list[NoteEvent], level: float) -> None:
    """Hooks double the melody an octave up (down if that would leave the register)."""
    top = max(e.pitch for e in played)
    shift = 12.0 if top + 12 <= take.style.melody_register[1] + 10 else -12.0
    voice = take.sound.melody
    layer = take.track(
        "melody_octave",
        "pitched",
        voice,
        "melody",
        brightness=take.brightness,
        gain_db=MELODY_GAIN_DB.get(voice, -10.0) + OCTAVE_LAYER_DB,
        pan=-0.15,
        width=0.5,
    )
    layer.events += [
        NoteEvent(e.time, e.duration, e.pitch + shift, e.velocity * level) for e in played
    ]


def _arp_bar(
    take: Take, material: Material, bar: int, chord: Chord
) -> list[tuple[float, float, int, float]]:
    low, _high = take.style.melody_register
    if material.riff:
        # Hypnotic: the same one-bar figure on the tonic, whatever the chord does.
        return material.riff
    shape, rhythm, lift = material.arp
    tones = chord_tones_in(chord, low + lift, low + lift + 16)[:4] or [take.key.pitch(5)]
    order = shape[bar % 2]
    events = []
    for k in range(16):
        if rhythm[k] == "." or (k % 4 == 3 and take.density < 1.0):
            continue
        pitch = tones[order[k % len(order)] % len(tones)]
        events.append((k / 4.0, 0.22, pitch, 0.8 if k % 4 == 0 else 0.6))
    return events


# Arpeggio rhythms on 16ths: a take picks one, so two takes' arps don't tick alike.
ARP_RHYTHMS = (
    "xxxxxxxxxxxxxxxx",
    "x.xxx.xxx.xxx.xx",
    "xx.xx.xx.xx.x.x.",
    "x.x.xxx.x.x.xxx.",
)
# Arpeggio shapes (chord-tone indices), two bars each: a take picks one.
ARP_ORDERS = (
    ((0, 2, 1, 3), (0, 1, 2, 3, 2, 1)),
    ((3, 2, 1, 0), (0, 1, 2, 3)),
    ((1, 2, 3, 1, 2, 0), (0, 3, 2, 1)),
    ((2, 1, 3, 1, 0, 1), (2, 0, 1, 2)),
)


def _techno_figure(take: Take, rng: np.random.Generator) -> list[tuple[float, float, int, float]]:
    low, _high = take.style.melody_register
    tonic = take.key.pitch(4) if take.key.pitch(4) >= low else take.key.pitch(5)
    minor = take.key.is_minor
    tones = [tonic + i for i in (0, 3 if minor else 4, 7, 10 if minor else 11, 12)]
    steps = sorted(rng.choice(np.arange(16), size=7, replace=False).tolist())
    if 0 not in steps:
        steps[0] = 0
    return [
        (s / 4.0, 0.2, tones[0] if s == 0 else int(rng.choice([*tones[:3], tonic])), 0.75)
        for s in steps
    ]
