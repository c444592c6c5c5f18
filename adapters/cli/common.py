"""What every sub-command shares: `--config`/`--data-dir`, settings, and error reporting."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings
from bot.errors import UserError
from engine.errors import EngineInputError

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes: 2 for anything the person can fix (bad input, bad config), 1 for our bugs.
EXIT_USER_ERROR = 2
EXIT_INTERNAL = 1


class BeatBotGroup(click.Group):
    """Turns errors into one readable line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (UserError, EngineInputError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("BEATBOT_DEBUG"):
                raise
            logging.getLogger("beatbot").debug("internal error", exc_info=True)
            click.echo(
                f"error: BeatBot hit an internal problem ({type(exc).__name__}: {exc}). "
                "Run again with BEATBOT_DEBUG=1 to see the details.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


def with_settings(func: F) -> F:
    """Add `--config PATH` and `--data-dir DIR` and hand the command a loaded `settings`."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where clips, uploads and the embedded Redis live (overrides storage.data_dir).",
    )
    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A TOML file whose values override the packaged config.toml.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: Path | None, data_dir: Path | None, **kwargs: Any) -> Any:
        settings = load_settings(config_path, data_dir)
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data dir, or explain in one sentence why it can't be used."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"The data dir {path} can't be created ({exc.strerror}). "
            "Pick another with --data-dir or BEATBOT_STORAGE__DATA_DIR."
        ) from None
    if not os.access(path, os.W_OK):
        raise UserError(
            f"The data dir {path} is not writable. "
            "Pick another with --data-dir or BEATBOT_STORAGE__DATA_DIR."
        )
    return path
