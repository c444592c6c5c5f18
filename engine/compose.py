"""Request + seed -> Arrangement: sections, chords, and note events for every part.

Times and durations are in beats (quarter notes) from the start, already swung and humanised;
`Arrangement.seconds(beat)` converts. Every random choice comes from a generator derived from
(seed, part name), so the same spec + seed always gives the same arrangement, and changing one
part's logic doesn't reshuffle the others.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from engine.errors import EngineInputError
from engine.genres import GENRE_NAMES, MOODS, get_genre
from engine.grooves import HIT_VELOCITY, Style, style_for
from engine.palettes import GM_PROGRAMS
from engine.theory import (
    MOOD_COLOUR,
    Chord,
    Key,
    approach_note,
    bass_root,
    chord_tones_in,
    nearest,
    parse_key,
    progression,
    scale_tones_in,
    voice_lead,
    walking_bass,
)

BEATS_PER_BAR = 4
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

# Section name -> energy; decides which parts play.
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
FOUR_ON_FLOOR = ("house", "techno", "edm")


@dataclass(frozen=True)
class BeatSpec:
    """What to make. `genre` is a canonical name; `key` like "C", "F#", "Bb", "Cm", "F#m"."""

    genre: str
    bpm: float
    key: str
    mood: str
    duration: float  # seconds; the beat is this rounded to whole bars

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
        return self


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
        for section in self.sections:
            if section.start_bar <= bar < section.end_bar:
                return section
        return self.sections[-1]

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
                events = [
                    replace(e, time=e.time - lo, duration=min(e.duration, hi - e.time))
                    for e in track.events
                    if lo - 1e-6 <= e.time < hi - 1e-6
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
        return replace(
            self,
            bars=bars,
            sections=sections,
            tracks=tracks,
            chords=self.chords[start_bar : start_bar + bars],
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


def bars_for(duration: float, bpm: float) -> int:
    """Whole 4/4 bars nearest to `duration` seconds (at least one)."""
    return max(1, round(duration * bpm / (60.0 * BEATS_PER_BAR)))


def rng_for(seed: int, label: str) -> np.random.Generator:
    """An independent, stable random stream per (seed, part)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(label.encode())])


def plan_sections(template: Iterable[tuple[str, float]], bars: int) -> list[Section]:
    """Scale a section template to `bars` whole bars (phrases of 4 or 2 bars when it can)."""
    template = list(template)
    if bars <= 2:
        return [Section("hook" if "hook" in dict(template) else template[2][0], 0, bars)]
    quantum = 4 if bars >= 32 else 2 if bars >= 12 else 1
    units = bars // quantum
    weights = np.array([w for _, w in template], dtype=float)
    ideal = units * weights / weights.sum()
    counts = np.floor(ideal).astype(int)
    order = np.argsort(-(ideal - counts), kind="stable")
    for index in order[: units - int(counts.sum())]:
        counts[index] += 1
    sizes = [int(c) * quantum for c in counts]
    # Leftover bars join the biggest main section so phrases stay whole.
    main = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
    sizes[main] += bars - sum(sizes)
    sections, start = [], 0
    for (name, _), size in zip(template, sizes, strict=True):
        if size > 0:
            sections.append(Section(name, start, size))
            start += size
    return sections


def compose(spec: BeatSpec, seed: int) -> Arrangement:
    """The beat for this spec: same spec + seed -> the same arrangement, always."""
    spec = spec.validated()
    return _Composer(spec, int(seed)).arrangement()


class _Composer:
    def __init__(self, spec: BeatSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.genre = get_genre(spec.genre)
        self.style: Style = style_for(spec.genre)
        self.key = parse_key(spec.key)
        self.bars = bars_for(spec.duration, spec.bpm)
        self.sections = plan_sections(self.style.sections, self.bars)
        self.brightness, self.density = MOOD_TIMBRE[spec.mood]
        self.colour = MOOD_COLOUR.get(spec.mood, "smooth")
        self.swing = self.genre.swing
        self.tracks: dict[str, Track] = {}

    # --- top level -----------------------------------------------------------------------

    def arrangement(self) -> Arrangement:
        self.chords = self._chords()
        self._drums()
        self._bass()
        self._harmony()
        self._melody()
        self._fx()
        for track in self.tracks.values():
            track.events.sort(key=lambda e: (e.time, e.pitch))
        return Arrangement(
            spec=self.spec,
            seed=self.seed,
            key=self.key,
            bars=self.bars,
            sections=self.sections,
            tracks={n: t for n, t in self.tracks.items() if t.events},
            chords=self.chords,
            swing=self.swing,
            sidechain=self.style.sidechain,
            brightness=self.brightness,
        )

    def _track(self, name: str, kind: str, instrument: str, stem: str, **kw: float | str) -> Track:
        if name not in self.tracks:
            self.tracks[name] = Track(name, kind, instrument, stem, **kw)  # type: ignore[arg-type]
        return self.tracks[name]

    def swung(self, beat: float) -> float:
        """Delay every off-subdivision toward the triplet by `swing` (a continuous time warp)."""
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

    def _is_last_bar(self, bar: int) -> bool:
        """The closing bar (one hit, the tonic ringing) of a beat that has an outro."""
        return bar == self.bars - 1 and self.bars >= 8 and self.sections[-1].name == "outro"

    # --- harmony -------------------------------------------------------------------------

    def _chords(self) -> list[Chord]:
        rng = rng_for(self.seed, "progression")
        verse = progression(self.key, self.spec.genre, self.spec.mood, rng)
        hook = progression(self.key, self.spec.genre, self.spec.mood, rng)
        tonic = verse[0]
        chords = []
        for bar in range(self.bars):
            section = self._section(bar)
            loop = hook if section.name in ("hook", "drop", "solo") else verse
            chords.append(loop[(bar - section.start_bar) % len(loop)])
        if self.bars >= 3:
            chords[-1] = tonic  # end home
        return chords

    def _section(self, bar: int) -> Section:
        for section in self.sections:
            if section.start_bar <= bar < section.end_bar:
                return section
        return self.sections[-1]

    # --- drums ---------------------------------------------------------------------------

    def _drums(self) -> None:
        style, genre = self.style, self.spec.genre
        rng = rng_for(self.seed, "drums")
        human = rng_for(self.seed, "humanise")
        choice = {name: int(rng.integers(len(v))) for name, v in style.drums.items()}
        busy = self.density > 1.1
        for bar in range(self.bars):
            section = self._section(bar)
            fill = self._fill_kind(bar, section, rng)
            # A fill takes over the snare (and the kick, except where the kick never stops).
            fill_drops = ("snare",) if genre in FOUR_ON_FLOOR else ("snare", "kick")
            if self._is_last_bar(bar):
                self._hit("kick", bar * 4.0, 1.0, human)
                self._hit("crash", bar * 4.0, 0.9, human)
                continue
            if section.name == "build":
                self._build_bar(bar, section, rng, human)
                continue
            for name, variants in style.drums.items():
                if not self._drum_plays(name, section):
                    continue
                index = choice[name]
                if section.name in ("hook", "drop", "solo") and len(variants) > 1:
                    index = (index + 1) % len(variants)
                if name == "hat_closed" and busy and section.energy >= 1.0:
                    index = min(range(len(variants)), key=lambda i: variants[i].count("."))
                elif name == "hat_closed" and self.density < 0.9:
                    index = max(range(len(variants)), key=lambda i: variants[i].count("."))
                pattern = variants[index]
                if name == "hat_closed" and style.triplet_hats:
                    self._triplet_hats(bar, rng, human)
                    continue
                for step, letter in enumerate(pattern):
                    if letter == "." or (fill and step >= fill[0] and name in fill_drops):
                        continue
                    velocity = HIT_VELOCITY[letter]
                    if section.name == "intro" and name in ("kick", "snare", "clap"):
                        velocity *= 0.8
                    if section.name == "break" and name != "kick":
                        velocity *= 0.75
                    self._hit(name, bar * 4.0 + step / 4.0, velocity, human)
            if style.hat_rolls and self._drum_plays("hat_closed", section):
                self._hat_roll(bar, section, rng, human)
            if fill:
                self._fill(bar, fill, rng, human)
            if bar == section.start_bar and bar > 0 and section.name not in ("break", "intro"):
                self._hit("ride" if genre == "jazz" else "crash", bar * 4.0, 0.85, human)

    def _drum_plays(self, name: str, section: Section) -> bool:
        genre = self.spec.genre
        if section.name == "intro":
            if genre in FOUR_ON_FLOOR and name == "kick":
                return True
            return name in ("hat_closed", "shaker", "ride", "rim") or genre in ("jazz", "rock")
        if section.name == "break":
            return name in ("hat_closed", "shaker", "rim")
        if section.name == "outro":
            return name not in ("hat_open", "shaker")
        return not (section.name == "verse" and name == "hat_open" and genre not in FOUR_ON_FLOOR)

    def _hit(
        self,
        name: str,
        beat: float,
        velocity: float,
        rng: np.random.Generator,
        pitch: int | None = None,
        swing: bool = True,
    ) -> None:
        style = self.style
        track = self._track(
            name,
            "drum",
            name,
            DRUM_STEM[name],
            kit=style.kit,
            brightness=self.brightness,
            gain_db=DRUM_GAIN_DB.get(name, -10.0),
            pan=DRUM_PAN.get(name, 0.0),
        )
        time = self.swung(beat) if swing else beat
        if style.humanise_time and beat > 0:
            time += float(rng.normal(0.0, style.humanise_time))
        velocity = velocity * (1.0 + float(rng.normal(0.0, style.humanise_velocity)))
        track.events.append(
            NoteEvent(
                time=max(0.0, min(time, self.bars * 4.0 - 0.01)),
                duration=0.25,
                pitch=float(pitch if pitch is not None else GM_DRUMS[name]),
                velocity=float(np.clip(velocity, 0.1, 1.0)),
            )
        )

    def _triplet_hats(self, bar: int, rng: np.random.Generator, human: np.random.Generator) -> None:
        """Drill hats: a triplet-8th grid with gaps, and 16th-triplet bursts."""
        pattern = TRIPLET_HATS[int(rng.integers(len(TRIPLET_HATS)))]
        for step, letter in enumerate(pattern):
            if letter == ".":
                continue
            beat = bar * 4.0 + step / 3.0
            if letter == "r":  # a 16th-triplet burst
                for k in range(2):
                    self._hit("hat_closed", beat + k / 6.0, 0.55 + 0.2 * k, human, swing=False)
            else:
                self._hit("hat_closed", beat, HIT_VELOCITY[letter], human, swing=False)

    def _hat_roll(
        self, bar: int, section: Section, rng: np.random.Generator, human: np.random.Generator
    ) -> None:
        """Trap: swap a beat of hats for a 32nd, 16th-triplet or 8th-triplet roll."""
        chance = 0.9 if section.energy >= 1.0 else 0.6
        if bar % 2 == 0 and rng.random() > chance:
            return
        rate = (8, 6, 3, 4)[int(rng.integers(4))]  # hits per beat
        beat_in_bar = (1, 3, 2)[int(rng.integers(3))]
        length = 1.0 if rate != 3 else 2.0 if beat_in_bar < 3 else 1.0
        start = bar * 4.0 + beat_in_bar
        track = self.tracks["hat_closed"]
        track.events = [e for e in track.events if not (start - 1e-6 <= e.time < start + length)]
        hits = round(rate * length)
        rising = rng.random() < 0.5
        for k in range(hits):
            velocity = 0.45 + 0.45 * (k / max(1, hits - 1) if rising else 1 - k / max(1, hits))
            pitch = None
            self._hit("hat_closed", start + k / rate, velocity, human, pitch=pitch, swing=False)

    def _fill_kind(self, bar: int, section: Section, rng: np.random.Generator) -> tuple[int] | None:
        """A fill in a section's last bar (before the next section), from step 8 or 12."""
        if bar != section.end_bar - 1 or bar >= self.bars - 2 or section.name in ("build", "intro"):
            return None
        if section.bars < 2 and rng.random() < 0.5:
            return None
        return (8,) if rng.random() < 0.5 else (12,)

    def _fill(
        self, bar: int, fill: tuple[int], rng: np.random.Generator, human: np.random.Generator
    ) -> None:
        genre, start = self.spec.genre, fill[0]
        base = bar * 4.0
        steps = range(start, 16)
        if genre in ("rock", "jazz", "pop", "r&b"):
            toms = TOM_NOTES
            for i, step in enumerate(steps):
                if step % 2 and genre == "jazz":
                    continue
                tom = toms[min(len(toms) - 1, i * len(toms) // len(steps))]
                name = "snare" if i == 0 else "tom"
                self._hit(
                    name,
                    base + step / 4.0,
                    0.7 + 0.3 * i / len(steps),
                    human,
                    pitch=tom if name == "tom" else None,
                )
        elif genre in ("trap", "drill", "dubstep"):
            rate = (8, 6)[int(rng.integers(2))]
            first = base + start / 4.0
            hits = int((base + 4.0 - first) * rate)
            for k in range(hits):
                self._hit(
                    "snare",
                    first + k / rate,
                    0.35 + 0.55 * k / max(1, hits - 1),
                    human,
                    swing=False,
                )
        else:
            name = "clap" if genre in FOUR_ON_FLOOR and "clap" in self.style.drums else "snare"
            for step in steps:
                if genre in ("lo-fi", "boom bap", "hip hop") and step % 2 and rng.random() < 0.5:
                    continue
                crescendo = (step - start) / (16 - start)
                self._hit(name, base + step / 4.0, 0.45 + 0.5 * crescendo, human)

    def _build_bar(
        self, bar: int, section: Section, rng: np.random.Generator, human: np.random.Generator
    ) -> None:
        """EDM/dubstep/dnb build: a snare roll that doubles its rate as the drop nears."""
        position = bar - section.start_bar
        rates = (
            [1, 2, 4, 8][-section.bars :]
            if section.bars <= 4
            else ([1] * (section.bars - 4) + [1, 2, 4, 8])
        )
        rate = rates[position]
        for k in range(int(4 * rate)):
            progress = (position + k / (4 * rate)) / section.bars
            beat = bar * 4.0 + k / rate
            if rate == 8 and k >= 28:
                continue  # a breath before the drop
            self._hit("snare", beat, 0.35 + 0.6 * progress, human, swing=False)
        for step in range(0, 16, 2):
            self._hit(
                "hat_closed", bar * 4.0 + step / 4.0, 0.4 + 0.3 * position / section.bars, human
            )

    # --- bass ----------------------------------------------------------------------------

    def _bass(self) -> None:
        style = self.style
        rng = rng_for(self.seed, "bass")
        low, high = style.bass_register
        track = self._track(
            "bass",
            "pitched",
            style.bass_voice,
            "bass",
            brightness=BASS_BRIGHTNESS + 0.4 * self.brightness,
            gain_db=BASS_GAIN_DB.get(style.bass_style, -6.0),
        )
        kicks = self._kick_times()
        walking = (
            walking_bass(self.chords, self.key, rng, low, high)
            if style.bass_style == "walking"
            else None
        )
        previous: float | None = None
        for bar in range(self.bars):
            section = self._section(bar)
            chord = self.chords[bar]
            next_chord = self.chords[(bar + 1) % self.bars]
            root = bass_root(chord, low, low + 11)
            base = bar * 4.0
            if not self._bass_plays(section):
                previous = None
                continue
            if self._is_last_bar(bar):
                track.events.append(NoteEvent(base, 3.5, float(root), 0.9))
                continue
            notes: list[tuple[float, float, int, float, float | None, float | None]] = []
            kind = style.bass_style
            if section.name == "break" or (kind == "wobble" and section.name != "drop"):
                notes.append((0.0, 3.9, root, 0.8, None, None))
            elif kind == "808":
                notes += self._808_bar(bar, root, chord, kicks, rng)
            elif kind == "walking":
                assert walking is not None
                for beat, pitch in enumerate(walking[bar]):
                    notes.append((float(beat), 0.9, pitch, 0.75 + 0.1 * (beat == 0), None, None))
            elif kind == "root_fifth":
                fifth = nearest(chord.fifth, root + 7)
                target = bass_root(next_chord, low, low + 11)
                notes += [
                    (0.0, 1.4, root, 0.95, None, None),
                    (1.5, 0.45, root, 0.7, None, None),
                    (2.0, 1.0, fifth, 0.85, None, None),
                ]
                notes.append((3.5, 0.45, approach_note(target, self.key, rng), 0.75, None, None))
            elif kind == "octave":
                for k in range(4):
                    pitch = root + 12 if (k % 2 and self.spec.genre == "house") else root
                    if self.spec.genre == "edm" and section.name == "drop":
                        notes.append((k + 0.0, 0.45, root, 0.8, None, None))
                    notes.append((k + 0.5, 0.42, pitch, 0.9, None, None))
            elif kind == "pulse":
                if self.spec.genre == "rock":
                    for k in range(8):
                        notes.append((k * 0.5, 0.45, root, 0.9 if k % 2 == 0 else 0.75, None, None))
                else:  # techno rolling 16ths off the kick
                    for k in range(4):
                        for sub in (0.25, 0.5, 0.75):
                            notes.append((k + sub, 0.2, root, 0.7 + 0.2 * (sub == 0.5), None, None))
            elif kind == "reese":
                notes += [
                    (0.0, 2.4, root, 0.9, None, None),
                    (2.5, 1.4, root + (12 if rng.random() < 0.4 else 0), 0.85, None, None),
                ]
            elif kind == "wobble":
                for half in range(2):
                    rate = float((1, 2, 3, 4, 0.5)[int(rng.integers(5))])
                    pitch = root if rng.random() < 0.7 else nearest(chord.fifth, root + 7)
                    notes.append((half * 2.0, 1.95, pitch, 0.95, None, rate))
            else:  # melodic: follow the kick, walk through chord tones, approach the next root
                notes += self._melodic_bass_bar(bar, root, chord, next_chord, kicks, rng)
            for start, length, pitch, velocity, glide, lfo in notes:
                time = self.swung(base + start)
                end = self.swung(base + start + length)
                track.events.append(
                    NoteEvent(
                        time,
                        max(0.05, end - time),
                        float(pitch),
                        velocity,
                        glide,
                        lfo,
                    )
                )
                previous = pitch
        del previous
        if style.bass_style == "reese" or self.spec.genre == "drum and bass":
            self._sub_layer(track)

    def _bass_plays(self, section: Section) -> bool:
        if section.name == "intro":
            return self.spec.genre in ("jazz",)
        return section.name != "build"

    def _kick_times(self) -> dict[int, list[float]]:
        by_bar: dict[int, list[float]] = {}
        for event in self.tracks.get("kick", Track("kick", "drum", "kick", "kick")).events:
            bar = int(event.time // 4)
            by_bar.setdefault(bar, []).append(event.time - bar * 4.0)
        return by_bar

    def _808_bar(
        self,
        bar: int,
        root: int,
        chord: Chord,
        kicks: dict[int, list[float]],
        rng: np.random.Generator,
    ) -> list[tuple]:
        """808s ride the kick; drill slides between notes, trap slides now and then."""
        hits = sorted(kicks.get(bar, [])) or [0.0]
        slide_chance = 0.7 if self.spec.genre == "drill" else 0.3
        notes = []
        previous = root
        for i, start in enumerate(hits):
            end = hits[i + 1] if i + 1 < len(hits) else 4.0
            pitch = root
            if i > 0 and rng.random() < 0.45:
                options = [root + 12, nearest(chord.fifth, root + 7)] + [
                    p for p in (root + 10, root - 2, root + 3) if p % 12 in self.key.scale()
                ]
                pitch = int(options[int(rng.integers(len(options)))])
            glide = (
                float(previous)
                if (i > 0 and pitch != previous and rng.random() < slide_chance)
                else None
            )
            notes.append((start, max(0.2, end - start - 0.05), pitch, 0.95, glide, None))
            previous = pitch
        return notes

    def _melodic_bass_bar(
        self,
        bar: int,
        root: int,
        chord: Chord,
        next_chord: Chord,
        kicks: dict[int, list[float]],
        rng: np.random.Generator,
    ) -> list[tuple]:
        low, _high = self.style.bass_register
        hits = sorted(t for t in kicks.get(bar, []) if t < 3.5) or [0.0, 2.5]
        if hits[0] > 0.01:
            hits.insert(0, 0.0)
        # The root carries the harmony; the fifth, octave and seventh decorate off the beat.
        colour = [root + 12, nearest(chord.fifth, root + 7)]
        colour += [p for p in chord_tones_in(chord, root + 9, root + 11)]  # the seventh
        notes = []
        for i, start in enumerate(hits):
            end = hits[i + 1] if i + 1 < len(hits) else 3.5
            on_beat = abs(start - round(start)) < 0.05
            decorate = not on_beat and i > 0 and rng.random() < 0.6
            pitch = int(colour[int(rng.integers(len(colour)))]) if decorate else root
            notes.append((start, max(0.2, end - start - 0.05), pitch, 0.85, None, None))
        target = bass_root(next_chord, low, low + 11)
        notes.append((3.5, 0.45, approach_note(target, self.key, rng), 0.7, None, None))
        return notes

    def _sub_layer(self, bass: Track) -> None:
        """Drum and bass: a clean sine sub an octave under the reese's roots."""
        sub = self._track("sub", "pitched", "sub", "bass", brightness=0.2, gain_db=-5.0)
        for e in bass.events:
            sub.events.append(
                NoteEvent(
                    e.time, e.duration, e.pitch - 12 if e.pitch >= 40 else e.pitch, e.velocity
                )
            )

    # --- chords --------------------------------------------------------------------------

    def _harmony(self) -> None:
        style = self.style
        rng = rng_for(self.seed, "chords")
        low, high = style.chord_register
        track = self._track(
            "chords",
            "pitched",
            style.chord_voice,
            "chords",
            brightness=self.brightness,
            gain_db=CHORD_GAIN_DB.get(style.chord_voice, -14.0),
            width=0.6,
        )
        voicings = voice_lead(self.chords, low, high, rootless=style.rootless, tonic=self.key.tonic)
        comp_patterns = CHORD_RHYTHMS[style.chord_style]
        pattern = comp_patterns[int(rng.integers(len(comp_patterns)))]
        for bar, notes in enumerate(voicings):
            section = self._section(bar)
            base = bar * 4.0
            hits: list[tuple[float, float, float]]
            if self._is_last_bar(bar) or (
                section.name in ("intro", "break", "build", "outro")
                and (style.chord_style in ("stabs", "pulse", "power", "comp"))
            ):
                hits = [(0.0, 3.9, 0.7)]
            elif style.chord_style == "comp":
                options = CHORD_RHYTHMS["comp"]
                hits = list(options[int(rng.integers(len(options)))])
            else:
                hits = list(pattern)
            if section.name == "verse" and self.spec.genre in ("edm", "dubstep"):
                hits = [(0.0, 3.9, 0.6)]
            for start, length, velocity in hits:
                time = self.swung(base + start)
                end = self.swung(base + start + length)
                for pitch in notes:
                    track.events.append(
                        NoteEvent(
                            time,
                            max(0.05, end - time),
                            float(pitch),
                            velocity * (0.9 if section.energy < 0.7 else 1.0),
                        )
                    )

    # --- melody --------------------------------------------------------------------------

    def _melody(self) -> None:
        style = self.style
        rng = rng_for(self.seed, "melody")
        low, high = style.melody_register
        track = self._track(
            "melody",
            "pitched",
            style.melody_voice,
            "melody",
            brightness=self.brightness,
            gain_db=MELODY_GAIN_DB.get(style.melody_voice, -10.0),
            pan=0.1,
            width=0.2,
        )
        scale = scale_tones_in(self.key, low, high)
        density = style.melody_density * self.density
        motif = self._motif(rng, density)
        answer = self._motif(rng, density)
        for bar in range(self.bars):
            section = self._section(bar)
            if not self._melody_plays(section) or self._is_last_bar(bar):
                continue
            chord = self.chords[bar]
            base = bar * 4.0
            phrase_bar = bar - section.start_bar
            if style.melody_style == "arp" or (self.spec.genre == "techno"):
                events = self._arp_bar(bar, chord, rng)
            else:
                span = 2 if style.melody_style in ("hook", "sparse") else 1
                source = answer if (phrase_bar // span) % 4 == 3 else motif
                offset = (phrase_bar % span) * 4.0
                events = [
                    (t - offset, d, step, v)
                    for t, d, step, v in source
                    if offset <= t < offset + 4.0
                ]
                if section.name == "solo" and rng.random() < 0.5:
                    events = [
                        (t, d, step + int(rng.integers(-2, 3)), v) for t, d, step, v in events
                    ]
                events = self._realise(events, chord, scale)
            for start, length, pitch, velocity in events:
                time = self.swung(base + start)
                end = self.swung(base + min(start + length, 4.0))
                track.events.append(
                    NoteEvent(time, max(0.05, end - time - 0.02), float(pitch), velocity)
                )

    def _melody_plays(self, section: Section) -> bool:
        if section.name in ("hook", "drop", "solo", "head"):
            return True
        if section.name == "verse":
            return self.style.melody_style in ("arp",) or self.spec.genre in ("lo-fi", "r&b")
        return section.name == "break"

    def _motif(
        self, rng: np.random.Generator, density: float
    ) -> list[tuple[float, float, int, float]]:
        """A rhythm (8th grid, some 16ths) and a stepwise contour, two bars long.

        Steps are scale-degree offsets from the motif's home note; `_realise` snaps strong
        beats onto the bar's chord so one motif fits every chord.
        """
        grid = 0.5 if self.style.melody_style in ("sparse", "riff") else 0.25
        slots = np.arange(0.0, 8.0, grid)
        count = int(np.clip(round(density * 2 * (0.8 + 0.4 * rng.random())), 2, len(slots) - 1))
        weights = np.array([3.0 if s % 1 == 0 else 1.6 if s % 0.5 == 0 else 0.8 for s in slots])
        weights[slots >= 7.5] *= 0.3  # leave a breath before the repeat
        chosen = np.sort(rng.choice(slots, size=count, replace=False, p=weights / weights.sum()))
        if chosen[0] != 0.0 and rng.random() < 0.7:
            chosen[0] = 0.0
            chosen = np.unique(chosen)
        # Start on the home note (or its third) and come home at the end of the phrase.
        steps, step = [], (0, 0, 2)[int(rng.integers(3))]
        for _ in chosen:
            steps.append(step)
            step += int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]))
            step = int(np.clip(step, -3, 6))
        if len(steps) > 2:
            steps[-1] = 0
        events = []
        for i, start in enumerate(chosen):
            end = chosen[i + 1] if i + 1 < len(chosen) else 8.0
            length = min(end - start, 2.0 if self.style.melody_style == "sparse" else 1.0)
            velocity = 0.9 if start % 1 == 0 else 0.72
            events.append((float(start), float(length) * 0.92, steps[i], velocity))
        return events

    def _realise(
        self, events: list[tuple[float, float, int, float]], chord: Chord, scale: list[int]
    ) -> list[tuple[float, float, int, float]]:
        home = nearest(chord.pitch_classes[0], (scale[0] + scale[-1]) / 2)
        home_index = min(range(len(scale)), key=lambda i: abs(scale[i] - home))
        low, high = self.style.melody_register
        tones = chord_tones_in(chord, low, high)
        result = []
        for start, length, step, velocity in events:
            index = int(np.clip(home_index + step, 0, len(scale) - 1))
            pitch = scale[index]
            if start % 1 == 0 and tones:
                pitch = min(tones, key=lambda p: (abs(p - pitch), p))
            result.append((start, length, pitch, velocity))
        return result

    def _arp_bar(self, bar: int, chord: Chord, rng: np.random.Generator) -> list[tuple]:
        low, _high = self.style.melody_register
        if self.spec.genre == "techno":
            # Hypnotic: the same one-bar figure on the tonic, whatever the chord does.
            tonic = self.key.pitch(4) if self.key.pitch(4) >= low else self.key.pitch(5)
            figure = self._techno_figure(tonic)
            return figure
        tones = chord_tones_in(chord, low, low + 16)[:4] or [self.key.pitch(5)]
        order = [0, 1, 2, 3, 2, 1] if bar % 2 else [0, 2, 1, 3]
        events = []
        for k in range(16):
            if k % 4 == 3 and self.density < 1.0:
                continue
            pitch = tones[order[k % len(order)] % len(tones)]
            events.append((k / 4.0, 0.22, pitch, 0.8 if k % 4 == 0 else 0.6))
        return events

    def _techno_figure(self, tonic: int) -> list[tuple]:
        if not hasattr(self, "_figure"):
            rng = rng_for(self.seed, "techno-figure")
            scale = [
                tonic + i
                for i in (0, 3 if self.key.is_minor else 4, 7, 10 if self.key.is_minor else 11, 12)
            ]
            steps = sorted(rng.choice(np.arange(16), size=7, replace=False).tolist())
            if 0 not in steps:
                steps[0] = 0
            self._figure = [
                (s / 4.0, 0.2, scale[0] if s == 0 else int(rng.choice([*scale[:3], tonic])), 0.75)
                for s in steps
            ]
        return self._figure

    # --- fx ------------------------------------------------------------------------------

    def _fx(self) -> None:
        total = self.bars * 4.0
        if self.style.vinyl:
            vinyl = self._track("vinyl", "fx", "vinyl", "fx", gain_db=-26.0)
            vinyl.events.append(NoteEvent(0.0, total, 0.0, 0.8))
        for section in self.sections:
            rises_into = section.name == "build" or (
                section.end_bar < self.bars
                and self._section(section.end_bar).name in ("hook", "drop")
                and self.spec.genre in ("pop", "house", "techno", "trap", "dubstep", "edm")
            )
            if not rises_into:
                continue
            length = section.bars * 4.0 if section.name == "build" else min(4.0, section.bars * 4.0)
            riser = self._track("riser", "fx", "riser", "fx", gain_db=-16.0, width=0.8)
            riser.events.append(NoteEvent(section.end_bar * 4.0 - length, length, 0.0, 0.8))


# Drill hats on a triplet-8th grid (12 per bar): "r" = a 16th-triplet burst.
TRIPLET_HATS = (
    "x.xx.xx.xx.r",
    "x.x.xxx.xx.x",
    "xx.x.xxr.x.x",
)
DRUM_GAIN_DB: dict[str, float] = {
    "kick": -1.0,
    "snare": -5.0,
    "clap": -6.0,
    "rim": -12.0,
    "hat_closed": -14.0,
    "hat_open": -16.0,
    "ride": -15.0,
    "crash": -17.0,
    "shaker": -18.0,
    "conga": -13.0,
    "tom": -8.0,
    "cowbell": -16.0,
}
DRUM_PAN: dict[str, float] = {
    "hat_closed": 0.25,
    "hat_open": -0.2,
    "ride": 0.3,
    "crash": -0.3,
    "rim": 0.2,
    "shaker": 0.45,
    "conga": -0.35,
    "tom": -0.15,
    "cowbell": 0.3,
}
# Basses stay darker than the mood's brightness: upper partials of a low note (its 5th
# harmonic is a major third) would blur the key.
BASS_BRIGHTNESS = 0.1
BASS_GAIN_DB: dict[str, float] = {"808": -3.0, "reese": -8.0, "wobble": -6.0, "walking": -5.0}
CHORD_GAIN_DB: dict[str, float] = {"guitar": -16.0, "supersaw": -18.0, "organ": -17.0, "pad": -17.0}
MELODY_GAIN_DB: dict[str, float] = {"lead": -12.0, "bell": -11.0, "strings": -13.0}
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
