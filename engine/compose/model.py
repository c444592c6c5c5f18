"""The composition's data: what a beat is made of, as the rest of the engine sees it.

`BeatSpec` (what was asked) -> `Arrangement` (sections, chords, tracks of `NoteEvent`s, filter
automation). Times and durations are in beats (quarter notes) from the start, already swung
and humanised; `Arrangement.seconds(beat)` converts. `rng_for` gives every part its own
random stream, so the same spec + seed always gives the same arrangement.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from engine.errors import EngineInputError
from engine.genres import GENRE_NAMES, MOODS
from engine.palettes import GM_PROGRAMS, INSTRUMENT_LABELS, includable, voices_for
from engine.theory import Chord, Key, parse_key

BEATS_PER_BAR = 4
# How early (beats) a humanised hit may land and still belong to the next beat's grid line.
EARLY_BEATS = 1.0 / 16
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_SECONDS = 600.0

# Which stem each part renders into ("drums" = kick + snare + hats + perc).
STEM_NAMES: tuple[str, ...] = ("kick", "snare", "hats", "perc", "bass", "chords", "melody", "fx")
DRUM_STEM: dict[str, str] = {
    "kick": "kick",
    "snare": "snare",
    "clap": "snare",
    "hat_closed": "hats",
    "hat_open": "hats",
    "ride": "hats",
    "crash": "hats",
    "rim": "perc",
    "shaker": "perc",
    "conga": "perc",
    "tom": "perc",
    "cowbell": "perc",
}
# General MIDI percussion notes (channel 10).
GM_DRUMS: dict[str, int] = {
    "kick": 36,
    "rim": 37,
    "snare": 38,
    "clap": 39,
    "hat_closed": 42,
    "hat_open": 46,
    "crash": 49,
    "ride": 51,
    "cowbell": 56,
    "conga": 63,
    "shaker": 82,
    "tom": 45,
}
TOM_NOTES = (50, 48, 45, 43)  # high tom -> floor tom

# What `exclude` and `Redo.part` name: a stem, or "drums" for the four drum stems.
PARTS: tuple[str, ...] = ("drums", *STEM_NAMES)
DRUM_STEMS: tuple[str, ...] = ("kick", "snare", "hats", "perc")
MAX_EDITS = 16
SECTION_NAMES = ("intro", "verse", "hook", "drop", "build", "break", "outro", "head", "solo")


def stems_of_part(part: str) -> tuple[str, ...]:
    """The stems a part names ("drums" is kick, snare, hats and perc; "all" every stem)."""
    if part == "all":
        return STEM_NAMES
    return DRUM_STEMS if part == "drums" else (part,)


@dataclass(frozen=True)
class Extend:
    """Append `bars` bars that continue the arrangement (an outro moves to the new end)."""

    bars: int


@dataclass(frozen=True)
class Redo:
    """A fresh draw of `part` ("all" or one of PARTS) in every section named `section`;
    take 1, 2, 3... each draws from its own random stream."""

    section: str
    part: str = "all"
    take: int = 1


Edit = Extend | Redo


def edits_from_json(items: object) -> tuple[Edit, ...]:
    """[{"extend": 8}, {"redo": "hook", "part": "drums", "take": 2}] -> edits (checked)."""
    if not isinstance(items, list | tuple):
        raise EngineInputError('Edits must be a list like [{"extend": 8}].')
    return tuple(_edit_from_json(item) for item in items)


def _edit_from_json(item: object) -> Edit:
    if isinstance(item, dict) and set(item) == {"extend"}:
        bars = item["extend"]
        if isinstance(bars, int) and not isinstance(bars, bool):
            return Extend(bars)
    if isinstance(item, dict) and "redo" in item and set(item) <= {"redo", "part", "take"}:
        section, part, take = item["redo"], item.get("part", "all"), item.get("take", 1)
        if (
            isinstance(section, str)
            and isinstance(part, str)
            and isinstance(take, int)
            and not isinstance(take, bool)
        ):
            return Redo(section, part, take)
    raise EngineInputError(
        f'I can\'t read the edit {item!r}; use {{"extend": 8}} or '
        '{"redo": "hook", "part": "drums", "take": 2}.'
    )


def edits_to_json(edits: tuple[Edit, ...] | list[Edit]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for edit in edits:
        if isinstance(edit, Extend):
            out.append({"extend": edit.bars})
        else:
            out.append({"redo": edit.section, "part": edit.part, "take": edit.take})
    return out


def spoken_list(names: list[str] | tuple[str, ...]) -> str:
    """ "a", "a and b", "a, b and c": a list the way a person says it."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# Section name -> energy (0..1): how hard the section hits; `sections.arc_for` refines it.
ENERGY: dict[str, float] = {
    "intro": 0.4,
    "verse": 0.7,
    "head": 0.8,
    "hook": 1.0,
    "solo": 1.0,
    "build": 0.6,
    "drop": 1.0,
    "break": 0.35,
    "outro": 0.5,
}


@dataclass(frozen=True)
class BeatSpec:
    """What to make. `genre` is a canonical name; `key` like "C", "F#", "Bb", "Cm", "F#m"."""

    genre: str
    bpm: float
    key: str
    mood: str
    duration: float  # seconds; the beat is this rounded to whole bars
    exclude: tuple[str, ...] = ()  # parts left out (PARTS)
    include: tuple[str, ...] = ()  # voices asked for (palettes.includable(genre))
    edits: tuple[Edit, ...] = ()  # applied in order, each to the beat the ones before made

    def __post_init__(self) -> None:
        # Lists from JSON become tuples: the spec stays hashable and frozen.
        for name in ("exclude", "include", "edits"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @property
    def excluded_stems(self) -> frozenset[str]:
        return frozenset(s for part in self.exclude for s in stems_of_part(part))

    @property
    def total_bars(self) -> int:
        """Bars after every edit: the requested length plus what the extends append."""
        extra = sum(e.bars for e in self.edits if isinstance(e, Extend))
        return bars_for(self.duration, self.bpm) + extra

    def validated(self) -> BeatSpec:
        """This spec if the engine can make it, else EngineInputError with one sentence."""
        if self.genre not in GENRE_NAMES:
            raise EngineInputError(
                f"I don't make {self.genre!r} beats; pick one of: {', '.join(GENRE_NAMES)}."
            )
        if not (math.isfinite(self.bpm) and MIN_BPM <= self.bpm <= MAX_BPM):
            raise EngineInputError(
                f"A tempo of {self.bpm:g} BPM is out of range; use {MIN_BPM:g} to {MAX_BPM:g} BPM."
            )
        if not (math.isfinite(self.duration) and 1.0 <= self.duration <= MAX_SECONDS):
            raise EngineInputError(
                f"A length of {self.duration:g} s won't work; ask for 1 to {MAX_SECONDS:g} seconds."
            )
        if self.mood not in MOODS:
            raise EngineInputError(
                f"I don't know the mood {self.mood!r}; try one of: {', '.join(MOODS)}."
            )
        parse_key(self.key)
        self._check_parts()
        self._check_edits()
        return self

    def _check_parts(self) -> None:
        for part in self.exclude:
            if part not in PARTS:
                raise EngineInputError(
                    f"I can't leave out {part!r}; the parts are {spoken_list(PARTS)}."
                )
        if self.excluded_stems >= set(STEM_NAMES):
            raise EngineInputError(
                "That leaves nothing to play; keep at least one part (drums, bass, chords, "
                "melody or fx)."
            )
        have = includable(self.genre)
        for voice in self.include:
            if voice not in have:
                labels = spoken_list([INSTRUMENT_LABELS.get(v, v) for v in have])
                raise EngineInputError(
                    f"I don't have {INSTRUMENT_LABELS.get(voice, voice)!r} for "
                    f"{self.genre}; I can add {labels}."
                )
        voices_for(self.genre, self.include)  # two voices for one role raise here

    def _check_edits(self) -> None:
        if len(self.edits) > MAX_EDITS:
            raise EngineInputError(
                f"That's {len(self.edits)} edits on one beat; I keep up to {MAX_EDITS}, "
                "so start a fresh beat from this one."
            )
        for edit in self.edits:
            if isinstance(edit, Extend):
                if not isinstance(edit.bars, int) or not 1 <= edit.bars <= 512:
                    raise EngineInputError(
                        f"I can extend a beat by whole bars, 1 or more, not {edit.bars}."
                    )
            elif isinstance(edit, Redo):
                if not isinstance(edit.take, int) or not isinstance(edit.part, str):
                    raise EngineInputError(f"I can't read the redo {edit!r}.")
                if edit.section not in SECTION_NAMES:
                    raise EngineInputError(
                        f"I don't know the section {edit.section!r}; sections are "
                        f"{spoken_list(SECTION_NAMES)}."
                    )
                if edit.part != "all" and edit.part not in PARTS:
                    raise EngineInputError(
                        f"I can't redo {edit.part!r}; pick all or one of {spoken_list(PARTS)}."
                    )
                if edit.take < 1:
                    raise EngineInputError(f"Takes count from 1, not {edit.take}.")
            else:
                raise EngineInputError(f"I can't apply the edit {edit!r}.")
        seconds = self.total_bars * BEATS_PER_BAR * 60.0 / self.bpm
        if seconds > MAX_SECONDS + 1e-6:
            raise EngineInputError(
                f"That makes the beat {seconds:.0f} s long; I make up to {MAX_SECONDS:g} "
                "seconds, so extend it by less."
            )


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """One note or hit. Drums carry their General MIDI note number as `pitch`."""

    time: float  # beats from the start
    duration: float  # beats held
    pitch: float  # MIDI note number
    velocity: float  # 0..1
    glide_from: float | None = None  # MIDI pitch this note slides from (808 slides)
    lfo_per_beat: float | None = None  # wobble LFO cycles per beat (tempo-synced)


@dataclass
class Track:
    """One part: a drum voice, a pitched instrument, or an effect layer."""

    name: str
    kind: str  # "drum" | "pitched" | "fx"
    instrument: str  # drum name, instrument voice, or "vinyl"/"riser"
    stem: str
    events: list[NoteEvent] = field(default_factory=list)
    kit: str = "acoustic"
    brightness: float = 0.5
    gain_db: float = 0.0
    pan: float = 0.0  # -1 left .. +1 right
    width: float = 0.0  # pitched: spread voices across the stereo field by pitch

    @property
    def midi_program(self) -> int:
        return GM_PROGRAMS.get(self.instrument, 0)


@dataclass(frozen=True)
class Section:
    name: str
    start_bar: int
    bars: int

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars

    @property
    def energy(self) -> float:
        return ENERGY.get(self.name, 0.7)


@dataclass(frozen=True)
class FilterMove:
    """Filter automation on some stems over a span of the beat: the cutoff glides (on a log
    scale) from `from_hz` at `start` to `to_hz` at `end`; outside every move a stem is
    unfiltered. Renders apply it; the MIDI and stems are unaffected otherwise."""

    stems: tuple[str, ...]
    start: float  # beats
    end: float  # beats
    kind: str  # "lowpass" | "highpass"
    from_hz: float
    to_hz: float

    def cutoff_at(self, beat: float) -> float:
        """The cutoff at `beat` (within the move), on its log glide."""
        span = self.end - self.start
        fraction = min(1.0, max(0.0, (beat - self.start) / span)) if span > 0 else 1.0
        return self.from_hz * (self.to_hz / self.from_hz) ** fraction

    def clipped(self, start: float, end: float) -> FilterMove:
        """The part of this move inside [start, end), gliding exactly as it did there."""
        lo, hi = max(self.start, start), min(self.end, end)
        return replace(self, start=lo, end=hi, from_hz=self.cutoff_at(lo), to_hz=self.cutoff_at(hi))

    def shifted(self, beats: float) -> FilterMove:
        return replace(self, start=self.start + beats, end=self.end + beats)


@dataclass
class Arrangement:
    spec: BeatSpec
    seed: int
    key: Key
    bars: int
    sections: list[Section]
    tracks: dict[str, Track]
    chords: list[Chord]  # one per bar
    swing: float
    sidechain: float  # 0..1: how deep bass/chords duck under the kick
    brightness: float
    beats_per_bar: int = BEATS_PER_BAR
    automation: tuple[FilterMove, ...] = ()
    left_out: tuple[str, ...] = ()  # excluded parts this beat would have played

    @property
    def bpm(self) -> float:
        return self.spec.bpm

    @property
    def genre(self) -> str:
        return self.spec.genre

    @property
    def mood(self) -> str:
        return self.spec.mood

    @property
    def beats(self) -> float:
        return float(self.bars * self.beats_per_bar)

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm

    @property
    def duration(self) -> float:
        """Seconds: whole bars."""
        return self.beats * self.beat_seconds

    def seconds(self, beat: float) -> float:
        return beat * self.beat_seconds

    def section_at(self, bar: int) -> Section:
        return section_at(self.sections, bar)

    def loop_start_bar(self, bars: int) -> int:
        """Where a `bars`-long loop sounds best: the first hook/drop/solo that fits, else bar 0."""
        for name in ("hook", "drop", "solo", "verse", "head"):
            for section in self.sections:
                if section.name == name and section.start_bar + bars <= self.bars:
                    return section.start_bar
        return max(0, min(self.bars - bars, self.bars // 4))

    def excerpt(self, start_bar: int, bars: int) -> Arrangement:
        """`bars` bars from `start_bar`, events shifted to start at 0 (for loop export)."""
        lo = start_bar * self.beats_per_bar
        hi = (start_bar + bars) * self.beats_per_bar
        tracks = {}
        for name, track in self.tracks.items():
            if track.instrument == "vinyl":
                events = [NoteEvent(0.0, float(hi - lo), 0.0, track.events[0].velocity)]
            else:
                # A hit humanised a hair early belongs to the bar it pushes: the loop's
                # downbeat keeps it, and the loop's end doesn't play the next bar's crash.
                events = [
                    replace(
                        e,
                        time=max(0.0, e.time - lo),
                        duration=min(e.duration, hi - max(lo, e.time)),
                    )
                    for e in track.events
                    if lo - EARLY_BEATS <= e.time < hi - EARLY_BEATS
                ]
            tracks[name] = replace(track, events=events)
        sections = [
            Section(
                s.name,
                max(s.start_bar, start_bar) - start_bar,
                min(s.end_bar, start_bar + bars) - max(s.start_bar, start_bar),
            )
            for s in self.sections
            if s.end_bar > start_bar and s.start_bar < start_bar + bars
        ]
        # Filter moves over the excerpt, clipped to it: a loop from the hook must not carry
        # the intro's low-pass from bar 0.
        automation = tuple(
            move.clipped(lo, hi).shifted(-lo)
            for move in self.automation
            if move.end > lo and move.start < hi
        )
        return replace(
            self,
            bars=bars,
            sections=sections,
            tracks=tracks,
            chords=self.chords[start_bar : start_bar + bars],
            automation=automation,
        )

    def summary(self) -> dict[str, object]:
        return {
            "genre": self.genre,
            "bpm": self.bpm,
            "key": self.key.name,
            "mood": self.mood,
            "bars": self.bars,
            "sections": [(s.name, s.bars) for s in self.sections],
            "chords": [c.symbol(flats=self.key.uses_flats) for c in self.chords[:8]],
            "parts": {name: len(t.events) for name, t in self.tracks.items()},
        }


def section_at(sections: list[Section], bar: int) -> Section:
    """The section `bar` falls in (the last one past the end)."""
    for section in sections:
        if section.start_bar <= bar < section.end_bar:
            return section
    return sections[-1]


def bars_for(duration: float, bpm: float) -> int:
    """Whole 4/4 bars nearest to `duration` seconds (at least one)."""
    return max(1, round(duration * bpm / (60.0 * BEATS_PER_BAR)))


def rng_for(seed: int, label: str) -> np.random.Generator:
    """An independent, stable random stream per (seed, part)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(label.encode())])
