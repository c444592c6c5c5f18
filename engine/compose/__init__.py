"""Request + seed -> Arrangement: sections, chords, and note events for every part.

A package by musical part, each a module a producer would look for:
    model       the data (BeatSpec, Section, Track, NoteEvent, FilterMove, Arrangement)
    sections    the form and each section's arc (energy, layers, drop-outs)
    take        what the parts share while writing one take
    drums, bass, harmony, melody, fx    the parts
    automation  filter moves over the sections
    composer    compose(): the parts in order
"""

from engine.compose.composer import compose
from engine.compose.model import (
    BEATS_PER_BAR,
    DRUM_STEM,
    ENERGY,
    GM_DRUMS,
    MAX_BPM,
    MAX_SECONDS,
    MIN_BPM,
    PARTS,
    STEM_NAMES,
    TOM_NOTES,
    Arrangement,
    BeatSpec,
    Extend,
    FilterMove,
    NoteEvent,
    Redo,
    Section,
    Track,
    bars_for,
    edits_from_json,
    edits_to_json,
    rng_for,
)
from engine.compose.sections import plan_sections

__all__ = [
    "BEATS_PER_BAR",
    "DRUM_STEM",
    "ENERGY",
    "GM_DRUMS",
    "MAX_BPM",
    "MAX_SECONDS",
    "MIN_BPM",
    "PARTS",
    "STEM_NAMES",
    "TOM_NOTES",
    "Arrangement",
    "BeatSpec",
    "Extend",
    "FilterMove",
    "NoteEvent",
    "Redo",
    "Section",
    "Track",
    "bars_for",
    "compose",
    "edits_from_json",
    "edits_to_json",
    "plan_sections",
    "rng_for",
]
