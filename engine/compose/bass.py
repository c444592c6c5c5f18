"""The bass part: roots on the downbeat, chord tones around them, each genre's way of moving.

808s ride the kick and slide at the end of every 2-bar phrase; walking lines walk; the
dubstep wobble changes rhythm and rate from bar to bar. Bass stops in the drop-out before a
hook along with the drums.
"""

from __future__ import annotations

import numpy as np

from engine.compose.model import NoteEvent, Section, Track
from engine.compose.sections import winding_down
from engine.compose.take import Take
from engine.theory import Chord, approach_note, bass_root, chord_tones_in, nearest, walking_bass

# Basses stay darker than the mood's brightness: upper partials of a low note (its 5th
# harmonic is a major third) would blur the key.
BASS_BRIGHTNESS = 0.1
BASS_GAIN_DB: dict[str, float] = {"808": -3.0, "reese": -8.0, "wobble": -6.0, "walking": -5.0}
# (start, length, LFO cycles per beat) per bar: the wobble's rhythm is the dubstep riff, so
# bars trade figures (held, 8ths, triplets, a stab and a rest) instead of repeating one.
WOBBLES: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((0.0, 1.95, 1.0), (2.0, 1.95, 2.0)),
    ((0.0, 0.7, 4.0), (0.75, 0.7, 4.0), (2.0, 1.45, 3.0), (3.5, 0.45, 8.0)),
    ((0.0, 0.95, 2.0), (2.0, 0.45, 4.0), (2.5, 0.45, 4.0), (3.0, 0.95, 6.0)),
    ((0.0, 2.95, 1.5), (3.0, 0.45, 8.0), (3.5, 0.45, 8.0)),
    ((0.75, 1.2, 3.0), (2.0, 0.7, 6.0), (3.0, 0.95, 2.0)),
)
# The fourth bar of a dubstep phrase: a fast stutter that dives into the next downbeat.
WOBBLE_TURN = ((0.0, 0.95, 2.0), (1.0, 0.45, 8.0), (1.5, 0.45, 8.0), (2.0, 1.95, 6.0))

Note = tuple[float, float, int, float, float | None, float | None]  # start, length, pitch, ...


def play_bass(take: Take) -> None:
    style = take.style
    low, _high = style.bass_register
    track = take.track(
        "bass",
        "pitched",
        take.sound.bass,
        "bass",
        brightness=BASS_BRIGHTNESS + 0.4 * take.brightness,
        gain_db=BASS_GAIN_DB.get(style.bass_style, -6.0),
    )
    kicks = _kick_times(take)
    for section in take.sections:
        if not _plays(take, section):
            continue
        rng = take.rng("bass", section)
        walking = _walking(take, section, rng) if style.bass_style == "walking" else None
        velocity = take.arc(section).velocity
        cut = section.end_bar * 4.0 - take.arc(section).dropout
        previous: int | None = None
        for bar in range(section.start_bar, section.end_bar):
            chord = take.chords[bar]
            root = bass_root(chord, low, low + 11)
            base = bar * 4.0
            if take.is_last_bar(bar):
                track.events.append(NoteEvent(base, 3.5, float(root), 0.9))
                continue
            if winding_down(section, bar - section.start_bar):
                continue
            if walking is not None:
                notes = [
                    (float(beat), 0.9, pitch, 0.75 + 0.1 * (beat == 0), None, None)
                    for beat, pitch in enumerate(walking[bar - section.start_bar])
                ]
            else:
                notes = _bar(take, section, bar, root, chord, kicks, previous, rng)
            for start, length, pitch, level, glide, lfo in notes:
                time = take.swung(base + start)
                if time >= cut - 1e-6:
                    continue  # the drop-out before the hook
                end = min(take.swung(base + start + length), cut - 0.02)
                track.events.append(
                    NoteEvent(
                        time, max(0.05, end - time), float(pitch), level * velocity, glide, lfo
                    )
                )
                previous = pitch
    if style.bass_style == "reese" or take.spec.genre == "drum and bass":
        _sub_layer(take, track)


def _plays(take: Take, section: Section) -> bool:
    if section.name == "intro":
        return take.spec.genre in ("jazz",)
    return section.name != "build"


def _kick_times(take: Take) -> dict[int, list[float]]:
    by_bar: dict[int, list[float]] = {}
    kick = take.tracks.get("kick")
    for event in kick.events if kick else []:
        bar = int(event.time // 4)
        by_bar.setdefault(bar, []).append(event.time - bar * 4.0)
    return by_bar


def _walking(take: Take, section: Section, rng: np.random.Generator) -> list[list[int]]:
    """The section's walking line, aimed at the first chord after it."""
    low, high = take.style.bass_register
    chords = take.chords[section.start_bar : section.end_bar]
    after = take.chords[section.end_bar % take.bars]
    return walking_bass([*chords, after], take.key, rng, low, high)[: section.bars]


def _bar(
    take: Take,
    section: Section,
    bar: int,
    root: int,
    chord: Chord,
    kicks: dict[int, list[float]],
    previous: int | None,
    rng: np.random.Generator,
) -> list[Note]:
    style, genre = take.style, take.spec.genre
    low, _high = style.bass_register
    kind = style.bass_style
    position = bar - section.start_bar
    next_chord = take.chords[(bar + 1) % take.bars]
    if section.name == "break" or (kind == "wobble" and section.name != "drop"):
        return [(0.0, 3.9, root, 0.8, None, None)]
    if kind == "808":
        return _808_bar(take, bar, position, root, chord, kicks, previous, rng)
    if kind == "root_fifth":
        fifth = nearest(chord.fifth, root + 7)
        target = bass_root(next_chord, low, low + 11)
        return [
            (0.0, 1.4, root, 0.95, None, None),
            (1.5, 0.45, root, 0.7, None, None),
            (2.0, 1.0, fifth, 0.85, None, None),
            (3.5, 0.45, approach_note(target, take.key, rng), 0.75, None, None),
        ]
    if kind == "octave":
        notes: list[Note] = []
        for k in range(4):
            pitch = root + 12 if (k % 2 and genre == "house") else root
            if genre == "edm" and section.name == "drop":
                notes.append((k + 0.0, 0.45, root, 0.8, None, None))
            notes.append((k + 0.5, 0.42, pitch, 0.9, None, None))
        return notes
    if kind == "pulse":
        if genre == "rock":
            return [
                (k * 0.5, 0.45, root, 0.9 if k % 2 == 0 else 0.75, None, None) for k in range(8)
            ]
        # Techno: rolling 16ths off the kick.
        return [
            (k + sub, 0.2, root, 0.7 + 0.2 * (sub == 0.5), None, None)
            for k in range(4)
            for sub in (0.25, 0.5, 0.75)
        ]
    if kind == "reese":
        return _reese_bar(take, position, root, chord, rng)
    if kind == "wobble":
        return _wobble_bar(position, root, chord, rng)
    return _melodic_bar(take, bar, root, chord, next_chord, kicks, rng)


def _808_bar(
    take: Take,
    bar: int,
    position: int,
    root: int,
    chord: Chord,
    kicks: dict[int, list[float]],
    previous: int | None,
    rng: np.random.Generator,
) -> list[Note]:
    """808s ride the kick. Every second bar ends on a slide (the phrase end a trap producer
    marks with a bend), every fourth with a run of two; drill slides between most notes."""
    hits = sorted(kicks.get(bar, [])) or [0.0]
    phrase_end = position % 2 == 1
    if phrase_end and len(hits) == 1:
        hits.append((2.5, 3.0)[int(rng.integers(2))])  # the 808 answers on its own
    slide_chance = 0.7 if take.spec.genre == "drill" else 0.3
    # Where an 808 goes from the root: octave, fifth, and the key's seventh and third.
    moves = [root + 12, nearest(chord.fifth, root + 7)] + [
        p for p in (root + 10, root - 2, root + 3) if p % 12 in take.key.scale()
    ]
    sliding_from = len(hits) - (2 if position % 4 == 3 else 1) if phrase_end else len(hits)
    notes: list[Note] = []
    last = previous
    for i, start in enumerate(hits):
        end = hits[i + 1] if i + 1 < len(hits) else 4.0
        pitch = root
        if i > 0 and rng.random() < 0.45:
            pitch = int(moves[int(rng.integers(len(moves)))])
        glide = None
        if last is not None and pitch != last and rng.random() < slide_chance:
            glide = float(last)
        if i >= max(1, sliding_from) and last is not None:
            if pitch == last:
                options = [p for p in [*moves[:2], root] if p != last]
                pitch = int(options[int(rng.integers(len(options)))])
            glide = float(last)
        notes.append((start, max(0.2, end - start - 0.05), pitch, 0.95, glide, None))
        last = pitch
    return notes


def _melodic_bar(
    take: Take,
    bar: int,
    root: int,
    chord: Chord,
    next_chord: Chord,
    kicks: dict[int, list[float]],
    rng: np.random.Generator,
) -> list[Note]:
    low, _high = take.style.bass_register
    hits = sorted(t for t in kicks.get(bar, []) if t < 3.5) or [0.0, 2.5]
    if hits[0] > 0.01:
        hits.insert(0, 0.0)
    # The root carries the harmony; the fifth, octave and seventh decorate off the beat.
    colour = [root + 12, nearest(chord.fifth, root + 7)]
    colour += [p for p in chord_tones_in(chord, root + 9, root + 11)]  # the seventh
    notes: list[Note] = []
    for i, start in enumerate(hits):
        end = hits[i + 1] if i + 1 < len(hits) else 3.5
        on_beat = abs(start - round(start)) < 0.05
        decorate = not on_beat and i > 0 and rng.random() < 0.6
        pitch = int(colour[int(rng.integers(len(colour)))]) if decorate else root
        notes.append((start, max(0.2, end - start - 0.05), pitch, 0.85, None, None))
    target = bass_root(next_chord, low, low + 11)
    notes.append((3.5, 0.45, approach_note(target, take.key, rng), 0.7, None, None))
    return notes


def _reese_bar(
    take: Take, position: int, root: int, chord: Chord, rng: np.random.Generator
) -> list[Note]:
    """Held and rolling; the phrase's last bar bends up to the fifth and back."""
    if position % 4 == 3:
        fifth = nearest(chord.fifth, root + 7)
        return [
            (0.0, 1.9, root, 0.9, None, None),
            (2.0, 0.95, fifth, 0.85, float(root), None),
            (3.0, 0.9, root + 12 if rng.random() < 0.5 else root, 0.85, float(fifth), None),
        ]
    return [
        (0.0, 2.4, root, 0.9, None, None),
        (2.5, 1.4, root + (12 if rng.random() < 0.4 else 0), 0.85, None, None),
    ]


def _wobble_bar(position: int, root: int, chord: Chord, rng: np.random.Generator) -> list[Note]:
    figure = WOBBLE_TURN if position % 4 == 3 else WOBBLES[int(rng.integers(len(WOBBLES)))]
    fifth = nearest(chord.fifth, root + 7)
    notes: list[Note] = []
    for k, (start, length, rate) in enumerate(figure):
        pitch = root
        if k > 0 and rng.random() < 0.3:
            pitch = (fifth, root + 12)[int(rng.integers(2))]
        glide = float(root + 12) if figure is WOBBLE_TURN and k == len(figure) - 1 else None
        notes.append((start, length, pitch, 0.95, glide, rate))
    return notes


def _sub_layer(take: Take, bass: Track) -> None:
    """Drum and bass: a clean sine sub an octave under the reese's roots."""
    sub = take.track("sub", "pitched", "sub", "bass", brightness=0.2, gain_db=-5.0)
    for e in bass.events:
        pitch = e.pitch - 12 if e.pitch >= 40 else e.pitch
        glide = None if e.glide_from is None else e.glide_from - (e.pitch - pitch)
        sub.events.append(NoteEvent(e.time, e.duration, pitch, e.velocity, glide))
