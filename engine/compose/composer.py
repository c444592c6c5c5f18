"""compose(): request + seed -> Arrangement, part by part.

Order matters only where one part listens to another: the bass rides the kick, the melody
reads the chords. Each part draws from its own random streams (see `take`), so changing one
part's logic doesn't reshuffle the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    Track,
    bars_for,
    rng_for,
    stems_of_part,
)
from engine.compose.sections import arcs_for, checked_plan, plan_for
from engine.compose.take import Take
from engine.errors import EngineInputError
from engine.genres import get_genre
from engine.grooves import style_for
from engine.palettes import sound_for, voices_for, with_voices
from engine.theory import parse_key, voice_lead


def compose(
    spec: BeatSpec,
    seed: int,
    plan: Sequence[Section] | None = None,
    redraws: Mapping[int, int] | None = None,
) -> Arrangement:
    """The beat for this spec: same spec + seed (+ plan) -> the same arrangement, always.

    `plan` fixes the sections instead of scaling the genre's form to `spec.duration` (the
    beat is then as long as the plan); a section's notes depend only on the seed, itself,
    the sections before it and the name of the one after it. `redraws` (start bar -> take)
    draws those sections afresh. The spec's `include` sets voices; its `exclude` drops parts
    after they are written, so every other part plays the same notes. Its `edits` are not
    applied here (engine.compose.edits does that).
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
        # The palette draw happens either way, so an included voice changes nothing else.
        sound=with_voices(
            sound_for(spec.genre, rng_for(seed, "palette")), voices_for(spec.genre, spec.include)
        ),
        sections=sections,
        arcs=arcs_for(sections, seed),
        chords=chords,
        voicings=voice_lead(chords, low, high, rootless=style.rootless, tonic=key.tonic),
        redraws=dict(redraws or {}),
    )
    play_drums(take)
    play_bass(take)
    play_harmony(take)
    play_melody(take)
    play_fx(take)
    for track in take.tracks.values():
        track.events.sort(key=lambda e: (e.time, e.pitch))
    tracks, left_out = _without(take, spec.exclude, spec.excluded_stems)
    return Arrangement(
        spec=spec,
        seed=seed,
        key=key,
        bars=take.bars,
        sections=sections,
        tracks=tracks,
        chords=chords,
        swing=take.swing,
        sidechain=style.sidechain,
        brightness=take.brightness,
        automation=filter_moves(take),
        left_out=left_out,
    )


def _without(
    take: Take, exclude: tuple[str, ...], stems: frozenset[str]
) -> tuple[dict[str, Track], tuple[str, ...]]:
    """The tracks that play (not excluded, not empty), and the excluded parts that had notes."""
    playing = {n: t for n, t in take.tracks.items() if t.events}
    kept = {n: t for n, t in playing.items() if t.stem not in stems}
    if not kept:
        raise EngineInputError(
            "Leaving those parts out leaves nothing to play; keep at least one part."
        )
    left_out = tuple(
        part for part in exclude if any(t.stem in stems_of_part(part) for t in playing.values())
    )
    return kept, left_out
