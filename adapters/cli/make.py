"""`beatbot make "PROMPT" -o FILE`: render a beat on this machine, no Redis needed.

The prompt is read by the same parser the chat uses; flags override what it says; the
request is validated (genre defaults fill the gaps) and rendered synchronously.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.cli.audio_args import check_output, check_output_folder
from adapters.cli.common import with_settings
from bot.config import Settings
from bot.errors import InvalidRequest

FORMATS = ("wav", "flac", "mp3")
PROFILES = ("balanced", "bass-heavy", "bright", "warm")
QUALITIES = ("streaming", "cd", "club")


@click.command()
@click.argument("prompt", required=False, default="")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the beat: .wav, .flac or .mp3.",
)
@click.option("--seed", type=int, default=None, help="Same prompt + seed = the same beat.")
@click.option(
    "--stems",
    "stems_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the mixed stems (WAV) into this folder.",
)
@click.option(
    "--midi",
    "midi_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the notes as a MIDI file.",
)
@click.option(
    "--loop",
    "loop_bars",
    type=int,
    default=None,
    help="Also write a seamless loop this many bars long (FILE-loopN.ext).",
)
@click.option(
    "--takes",
    type=int,
    default=1,
    show_default=True,
    help="Render this many takes with consecutive seeds.",
)
@click.option(
    "--quality",
    type=click.Choice(QUALITIES),
    default=None,
    help="Loudness preset: streaming -14, cd -9, club -8 LUFS.",
)
@click.option("--lufs", type=float, default=None, help="A custom loudness target in LUFS.")
@click.option("--profile", type=click.Choice(PROFILES), default=None, help="Mix profile.")
@click.option("--genre", default=None, help="Genre (overrides the prompt).")
@click.option("--bpm", type=float, default=None, help="Tempo (overrides the prompt).")
@click.option("--key", default=None, help='Key such as "C", "F#m", "Bb" (overrides the prompt).')
@click.option("--mood", default=None, help="Mood (overrides the prompt).")
@click.option("--duration", type=float, default=None, help="Length in seconds.")
@click.option(
    "--waveform",
    "waveform_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also draw the waveform as a PNG.",
)
@click.option(
    "--exclude",
    default=None,
    help="Parts to leave out, comma separated: drums, kick, snare, hats, perc, bass, chords, "
    "melody, fx.",
)
@click.option(
    "--include",
    default=None,
    help="Instruments to use, comma separated (e.g. piano,strings; what the genre can take).",
)
@with_settings
def make(
    prompt: str,
    output: Path,
    seed: int | None,
    stems_dir: Path | None,
    midi_path: Path | None,
    loop_bars: int | None,
    takes: int,
    quality: str | None,
    lufs: float | None,
    profile: str | None,
    genre: str | None,
    bpm: float | None,
    key: str | None,
    mood: str | None,
    duration: float | None,
    waveform_path: Path | None,
    exclude: str | None,
    include: str | None,
    settings: Settings,
) -> None:
    """Make a beat from a sentence, e.g. beatbot make "dark trap beat at 140" -o beat.mp3"""
    # Every output is checked before anything is imported or rendered.
    check_output(output, "output")
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidRequest(
            f"I can write .wav, .flac or .mp3, not {output.name!r}; change the -o file name."
        )
    if stems_dir is not None:
        check_output_folder(stems_dir, "stems folder")
    if midi_path is not None:
        check_output(midi_path, "MIDI file")
    if waveform_path is not None:
        check_output(waveform_path, "waveform picture", ("png",))

    # Imported here so `beatbot --help` doesn't pay for numpy/scipy.
    from bot.allocator import keep_freed_memory
    from bot.intents import parse
    from bot.requests import beat_request
    from engine.ffmpeg import require_ffmpeg
    from engine.pipeline import make_beat

    if fmt == "mp3":
        require_ffmpeg()  # say so now, not after rendering the whole beat
    if not 1 <= takes <= 20:
        raise InvalidRequest("--takes must be between 1 and 20.")
    if loop_bars is not None and loop_bars < 1:
        raise InvalidRequest("--loop needs a whole number of bars, 1 or more.")
    if quality is not None and lufs is not None:
        raise InvalidRequest("Give either --quality or --lufs, not both.")

    params: dict[str, Any] = dict(parse(prompt).params) if prompt.strip() else {}
    overrides = {
        "genre": genre,
        "bpm": bpm,
        "key": key,
        "mood": mood,
        "duration": duration,
        "quality": quality,
        "target_lufs": lufs,
        "mix_profile": profile,
    }
    for name, value in overrides.items():
        if value is not None:
            params[name] = value
    if quality is not None:
        params.pop("target_lufs", None)
    if lufs is not None:
        params.pop("quality", None)
    params["format"] = fmt
    request = beat_request(params, settings)
    first_seed = seed if seed is not None else request.seed
    spec = _with_parts(request.to_spec(), exclude, include)

    keep_freed_memory()  # as the worker's render processes do
    console = Console(stderr=True)
    out = Console()
    for take in range(takes):
        take_seed = first_seed + take
        suffix = f"-take{take + 1}" if takes > 1 else ""
        target = output.with_name(f"{output.stem}{suffix}{output.suffix}")
        with _progress(console) as report:
            result = make_beat(
                spec,
                take_seed,
                sr=settings.engine.sample_rate,
                profile=request.mix_profile,
                lufs=request.target_lufs,
                ceiling=settings.engine.true_peak_ceiling,
                out_path=target,
                stems_dir=_take_path(stems_dir, suffix, folder=True),
                midi_path=_take_path(midi_path, suffix),
                loop_bars=loop_bars,
                waveform_path=_take_path(waveform_path, suffix),
                bit_depth=settings.engine.bit_depth,
                on_progress=report,
            )
        _summary(out, result, request.notes if take == 0 else [])


def _with_parts(spec: Any, exclude: str | None, include: str | None) -> Any:
    """The spec with the --exclude/--include lists (checked: one sentence if not playable)."""
    from dataclasses import replace

    if exclude is not None:
        spec = replace(spec, exclude=_names(exclude))
    if include is not None:
        spec = replace(spec, include=_names(include))
    return spec.validated()


def _names(text: str) -> tuple[str, ...]:
    """ "hats, Melody" -> ("hats", "melody")."""
    return tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))


def _take_path(path: Path | None, suffix: str, *, folder: bool = False) -> Path | None:
    if path is None or not suffix:
        return path
    if folder:
        return path / suffix.lstrip("-")
    return path.with_name(f"{path.stem}{suffix}{path.suffix}")


class _progress:
    """A rich progress bar on a terminal; plain "stage..." lines anywhere else."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> _progress:
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description:<18}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("Starting", total=1.0)
        return self

    def __call__(self, stage: str, fraction: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=stage, completed=fraction)
        else:
            print(f"{stage}...", file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=1.0)
            self.bar.__exit__(None, None, None)


def _summary(console: Console, result: Any, notes: list[str]) -> None:
    """What was made, one fact per line (a table on a terminal)."""
    rows = [
        ("genre", result.genre),
        ("bpm", f"{result.bpm:g}"),
        ("key", result.key),
        ("mood", result.mood),
        ("seed", str(result.seed)),
        ("duration", f"{result.duration:.2f} s ({result.bars} bars)"),
        ("loudness", f"{result.loudness.lufs:.1f} LUFS"),
        ("true peak", f"{result.loudness.true_peak:.1f} dBTP"),
        ("file", str(result.path)),
    ]
    if result.stems:
        folder = next(iter(result.stems.values())).parent
        rows.append(("stems", f"{folder} ({', '.join(result.stems)})"))
    if result.midi_path:
        rows.append(("midi", str(result.midi_path)))
    if result.loop_path:
        rows.append(("loop", str(result.loop_path)))
    if result.waveform_path:
        rows.append(("waveform", str(result.waveform_path)))
    if result.left_out:
        rows.append(("left out", ", ".join(result.left_out)))
    rows += [("note", note) for note in notes]
    if console.is_terminal:
        table = Table(show_header=False, box=None)
        for name, value in rows:
            table.add_row(f"[bold]{name}[/bold]", value)
        console.print(table)
    else:
        for name, value in rows:
            click.echo(f"{name}: {value}")
