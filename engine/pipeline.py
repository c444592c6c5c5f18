"""The whole beat, stage by stage: compose -> render -> mix -> master -> export.

The queue runs the stage functions one at a time in a process pool (so it can publish
progress between them); `make_beat` runs them all for `beatbot make` and the worker. A chat
job writes only what it posts (the master and its waveform); `render_stems` and
`render_midi` make the rest on demand from the same request and seed, through the same
stages, so they belong to the master that was posted.

Levels: the mixed stems are scaled together so the pre-master mix peaks at
PREMASTER_PEAK_DBFS. That keeps exported stems clear of clipping and keeps the property
that matters: the exported stems add up (at unity gain) to the pre-master mix, and the
master is that mix through the profile's bus processing and the loudness/true-peak stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.audio_io import write_audio
from engine.compose import BEATS_PER_BAR, Arrangement, BeatSpec, compose
from engine.compose.edits import Change, arrange, arrangement_of
from engine.errors import EngineInputError
from engine.loudness import Loudness, sample_peak
from engine.master import CEILING_RANGE, MasterResult, master_to
from engine.midi import write_midi
from engine.mix import MixResult, bus_process, mix_stems
from engine.render import END_FADE_SECONDS, STAGE_NAMES, render, render_leveled
from engine.waveform import waveform_png

Progress = Callable[[str, float], None]
PREMASTER_PEAK_DBFS = -3.0
# MP3 encoding lifts a master's true peak (measured over the genres: by 0.28 dB typically, 0.66
# dB at the 90th percentile). A master headed for MP3 aims this much lower, so one encode
# usually lands under the ceiling; write_audio still checks the file and re-limits if not.
LOSSY_HEADROOM_DB = 0.5
# A redone section hands back to the beat as it was over this long before its end.
REDO_CROSSFADE_SECONDS = 0.005
DRUM_PARTS = ("kick", "snare", "hats", "perc")
# Where each stage starts on the progress bar (0..1).
STAGE_START: dict[str, float] = {
    "Composing": 0.0,
    "Rendering drums": 0.05,
    "Rendering bass": 0.2,
    "Rendering chords": 0.3,
    "Rendering melody": 0.4,
    "Rendering effects": 0.45,
    "Mixing": 0.5,
    "Mastering": 0.7,
    "Encoding": 0.85,
}


@dataclass
class BeatResult:
    """What `make_beat` made: the files, how the master measures, and what it is."""

    path: Path
    loudness: Loudness
    duration: float
    bpm: float
    key: str
    genre: str
    mood: str
    seed: int
    bars: int
    stems: dict[str, Path] = field(default_factory=dict)
    midi_path: Path | None = None
    loop_path: Path | None = None
    waveform_path: Path | None = None
    sections: list[tuple[str, int]] = field(default_factory=list)  # (name, bars) in order
    left_out: tuple[str, ...] = ()  # excluded parts this beat would have played

    def files(self) -> list[Path]:
        extra = [self.midi_path, self.loop_path, self.waveform_path]
        return [self.path, *self.stems.values(), *(p for p in extra if p is not None)]


# --- stages ------------------------------------------------------------------------------


def compose_stage(spec: BeatSpec, seed: int) -> Arrangement:
    return compose(spec, seed)


def render_stage(
    arrangement: Arrangement,
    sr: int,
    *,
    wrap: bool = False,
    on_progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    def group(name: str) -> None:
        if on_progress is not None:
            stage = STAGE_NAMES[name]
            on_progress(stage, STAGE_START[stage])

    return render(arrangement, sr=sr, wrap=wrap, on_group=group)


def mix_stage(
    stems: dict[str, np.ndarray], sr: int, profile: str, bpm: float | None = None
) -> MixResult:
    """The profile's per-stem mix of rendered stems (which arrive high-passed: render
    filters each cached sound); stems and mix scaled together to leave headroom."""
    return _mix_leveled(stems, sr, profile, bpm)[0]


def _mix_leveled(
    stems: dict[str, np.ndarray],
    sr: int,
    profile: str,
    bpm: float | None,
    levels: Levels | None = None,
) -> tuple[MixResult, float]:
    """`mix_stage`, at the levels of a beat this one edits when `levels` is given; returns
    the mix and the scale it got."""
    references = levels.references if levels is not None else None
    result = mix_stems(stems, sr, profile, bpm=bpm, high_passed=True, references=references)
    scale = levels.scale if levels is not None else 1.0
    if levels is None:
        peak = sample_peak(result.mix)
        scale = float(np.float32(10.0 ** (PREMASTER_PEAK_DBFS / 20.0) / peak)) if peak > 0 else 1.0
    if scale != 1.0:
        for audio in (*result.stems.values(), result.mix):
            audio *= np.float32(scale)  # in place: the processed stems are this mix's own
    return result, scale


# --- edits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """A version's whole-beat level decisions. `render.balance` sets each stem's gain over
    the whole beat, the mix compressors follow each stem's whole-beat level, and the mix is
    scaled to its peak over the whole beat: measured again on an edited beat, all three
    would move the bars the edit keeps. So an edit renders and mixes at these."""

    gains: dict[str, float]  # balance gain per stem (linear)
    references: dict[str, float | None]  # each stem compressor's followed level
    scale: float  # the pre-master scale
    tape_seconds: float  # what the tape's wow cycles over: the first version's length


@dataclass
class Version:
    """One version of a beat before mastering: its notes and its mixed stems."""

    arrangement: Arrangement
    mixed: MixResult


def premaster_version(
    spec: BeatSpec,
    seed: int,
    sr: int,
    profile: str,
    on_progress: Progress | None = None,
) -> Version:
    """The beat's notes and pre-master mix with every edit of the spec applied. Without
    edits: compose, render, mix, once. With them: each edit renders the beat it makes at
    the levels of the version before and keeps that version's samples outside what the edit
    wrote (`splice_audio`): kept bars are sample-identical, whatever the processors do."""
    _progress(on_progress, "Composing")
    if not spec.edits:
        arrangement = compose_stage(spec, seed)
        stems = render_stage(arrangement, sr, on_progress=on_progress)
        _progress(on_progress, "Mixing")
        return Version(arrangement, mix_stage(stems, sr, profile, bpm=arrangement.bpm))
    versions = arrange(spec, seed)
    arrangement = versions[0][0]
    stems, gains = render_leveled(arrangement, sr=sr, on_group=_group_progress(on_progress))
    _progress(on_progress, "Mixing")
    mixed, scale = _mix_leveled(stems, sr, profile, arrangement.bpm)
    levels = Levels(gains, dict(mixed.references), scale, arrangement.duration)
    for arrangement, change in versions[1:]:
        assert change is not None
        stems, gains = render_leveled(
            arrangement, sr=sr, gains=levels.gains, tape_seconds=levels.tape_seconds
        )
        fresh, _ = _mix_leveled(stems, sr, profile, arrangement.bpm, levels)
        mixed = splice_audio(mixed, fresh, change, arrangement.beat_seconds, sr)
        references = {**fresh.references, **{k: v for k, v in levels.references.items() if v}}
        levels = Levels(gains, references, levels.scale, levels.tape_seconds)
    return Version(arrangement, mixed)


def premaster(
    spec: BeatSpec, seed: int, *, sr: int = 44100, profile: str = "balanced"
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The beat's processed stems and its pre-master mix (their sum), edits applied: what
    the master is made from, and what an edit keeps sample for sample."""
    version = premaster_version(spec, seed, sr, profile)
    return version.mixed.stems, version.mixed.mix


def splice_audio(
    previous: MixResult, fresh: MixResult, change: Change, beat_seconds: float, sr: int
) -> MixResult:
    """The edited beat's pre-master stems and mix: `fresh` where the edit wrote, `previous`
    everywhere else. An extend takes over at its first new bar (or where the old end's fade
    began, when the old beat ended without an outro); a redone section hands back to the
    previous version over REDO_CROSSFADE_SECONDS before its end, so its ringing tails stop
    there and every later sample is the previous version's."""
    frames = len(fresh.mix)
    weight = np.zeros(frames, dtype=np.float32)  # 1 = fresh, 0 = previous

    def frame(bar: int) -> int:
        return round(bar * BEATS_PER_BAR * beat_seconds * sr)

    if change.kind == "extend":
        start = frame(change.spans[0][0])
        if change.spans[0][0] >= change.previous_bars:
            start = len(previous.mix) - min(len(previous.mix), int(END_FADE_SECONDS * sr))
        weight[start:] = 1.0
    else:
        for first, end in change.spans:
            a, b = frame(first), min(frames, frame(end))
            fade = min((b - a) // 2, round(REDO_CROSSFADE_SECONDS * sr))
            weight[a : b - fade] = 1.0
            weight[b - fade : b] = np.linspace(1.0, 0.0, fade, endpoint=False, dtype=np.float32)
    stems = {
        name: _blend(previous.stems[name], audio, weight) for name, audio in fresh.stems.items()
    }
    return MixResult(stems, _blend(previous.mix, fresh.mix, weight), dict(fresh.references))


def _blend(previous: np.ndarray, fresh: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """fresh * weight + previous * (1 - weight), exactly `previous` where weight is 0 and
    exactly `fresh` where it is 1 (`previous` may be shorter: an extend's)."""
    out = fresh.copy()
    n = len(previous)
    keep = weight[:n] == 0.0
    out[:n][keep] = previous[keep]
    partial = np.flatnonzero((weight[:n] > 0.0) & (weight[:n] < 1.0))
    if len(partial):
        w = weight[partial, None]
        out[partial] = fresh[partial] * w + previous[partial] * (np.float32(1.0) - w)
    return out


def master_stage(
    mix_audio: np.ndarray, sr: int, lufs: float, ceiling: float, profile: str | None = None
) -> MasterResult:
    """Bus glue for the profile (when given), then loudness to `lufs` under `ceiling` dBTP."""
    audio = bus_process(mix_audio, sr, profile) if profile else mix_audio
    return master_to(audio, sr, lufs, ceiling=ceiling)


def export_stage(
    master: MasterResult,
    sr: int,
    out_path: Path,
    *,
    ceiling: float,
    bit_depth: int = 24,
    mix: MixResult | None = None,
    stems_dir: Path | None = None,
    arrangement: Arrangement | None = None,
    midi_path: Path | None = None,
    waveform_path: Path | None = None,
) -> dict[str, object]:
    """Write the master, stems (+ "drums"), MIDI and waveform; returns what was written."""
    written: dict[str, object] = {
        "path": write_audio(out_path, master.audio, sr, bit_depth=bit_depth, ceiling=ceiling)
    }
    if stems_dir is not None and mix is not None:
        written["stems"] = write_stems(mix, sr, stems_dir, bit_depth=bit_depth)
    if midi_path is not None and arrangement is not None:
        written["midi_path"] = write_midi(arrangement, midi_path)
    if waveform_path is not None:
        written["waveform_path"] = waveform_png(master.audio, sr, waveform_path)
    return written


def write_stems(
    mix: MixResult, sr: int, folder: Path, *, bit_depth: int = 24, drum_parts: bool = True
) -> dict[str, Path]:
    """Each non-silent processed stem, plus "drums" (kick+snare+hats+perc), as WAV files.
    Without `drum_parts`, the drums only as that one stem: then the files add up to the
    pre-master mix exactly once."""
    folder.mkdir(parents=True, exist_ok=True)
    stems = dict(mix.stems)
    drums = [stems[name] for name in DRUM_PARTS if name in stems]
    if drums:
        stems["drums"] = _sum(drums, drums[0].shape)
        if not drum_parts:
            for name in DRUM_PARTS:
                stems.pop(name, None)
    paths = {}
    for name, audio in stems.items():
        if not np.any(audio):
            continue
        paths[name] = write_audio(
            folder / f"{name}.wav", audio, sr, bit_depth=bit_depth, ceiling=None
        )
    return paths


def _sum(parts: object, shape: tuple[int, ...]) -> np.ndarray:
    total = np.zeros(shape, dtype=np.float32)
    for audio in parts:  # type: ignore[attr-defined]
        total += audio
    return total


# --- loops -------------------------------------------------------------------------------


def render_loop(
    arrangement: Arrangement, bars: int, sr: int, profile: str, lufs: float, ceiling: float
) -> np.ndarray:
    """A seamless, bar-aligned loop of `bars` bars from the beat's strongest section.

    The excerpt renders with tails wrapped onto its start, then plays three times through
    the mix and master and the middle pass is kept: every processor (reverb, compressors,
    the limiter's look-ahead) is in its steady state at both ends, so the end flows into
    the start exactly as it does inside the repeat — no click at the wrap.
    """
    if not 1 <= bars <= arrangement.bars:
        raise EngineInputError(
            f"A {bars}-bar loop doesn't fit a {arrangement.bars}-bar beat; "
            f"pick 1 to {arrangement.bars} bars."
        )
    excerpt = arrangement.excerpt(arrangement.loop_start_bar(bars), bars)
    stems = render(excerpt, sr=sr, wrap=True)
    tiled = {name: np.tile(audio, (3, 1)) for name, audio in stems.items()}
    mixed = mix_stage(tiled, sr, profile, bpm=arrangement.bpm)
    mastered = master_stage(mixed.mix, sr, lufs, ceiling, profile)
    frames = len(next(iter(stems.values())))
    return np.ascontiguousarray(mastered.audio[frames : 2 * frames])


def master_ceiling(ceiling: float, path: Path) -> float:
    """The ceiling to master to for a file at `path` whose true peak must stay <= `ceiling`."""
    if path.suffix.lower() != ".mp3":
        return ceiling
    return max(CEILING_RANGE[0], ceiling - LOSSY_HEADROOM_DB)


def loop_path_for(out_path: Path, bars: int) -> Path:
    return out_path.with_name(f"{out_path.stem}-loop{bars}{out_path.suffix}")


# --- on demand ---------------------------------------------------------------------------


def render_stems(
    spec: BeatSpec,
    seed: int,
    folder: str | Path,
    *,
    sr: int = 44100,
    profile: str = "balanced",
    bit_depth: int = 24,
    on_progress: Progress | None = None,
) -> dict[str, Path]:
    """A beat's stems, made again from its request and seed (edits and all) by the stages
    that made its master: the drums as one stem and every other part as is, adding up to
    its pre-master mix. Returns name -> WAV path."""
    version = premaster_version(spec, seed, sr, profile, on_progress)
    _progress(on_progress, "Encoding")
    return write_stems(version.mixed, sr, Path(folder), bit_depth=bit_depth, drum_parts=False)


def render_midi(spec: BeatSpec, seed: int, path: str | Path) -> Path:
    """A beat's MIDI, composed again from its request and seed, edits applied (no audio)."""
    return write_midi(arrangement_of(spec, seed), path)


def _progress(on_progress: Progress | None, stage: str) -> None:
    if on_progress is not None:
        on_progress(stage, STAGE_START[stage])


def _group_progress(on_progress: Progress | None) -> Callable[[str], None] | None:
    if on_progress is None:
        return None
    return lambda group: _progress(on_progress, STAGE_NAMES[group])


# --- everything --------------------------------------------------------------------------


def make_beat(
    spec: BeatSpec,
    seed: int,
    *,
    sr: int = 44100,
    profile: str = "balanced",
    lufs: float = -14.0,
    ceiling: float = -1.0,
    out_path: str | Path,
    stems_dir: str | Path | None = None,
    midi_path: str | Path | None = None,
    loop_bars: int | None = None,
    loop_path: str | Path | None = None,
    waveform_path: str | Path | None = None,
    bit_depth: int = 24,
    on_progress: Progress | None = None,
) -> BeatResult:
    """Compose, render, mix, master and write one beat; returns what it made. Stems, MIDI,
    a loop and the waveform are written only when their paths are given."""

    def progress(stage: str) -> None:
        _progress(on_progress, stage)

    out = Path(out_path)
    if not out.parent.exists():
        raise EngineInputError(f"The folder {out.parent} does not exist.")
    version = premaster_version(spec, seed, sr, profile, on_progress)
    arrangement, mixed = version.arrangement, version.mixed
    progress("Mastering")
    master = master_stage(mixed.mix, sr, lufs, master_ceiling(ceiling, out), profile)
    loop_audio = loop_target = None
    if loop_bars:
        loop_target = Path(loop_path) if loop_path else loop_path_for(out, int(loop_bars))
        loop_ceiling = master_ceiling(ceiling, loop_target)
        loop_audio = render_loop(arrangement, int(loop_bars), sr, profile, lufs, loop_ceiling)
    progress("Encoding")
    written = export_stage(
        master,
        sr,
        out,
        ceiling=ceiling,
        bit_depth=bit_depth,
        mix=mixed,
        stems_dir=Path(stems_dir) if stems_dir is not None else None,
        arrangement=arrangement,
        midi_path=Path(midi_path) if midi_path is not None else None,
        waveform_path=Path(waveform_path) if waveform_path is not None else None,
    )
    looped = None
    if loop_audio is not None and loop_target is not None:
        looped = write_audio(loop_target, loop_audio, sr, bit_depth=bit_depth, ceiling=ceiling)
    return BeatResult(
        path=written["path"],  # type: ignore[arg-type]
        loudness=master.after,
        duration=len(master.audio) / sr,
        bpm=arrangement.bpm,
        key=arrangement.key.name,
        genre=arrangement.genre,
        mood=arrangement.mood,
        seed=int(seed),
        bars=arrangement.bars,
        stems=written.get("stems", {}),  # type: ignore[arg-type]
        midi_path=written.get("midi_path"),  # type: ignore[arg-type]
        loop_path=looped,
        waveform_path=written.get("waveform_path"),  # type: ignore[arg-type]
        sections=[(section.name, section.bars) for section in arrangement.sections],
        left_out=arrangement.left_out,
    )
