"""The `beatbot` command. Each sub-command lives in its own module and is registered here."""

from __future__ import annotations

import click

from adapters.cli.common import BeatBotGroup
from adapters.cli.info import doctor, genres
from bot import __version__


@click.group(cls=BeatBotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="beatbot")
def main() -> None:
    """BeatBot makes beats from a sentence: `beatbot make "dark trap beat at 140" -o beat.mp3`."""


main.add_command(genres)
main.add_command(doctor)
