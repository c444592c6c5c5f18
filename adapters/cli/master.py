"""`beatbot master IN -o OUT`: master your own track to a loudness preset or a reference."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.cli.audio_args import check_output, read_options
from adapters.cli.common import with_settings
from bot.config import Settings
from engine.audio_io import WRITE_FORMATS, decode, write_audio
from engine.errors import EngineInputError
from engine.master import PRESETS, ab_preview, master_to, master_to_reference, preset_lufs
from engine.waveform import waveform_png


@click.command("master")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path),
    help="Mastered file: .wav, .flac or .mp3.",
)  # fmt: skip
@click.option(
    "--quality", type=click.Choice(sorted(PRESETS), case_sensitive=False), default=None,
    help="Loudness preset: streaming -14, cd -9, club -8 LUFS.",
)  # fmt: skip
@click.option("--lufs", type=float, default=None, help="Custom integrated loudness target.")
@click.option(
    "--reference", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Match this track's loudness and tonal balance.",
)  # fmt: skip
@click.option(
    "--amount", type=float, default=1.0, show_default=True,
    help="How far to move toward the reference (0..1).",
)  # fmt: skip
@click.option(
    "--preview", type=click.Path(path_type=Path), default=None,
    help="Also write a loudness-matched before/after clip for A/B listening.",
)  # fmt: skip
@click.option(
    "--waveform", type=click.Path(path_type=Path), default=None,
    help="Also draw the master's waveform as a PNG.",
)  # fmt: skip
@with_settings
def master(
    source: Path,
    output: Path,
    quality: str | None,
    lufs: float | None,
    reference: Path | None,
    amount: float,
    preview: Path | None,
    waveform: Path | None,
    settings: Settings,
) -> None:
    """Master IN to a loudness target (or a reference) with a true-peak ceiling."""
    if quality is not None and lufs is not None:
        raise EngineInputError("Give either --quality or --lufs, not both.")
    if not 0.0 <= amount <= 1.0:
        raise EngineInputError(f"--amount must be between 0 and 1, not {amount:g}.")
    if amount != 1.0 and reference is None:
        raise EngineInputError("--amount only applies with --reference.")
    check_output(output, "output", WRITE_FORMATS)
    if preview is not None:
        check_output(preview, "preview", WRITE_FORMATS)
    if waveform is not None:
        check_output(waveform, "waveform", ("png",))

    engine = settings.engine
    sr = engine.sample_rate
    ceiling = engine.true_peak_ceiling
    read = read_options(settings)
    audio = decode(source, **read)
    target = lufs if lufs is not None else None
    if quality is not None:
        target = preset_lufs(quality)
    if reference is not None:
        ref = decode(reference, **read)
        result = master_to_reference(audio, sr, ref, amount=amount, ceiling=ceiling, lufs=target)
    else:
        if target is None:
            target = preset_lufs(engine.default_quality)
        result = master_to(audio, sr, target, ceiling=ceiling)

    written = [write_audio(output, result.audio, sr, bit_depth=engine.bit_depth, ceiling=ceiling)]
    if preview is not None:
        clip = ab_preview(audio, result.audio, sr)
        written.append(write_audio(preview, clip, sr, bit_depth=engine.bit_depth, ceiling=ceiling))
    if waveform is not None:
        written.append(waveform_png(result.audio, sr, waveform))

    click.echo(f"before: {result.before.summary()}")
    click.echo(f"after:  {result.after.summary()}")
    for path in written:
        click.echo(f"wrote {path}")
