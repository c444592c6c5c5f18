"""What the commands that read and write audio files share: output checks and input limits.

Every output is checked before any decoding or rendering, so a typo in `-o` costs a second,
not a whole render: one sentence (exit 2) for a wrong ending, a folder given as a file, a
file given as a folder, a missing folder, or a folder that won't take a new file
(permissions, a read-only disk, a full disk, /proc). Whether a folder takes a file is asked
of the disk itself (a probe file, removed at once): permission bits alone don't tell for
root, nor for read-only mounts.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import Any

from bot.config import Settings
from engine.errors import EngineInputError


def check_output(path: Path, what: str, formats: tuple[str, ...] | None = None) -> None:
    """Fail now if the file `path` can't be written. `formats`: the endings it may have."""
    if path.is_dir():
        example = path / f"beat.{formats[0]}" if formats else path / "name"
        raise EngineInputError(
            f"The {what} {path} is a folder; give a file name, such as {example}."
        )
    if formats is not None and path.suffix.lower().lstrip(".") not in formats:
        names = ", ".join(f".{f}" for f in formats)
        raise EngineInputError(f"The {what} {path.name} needs one of these endings: {names}.")
    _check_folder(path.parent, what, path, create=False)


def check_output_folder(path: Path, what: str) -> None:
    """Fail now if files can't be written into the folder `path` (made if it is missing)."""
    if path.exists() and not path.is_dir():
        raise EngineInputError(f"The {what} {path} is a file; give a folder.")
    _check_folder(path, what, path, create=True)


def _check_folder(folder: Path, what: str, target: Path, *, create: bool) -> None:
    """`folder` exists (or, with `create`, can be made) and takes a new file."""
    folder = folder.absolute()
    probe_in = folder
    for level in reversed((folder, *folder.parents)):  # from the root down
        if level.is_dir():
            continue
        if level.exists() or level.is_symlink():
            raise EngineInputError(
                f"Can't write the {what} {target}: {level} is a file, not a folder."
            )
        if not create:
            raise EngineInputError(f"The folder {folder} for the {what} does not exist.")
        probe_in = level.parent  # the first missing folder is made in here
        break
    _probe(probe_in, what, target)


def _probe(folder: Path, what: str, target: Path) -> None:
    probe = folder / f".beatbot-probe-{uuid.uuid4().hex[:12]}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise EngineInputError(f"Can't write the {what} {target}: {_why(exc, folder)}.") from None
    probe.unlink()


def _why(exc: OSError, folder: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {folder}"
    if exc.errno == errno.EROFS:
        return f"{folder} is on a read-only file system"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk holding {folder} is full"
    reason = (exc.strerror or type(exc).__name__).lower()
    return f"{folder} doesn't take new files ({reason})"


def read_options(settings: Settings) -> dict[str, Any]:
    """`engine.audio_io.decode` keywords: the engine rate and the configured upload limits."""
    return {
        "sr": settings.engine.sample_rate,
        "max_bytes": int(settings.limits.max_upload_mb * 1_000_000),
        "max_seconds": settings.limits.max_upload_seconds,
    }
