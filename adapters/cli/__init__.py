"""The `beatbot` command. Each sub-command lives in its own module and is registered here."""

from __future__ import annotations

import click

from adapters.cli.chat import chat
from adapters.cli.common import BeatBotGroup
from adapters.cli.info import doctor, genres
from adapters.cli.make import make
from adapters.cli.master import master
from adapters.cli.mixdown import mix
from adapters.cli.parse import parse
from adapters.cli.service import serve, worker
from adapters.cli.stems import stems
from bot import __version__


@click.group(cls=BeatBotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="beatbot")
def main() -> None:
    """BeatBot makes beats from a sentence: `beatbot make "dark trap beat at 140" -o beat.mp3`."""


main.add_command(genres)
main.add_command(doctor)
main.add_command(master)
main.add_command(make)
main.add_command(parse)
main.add_command(chat)
main.add_command(worker)
main.add_command(serve)
main.add_command(stems)
main.add_command(mix)
