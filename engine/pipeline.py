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
from engine.compose import Arrangement, BeatSpec, compose
from engine.errors import EngineInputError
from engine.loudness import Loudness, sample_peak
from engine.master import CEILING_RANGE, MasterResult, master_to
from engine.midi import write_midi
from engine.mix import MixResult, bus_process, mix_stems
from engine.render import STAGE_NAMES, render
from engine.waveform import waveform_png

Progress = Callable[[str, float], None]
PREMASTER_PEAK_DBFS = -3.0
# MP3 encoding lifts a master's true peak (measured over the genres: by 0.28 dB typically, 0.66
# dB at the 90th percentile). A master headed for MP3 aims this much lower, so one encode
# usually lands under the ceiling; write_audio still checks the file and re-limits if not.
LOSSY_HEADROOM_DB = 0.5
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
    result = mix_stems(stems, sr, profile, bpm=bpm, high_passed=True)
    peak = sample_peak(result.mix)
    if peak > 0:
        scale = np.float32(10.0 ** (PREMASTER_PEAK_DBFS / 20.0) / peak)
        for audio in (*result.stems.values(), result.mix):
            audio *= scale  # in place: the processed stems are this mix's own arrays
    return result


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
    """A beat's stems, made again from its request and seed by the stages that made its
    master: the drums as one stem and every other part as is, adding up to its pre-master
    mix. Returns name -> WAV path."""
    _progress(on_progress, "Composing")
    arrangement = compose_stage(spec, seed)
    stems = render_stage(arrangement, sr, on_progress=on_progress)
    _progress(on_progress, "Mixing")
    mixed = mix_stage(stems, sr, profile, bpm=arrangement.bpm)
    _progress(on_progress, "Encoding")
    return write_stems(mixed, sr, Path(folder), bit_depth=bit_depth, drum_parts=False)


def render_midi(spec: BeatSpec, seed: int, path: str | Path) -> Path:
    """A beat's MIDI, composed again from its request and seed (no audio is rendered)."""
    return write_midi(compose_stage(spec, seed), path)


def _progress(on_progress: Progress | None, stage: str) -> None:
    if on_progress is not None:
        on_progress(stage, STAGE_START[stage])


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
    progress("Composing")
    arrangement = compose_stage(spec, seed)
    stems = render_stage(arrangement, sr, on_progress=on_progress)
    progress("Mixing")
    mixed = mix_stage(stems, sr, profile, bpm=arrangement.bpm)
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
    )
