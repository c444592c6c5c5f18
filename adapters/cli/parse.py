"""`beatbot parse [TEXT]`: what BeatBot understands from a message, as JSON.

With TEXT: one JSON line. Without: one JSON line per stdin line, in order, empty lines
included, written as each line arrives (so another program can talk to it line by line).
"""

from __future__ import annotations

import os
import sys

import click

from adapters.cli.common import with_settings
from bot.config import Settings
from bot.intents import parse_json


@click.command("parse")
@click.argument("text", nargs=-1)
@with_settings
def parse(text: tuple[str, ...], settings: Settings) -> None:
    """Print the intent of TEXT (or of each stdin line) as {"intent", "params", "adjust"},
    plus "suggestion" (a genre offered for a style BeatBot doesn't make) and "surprise"
    ("surprise me") when the message has them."""
    out = sys.stdout
    try:
        if text:
            out.write(parse_json(" ".join(text)) + "\n")
            out.flush()
            return
        # Bytes in, so a stray invalid UTF-8 byte is one odd character, never a crash; only
        # "\n" ends a line (a lone "\r" or U+2028 inside a message is part of it).
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
            out.write(parse_json(line) + "\n")
            out.flush()  # the caller may be waiting for this answer before sending more
    except BrokenPipeError:
        # The reader went away (`beatbot parse < big.txt | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
