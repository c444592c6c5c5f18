"""`beatbot stems IN -o DIR`: split a finished mix into drums, bass, melody and vocals."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.cli.audio_args import check_output_folder, read_options
from adapters.cli.common import with_settings
from bot.config import Settings
from engine.audio_io import WRITE_FORMATS, decode, write_audio
from engine.errors import EngineInputError
from engine.loudness import measure
from engine.separate import STEM_TYPES, separate


@click.command("stems")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path),
    help="Folder for the stems (created if missing).",
)  # fmt: skip
@click.option(
    "--types", default=",".join(STEM_TYPES), show_default=True,
    help="Which stems, comma-separated.",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(WRITE_FORMATS), default="wav", show_default=True,
    help="File format of each stem.",
)  # fmt: skip
@with_settings
def stems(source: Path, output: Path, types: str, fmt: str, settings: Settings) -> None:
    """Split IN into stems (plus "rest", so that they all add back up to IN)."""
    wanted = [t.strip().lower() for t in types.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in STEM_TYPES]
    if unknown or not wanted:
        raise EngineInputError(
            f"--types takes {', '.join(STEM_TYPES)}; "
            f"{', '.join(unknown) or 'nothing'} isn't one of them."
        )
    check_output_folder(output, "stems folder")
    sr = settings.engine.sample_rate
    audio = decode(source, **read_options(settings))
    separation = separate(audio, sr, wanted)
    output.mkdir(parents=True, exist_ok=True)
    for name, stem in separation.stems.items():
        # Stems keep their true level: no ceiling, so they still add back up to the input.
        path = write_audio(
            output / f"{name}.{fmt}", stem, sr, bit_depth=settings.engine.bit_depth, ceiling=None
        )
        loud = measure(stem, sr)
        level = f"{loud.lufs:.1f} LUFS" if loud.lufs > -70 else "silent"
        click.echo(f"{name:<7} {level:>12}  {path}")
    click.echo(separation.note)
