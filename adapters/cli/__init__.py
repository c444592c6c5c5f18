"""The `beatbot` command. Each sub-command lives in its own module and is registered here.

Sub-commands are imported when they are run, not when `beatbot` starts: `beatbot parse`
needs the language module, not the audio engine, and starts in a fraction of the time.
"""

from __future__ import annotations

import importlib

import click

from adapters.cli.common import BeatBotGroup
from bot import __version__

# name -> "module:function" of each sub-command
COMMANDS: dict[str, str] = {
    "genres": "adapters.cli.info:genres",
    "doctor": "adapters.cli.info:doctor",
    "master": "adapters.cli.master:master",
    "make": "adapters.cli.make:make",
    "parse": "adapters.cli.parse:parse",
    "chat": "adapters.cli.chat:chat",
    "worker": "adapters.cli.service:worker",
    "serve": "adapters.cli.service:serve",
    "stems": "adapters.cli.stems:stems",
    "mix": "adapters.cli.mixdown:mix",
}


class LazyGroup(BeatBotGroup):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="beatbot")
def main() -> None:
    """BeatBot makes beats from a sentence: `beatbot make "dark trap beat at 140" -o beat.mp3`."""
