"""Find an ffmpeg binary: the one on PATH, else the one the `imageio-ffmpeg` wheel ships."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache

from engine.errors import MissingTool

INSTALL_HINT = (
    "ffmpeg is not installed. Install it with `apt-get install ffmpeg` (Debian/Ubuntu), "
    "`brew install ffmpeg` (macOS) or `pip install imageio-ffmpeg`."
)


@lru_cache(maxsize=1)
def find_ffmpeg() -> str | None:
    """Path of a working ffmpeg, or None. PATH wins so a system build with more codecs is used."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the wheel exists but ships no binary for this platform
        return None
    # IMAGEIO_FFMPEG_EXE is returned unchecked; a stale one must read as "not installed",
    # not as a FileNotFoundError deep inside an encode.
    return exe if exe and os.path.isfile(exe) and os.access(exe, os.X_OK) else None


def require_ffmpeg() -> str:
    """Path of ffmpeg, or `MissingTool` with a sentence saying how to install it."""
    path = find_ffmpeg()
    if path is None:
        raise MissingTool(INSTALL_HINT)
    configure_pydub(path)
    return path


def configure_pydub(path: str) -> None:
    """Point pydub at our ffmpeg so it never warns or guesses."""
    from pydub import AudioSegment

    AudioSegment.converter = path


@lru_cache(maxsize=4)
def ffmpeg_version(path: str) -> str:
    """First line of `ffmpeg -version`, e.g. 'ffmpeg version 5.1.6-0+deb12u1'."""
    out = subprocess.run(
        [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20, check=False
    )
    first = out.stdout.splitlines()[0] if out.stdout else "unknown version"
    return first.split(" Copyright")[0]


@lru_cache(maxsize=4)
def has_mp3_encoder(path: str) -> bool:
    out = subprocess.run(
        [path, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=20, check=False
    )
    return "libmp3lame" in out.stdout
