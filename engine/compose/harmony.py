"""Harmony: the chord per bar, how the chord instrument plays it, and the hook's wide pad.

A verse loop and a hook loop (both four chords, the hook's its own), voice-led so the upper
voices move as little as possible. Comping follows the genre's style; intros, breaks and the
first verse hold longer chords so the hook's rhythm is news when it arrives.
"""

from __future__ import annotations

from engine.compose.model import NoteEvent, Section, rng_for
from engine.compose.take import HOOKS, Take
from engine.theory import Chord, Key, progression

CHORD_GAIN_DB: dict[str, float] = {"guitar": -16.0, "supersaw": -18.0, "organ": -17.0, "pad": -17.0}
# Chord rhythms: (start beat, length in beats, velocity) per bar.
CHORD_RHYTHMS: dict[str, tuple[tuple[tuple[float, float, float], ...], ...]] = {
    "sustain": (((0.0, 3.9, 0.7),), ((0.0, 2.4, 0.72), (2.5, 1.4, 0.62))),
    "stabs": (
        ((0.5, 0.3, 0.75), (1.5, 0.3, 0.7), (2.5, 0.3, 0.75), (3.5, 0.3, 0.7)),
        ((0.0, 0.4, 0.8), (1.5, 0.3, 0.7), (2.75, 0.4, 0.75)),
        ((0.5, 0.3, 0.75), (1.25, 0.3, 0.65), (2.5, 0.3, 0.75), (3.25, 0.5, 0.7)),
    ),
    "comp": (
        ((0.0, 0.9, 0.6), (1.5, 0.4, 0.55)),
        ((0.5, 0.4, 0.55), (2.5, 0.9, 0.6)),
        ((1.5, 0.4, 0.6), (3.0, 0.9, 0.55)),
        ((0.0, 1.4, 0.6), (2.5, 0.4, 0.5), (3.5, 0.4, 0.5)),
    ),
    "pulse": (
        tuple((k * 0.5, 0.42, 0.75 if k % 2 == 0 else 0.6) for k in range(8)),
        tuple((k * 1.0, 0.9, 0.72) for k in range(4)),
    ),
    "power": (
        tuple((k * 0.5, 0.45, 0.85 if k % 2 == 0 else 0.7) for k in range(8)),
        ((0.0, 1.4, 0.9), (1.5, 0.45, 0.75), (2.0, 1.9, 0.85)),
    ),
    "arp": (((0.0, 3.9, 0.7),),),
}
HELD = ((0.0, 3.9, 0.7),)
# Held chords in quiet sections sit back; a build's chords are a bed under the roll and the
# riser (no kick ducks them there, so held at full level they'd outweigh the drop).
HELD_LEVEL = {"intro": 0.9, "break": 0.9, "outro": 0.9, "build": 0.7}
# The hook pad: a second, wider and softer layer an octave over the chords' middle. It is
# what makes a hook feel bigger than the verse before it without simply being louder.
PAD_HOOK_GAIN_DB = -21.0
PAD_HOOK_WIDTH = 1.0
CHORD_WIDTH = 0.6


def chords_for(key: Key, genre: str, mood: str, sections: list[Section], seed: int) -> list[Chord]:
    """One chord per bar: the verse loop, or the hook loop in hooks, drops and solos."""
    rng = rng_for(seed, "progression")
    verse = progression(key, genre, mood, rng)
    hook = progression(key, genre, mood, rng)
    chords = []
    for section in sections:
        loop = hook if section.name in HOOKS else verse
        chords += [loop[k % len(loop)] for k in range(section.bars)]
    bars = len(chords)
    if bars >= 3:
        chords[-1] = verse[0]  # end home
    return chords


def play_harmony(take: Take) -> None:
    style = take.style
    voice = take.sound.chords
    track = take.track(
        "chords",
        "pitched",
        voice,
        "chords",
        brightness=take.brightness,
        gain_db=CHORD_GAIN_DB.get(voice, -14.0),
        width=CHORD_WIDTH,
    )
    rhythms = CHORD_RHYTHMS[style.chord_style]
    take_pattern = rhythms[int(rng_for(take.seed, "chords").integers(len(rhythms)))]
    for section in take.sections:
        pattern, inversion = take_pattern, 0
        if take.redrawn(section):  # a redrawn section comps its own rhythm and voicing
            choices = take.choices("chords", section)
            pattern = rhythms[int(choices.integers(len(rhythms)))]
            inversion = int(choices.integers(1, 3))
        rng = take.rng("chords", section)
        arc = take.arc(section)
        for bar in range(section.start_bar, section.end_bar):
            notes = inverted(take.voicings[bar], inversion, style.chord_register[1])
            if take.is_last_bar(bar) or (
                section.name in ("intro", "break", "build", "outro")
                and style.chord_style in ("stabs", "pulse", "power", "comp")
            ):
                hits = HELD
            elif style.chord_style == "comp":
                hits = rhythms[int(rng.integers(len(rhythms)))]
            elif arc.sparse or (section.name == "verse" and take.spec.genre in ("edm", "dubstep")):
                hits = ((0.0, 3.9, 0.6),)  # the first verse holds; the hook brings the rhythm
            else:
                hits = pattern
            level = arc.velocity * HELD_LEVEL.get(section.name, 1.0)
            _play(take, track.events, bar, notes, hits, level)
            if arc.layers and take.spec.genre not in ("jazz", "rock"):
                _pad_hook(take, bar, notes, arc.velocity * (1.25 if arc.peak else 1.0))


def inverted(notes: list[int], times: int, ceiling: int) -> list[int]:
    """The voicing with its lowest note moved up an octave `times` times (a higher
    inversion, the same chord); where that would pass `ceiling`, the top note comes down."""
    voiced = sorted(notes)
    for _ in range(times):
        if voiced[0] + 12 <= ceiling:
            voiced = sorted([*voiced[1:], voiced[0] + 12])
        else:
            voiced = sorted([voiced[-1] - 12, *voiced[:-1]])
    return voiced


def _play(
    take: Take,
    events: list[NoteEvent],
    bar: int,
    notes: list[int],
    hits: tuple[tuple[float, float, float], ...],
    level: float,
) -> None:
    base = bar * 4.0
    for start, length, velocity in hits:
        time = take.swung(base + start)
        end = take.swung(base + start + length)
        for pitch in notes:
            events.append(NoteEvent(time, max(0.05, end - time), float(pitch), velocity * level))


def _pad_hook(take: Take, bar: int, notes: list[int], level: float) -> None:
    """A held, wide pad in hooks: the chord's upper three notes and the top one an octave up.
    Four voices are enough to widen the chord; the low voices stay with the chord part, where
    a second layer would only thicken the low mids."""
    voice = "strings" if take.sound.chords == "pad" else "pad"
    pad = take.track(
        "pad_hook",
        "pitched",
        voice,
        "chords",
        brightness=take.brightness,
        gain_db=PAD_HOOK_GAIN_DB,
        width=PAD_HOOK_WIDTH,
    )
    upper = sorted(notes)[-3:]
    layer = sorted(set(upper) | {upper[-1] + 12} if upper[-1] + 12 <= 88 else set(upper))
    _play(take, pad.events, bar, layer, HELD, 0.6 * level)
