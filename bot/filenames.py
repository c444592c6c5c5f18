"""The name a downloaded file gets: `trap_140_Cm_1234567.mp3`, not `beat.mp3`.

Every surface that hands out a file (the DAW server's /files links and Content-Disposition,
the widget's `download` attribute, a chat upload) names it here, so a producer's downloads
folder sorts and reads the same whichever way the beat arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

# Files of a generation whose name says nothing beyond the generation itself.
_PLAIN = {"beat", "mix", "master"}


def _slug(text: str) -> str:
    """'drum and bass' -> 'drum-and-bass', 'r&b' -> 'rnb': safe in any file system."""
    text = str(text).strip().lower().replace("&", "n")
    return re.sub(r"[^a-z0-9#.-]+", "-", text).strip("-.") or "beat"


def generation_stem(summary: Mapping[str, Any], generation_id: str) -> str:
    """The shared start of every file name of one generation.

    A beat is named by what a producer would look for (genre, tempo, key, seed); a stems, mix
    or master job by its kind, its preset and a short id, since it has no musical name.
    """
    kind = str(summary.get("kind") or "clip")
    if kind == "beat" and summary.get("genre") and summary.get("bpm"):
        bpm = float(summary["bpm"])
        parts = [_slug(summary["genre"]), f"{bpm:g}", str(summary.get("key") or "")]
        if summary.get("seed") is not None:
            parts.append(str(summary["seed"]))
        return "_".join(p for p in parts if p)
    parts = [kind]
    if kind == "master" and summary.get("quality"):
        parts.append(_slug(summary["quality"]))
    parts.append(generation_id[:8])
    return "_".join(parts)


def download_name(summary: Mapping[str, Any], file_name: str, generation_id: str) -> str:
    """The download name of `file_name` (its path inside the generation's folder, e.g.
    "beat.mp3", "stems/drums.wav", "preview.mp3") -> "trap_140_Cm_42.mp3",
    "trap_140_Cm_42_drums.wav", "trap_140_Cm_42_preview.mp3"."""
    path = PurePosixPath(file_name)
    stem = generation_stem(summary, generation_id)
    extra = path.stem.lower()
    if extra not in _PLAIN:
        stem = f"{stem}_{_slug(extra)}"
    return f"{stem}{path.suffix.lower()}"
