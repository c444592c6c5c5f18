"""What the commands that read and write audio files share: output checks and input limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from engine.errors import EngineInputError


def check_output(path: Path, what: str, formats: tuple[str, ...]) -> None:
    """Fail before any decoding if an output can't be written."""
    if path.suffix.lower().lstrip(".") not in formats:
        names = ", ".join(f".{f}" for f in formats)
        raise EngineInputError(f"The {what} {path.name} needs one of these endings: {names}.")
    if not path.parent.exists():
        raise EngineInputError(f"The folder {path.parent} for the {what} does not exist.")


def read_options(settings: Settings) -> dict[str, Any]:
    """`engine.audio_io.decode` keywords: the engine rate and the configured upload limits."""
    return {
        "sr": settings.engine.sample_rate,
        "max_bytes": int(settings.limits.max_upload_mb * 1_000_000),
        "max_seconds": settings.limits.max_upload_seconds,
    }
