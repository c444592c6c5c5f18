"""compose(): request + seed -> Arrangement, part by part.

Order matters only where one part listens to another: the bass rides the kick, the melody
reads the chords. Each part draws from its own random streams (see `take`), so changing one
part's logic doesn't reshuffle the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.compose.automation import filter_moves
from engine.compose.bass import play_bass
from engine.compose.drums import play_drums
from engine.compose.fx import play_fx
from engine.compose.harmony import chords_for, play_harmony
from engine.compose.melody import play_melody
from engine.compose.model import (
    BEATS_PER_BAR,
    Arrangement,
    BeatSpec,
    Section,
    bars_for,
    rng_for,
)
from engine.compose.sections import arcs_for, checked_plan, plan_for
from engine.compose.take import Take
from engine.genres import get_genre
from engine.grooves import style_for
from engine.palettes import sound_for
from engine.theory import parse_key, voice_lead


def compose(spec: BeatSpec, seed: int, plan: Sequence[Section] | None = None) -> Arrangement:
    """The beat for this spec: same spec + seed (+ plan) -> the same arrangement, always.

    `plan` fixes the sections instead of scaling the genre's form to `spec.duration` (the
    beat is then as long as the plan); a section's notes depend only on the seed, itself,
    the sections before it and the name of the one after it.
    """
    spec = spec.validated()
    seed = int(seed)
    style = style_for(spec.genre)
    key = parse_key(spec.key)
    if plan is None:
        sections = plan_for(style, bars_for(spec.duration, spec.bpm), seed)
    else:
        sections = checked_plan(plan)
        bars = sections[-1].end_bar
        if bars != bars_for(spec.duration, spec.bpm):
            spec = replace(spec, duration=bars * BEATS_PER_BAR * 60.0 / spec.bpm)
    chords = chords_for(key, spec.genre, spec.mood, sections, seed)
    low, high = style.chord_register
    take = Take(
        spec=spec,
        seed=seed,
        genre=get_genre(spec.genre),
        style=style,
        key=key,
        sound=sound_for(spec.genre, rng_for(seed, "palette")),
        sections=sections,
        arcs=arcs_for(sections, seed),
        chords=chords,
        voicings=voice_lead(chords, low, high, rootless=style.rootless, tonic=key.tonic),
    )
    play_drums(take)
    play_bass(take)
    play_harmony(take)
    play_melody(take)
    play_fx(take)
    for track in take.tracks.values():
        track.events.sort(key=lambda e: (e.time, e.pitch))
    return Arrangement(
        spec=spec,
        seed=seed,
        key=key,
        bars=take.bars,
        sections=sections,
        tracks={n: t for n, t in take.tracks.items() if t.events},
        chords=chords,
        swing=take.swing,
        sidechain=style.sidechain,
        brightness=take.brightness,
        automation=filter_moves(take),
    )
