"""`beatbot mix IN1 IN2 ... -o OUT`: auto-mix several tracks with a profile."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.cli.audio_args import check_output, read_options
from adapters.cli.common import with_settings
from bot.config import Settings
from engine.audio_io import WRITE_FORMATS, decode, write_audio
from engine.errors import EngineInputError
from engine.loudness import measure
from engine.mix import PROFILES, auto_mix


@click.command("mix")
@click.argument(
    "sources", metavar="IN1 IN2 ...", nargs=-1, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path),
    help="The mix: .wav, .flac or .mp3.",
)  # fmt: skip
@click.option(
    "--profile", type=click.Choice(PROFILES), default=None,
    help="Mix colour (default: engine.default_profile).",
)  # fmt: skip
@with_settings
def mix(sources: tuple[Path, ...], output: Path, profile: str | None, settings: Settings) -> None:
    """Mix two or more tracks: align, level by loudness, EQ/compress by role, glue."""
    if len(sources) < 2:
        raise EngineInputError("Give at least two tracks to mix, e.g. beatbot mix a.wav b.wav.")
    check_output(output, "output", WRITE_FORMATS)
    sr = settings.engine.sample_rate
    options = read_options(settings)
    tracks = [decode(path, **options) for path in sources]
    chosen = profile or settings.engine.default_profile
    ceiling = settings.engine.true_peak_ceiling
    result = auto_mix(tracks, sr, chosen, names=[p.name for p in sources], ceiling=ceiling)
    path = write_audio(output, result.mix, sr, bit_depth=settings.engine.bit_depth, ceiling=ceiling)
    for source, role, gain in zip(sources, result.roles, result.gains_db, strict=True):
        click.echo(f"{source.name}: {role}, {gain:+.1f} dB")
    loud = measure(result.mix, sr)
    click.echo(f"mix ({chosen}): {loud.summary()}")
    click.echo(f"wrote {path}")
