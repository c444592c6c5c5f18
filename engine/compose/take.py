"""One take: what every part of a beat shares while it is being written.

The spec, the seed's choices (palette, section plan, each section's arc), the chords and their
voicings, the groove's time warp, the drop-out windows, and the tracks the parts fill in.

Random draws: take-wide choices (the motif, the progression, the kit) come from one stream
per part (`rng_for(seed, part)`); everything a section plays comes from that section's own
stream (`take.rng(part, section)` = `rng_for(seed, f"{part}:{start bar}")`). So a section's
notes don't depend on how many sections follow it, and a section can be redrawn alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.compose.model import BeatSpec, Section, Track, rng_for, section_at
from engine.compose.sections import Arc
from engine.genres import Genre
from engine.grooves import Style
from engine.palettes import Sound
from engine.theory import Chord, Key

# Mood -> (brightness 0..1, density multiplier).
MOOD_TIMBRE: dict[str, tuple[float, float]] = {
    "dark": (0.25, 1.0),
    "menacing": (0.2, 0.95),
    "aggressive": (0.5, 1.25),
    "sad": (0.3, 0.75),
    "melancholic": (0.3, 0.75),
    "nostalgic": (0.4, 0.85),
    "chill": (0.4, 0.75),
    "mellow": (0.35, 0.75),
    "dreamy": (0.45, 0.75),
    "romantic": (0.45, 0.8),
    "groovy": (0.55, 1.0),
    "hypnotic": (0.45, 1.0),
    "happy": (0.75, 1.05),
    "uplifting": (0.75, 1.05),
    "energetic": (0.7, 1.25),
    "hype": (0.7, 1.25),
    "epic": (0.65, 1.15),
}
HOOKS = ("hook", "drop", "solo")  # the sections that carry the beat's peak


@dataclass
class Take:
    spec: BeatSpec
    seed: int
    genre: Genre
    style: Style
    key: Key
    sound: Sound
    sections: list[Section]
    arcs: dict[int, Arc]  # by section start bar
    chords: list[Chord]  # one per bar
    voicings: list[list[int]]  # the chord part's voicing per bar
    tracks: dict[str, Track] = field(default_factory=dict)
    # Sections drawn afresh (a Redo): start bar -> take number. Their streams get the take
    # in their label, so take 2 of the hook is neither take 1 nor the original.
    redraws: dict[int, int] = field(default_factory=dict)

    @property
    def bars(self) -> int:
        return self.sections[-1].end_bar

    @property
    def brightness(self) -> float:
        return MOOD_TIMBRE[self.spec.mood][0]

    @property
    def density(self) -> float:
        return MOOD_TIMBRE[self.spec.mood][1]

    @property
    def swing(self) -> float:
        return self.genre.swing

    def rng(self, part: str, section: Section) -> np.random.Generator:
        """This section's own stream for `part` (independent of every other section)."""
        label = f"{part}:{section.start_bar}"
        take = self.redraws.get(section.start_bar)
        return rng_for(self.seed, label if take is None else f"{label}:take{take}")

    def choices(self, part: str, section: Section) -> np.random.Generator:
        """The stream of `part`'s take-wide choices (a groove, a motif, a comping pattern)
        as `section` plays them: the take's own, or the section's fresh one in a redraw."""
        take = self.redraws.get(section.start_bar)
        if take is None:
            return rng_for(self.seed, part)
        return rng_for(self.seed, f"{part}:{section.start_bar}:choices{take}")

    def redrawn(self, section: Section) -> bool:
        return section.start_bar in self.redraws

    def section_at(self, bar: int) -> Section:
        return section_at(self.sections, bar)

    def arc(self, section: Section) -> Arc:
        return self.arcs[section.start_bar]

    def next_section(self, section: Section) -> Section | None:
        return self.section_at(section.end_bar) if section.end_bar < self.bars else None

    def is_last_bar(self, bar: int) -> bool:
        """The closing bar (one hit, the tonic ringing) of a beat that has an outro."""
        return bar == self.bars - 1 and self.bars >= 8 and self.sections[-1].name == "outro"

    def silenced(self, beat: float) -> bool:
        """Inside a drop-out: the beats before a hook where drums and bass stop."""
        section = self.section_at(min(self.bars - 1, int(beat // 4)))
        gap = self.arc(section).dropout
        return gap > 0 and section.end_bar * 4.0 - gap - 1e-6 <= beat < section.end_bar * 4.0

    def swung(self, beat: float) -> float:
        """Delay every off-subdivision toward the triplet by `swing` (a continuous time warp).

        The unit is the genre's (16ths, or 8ths for the hip hop family and jazz), so what
        swings is what the ear hears swing: lo-fi's 8th-note hats, not only its rare 16ths.
        """
        if self.swing <= 0:
            return beat
        unit = self.style.swing_unit
        pair = 2 * unit
        base = math.floor(beat / pair + 1e-9) * pair
        pos = beat - base
        split = unit * (1 + self.swing / 3)
        if pos < unit:
            return base + pos * split / unit
        return base + split + (pos - unit) * (pair - split) / unit

    def track(self, name: str, kind: str, instrument: str, stem: str, **kw: float | str) -> Track:
        if name not in self.tracks:
            self.tracks[name] = Track(name, kind, instrument, stem, **kw)  # type: ignore[arg-type]
        return self.tracks[name]
