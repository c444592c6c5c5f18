"""File paths typed into the terminal chat become attachments, as a file dropped on the widget.

"master ~/song.wav for club", "stems of ./beat.mp3", "mix 'My Drums.wav' bass.wav": each path
that names an existing audio file is uploaded through the clip store (the same store the
widget's uploads go through) and sent with the message; the path itself is taken out of the
text, so "~/trap_140.wav" never reads as a trap beat at 140. A path that looks like a file but
isn't there is an error sentence naming it, never a silent fall-back to the last beat.

A token counts as a path when it starts like one (`~`, `/x/`, `./`, `../`), ends in an audio
file extension, or names a file that exists. Quotes ('…', "…", “…”) and backslash-escaped
spaces (`My\\ Song.wav`, as a terminal pastes a dragged file) keep a path with spaces whole.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import UserError
from bot.messages import Attachment
from bot.store import ClipStore
from engine.audio_io import probe
from engine.errors import EngineInputError

AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".mp3", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus"}
    | {".m4a", ".aac", ".wma", ".mp4", ".webm"}
)
# A quoted span: "…", “…”, or '…' that isn't an apostrophe ("it's", "rock 'n' roll" stay text).
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|(?<![\w])'([^']+)'(?![\w])")
# An unquoted token: anything up to whitespace, where a backslash keeps the next character.
_TOKEN = re.compile(r"(?:\\.|\S)+")
_TRAILING = ",;:!?)]}”’\"'"


class PathProblem(UserError):
    """A path in the message that can't be sent: missing, a folder, unreadable, not audio."""


@dataclass(frozen=True)
class PathMention:
    typed: str  # as the person wrote it, for messages
    path: Path  # expanded and absolute
    span: tuple[int, int]  # where it sits in the text


def find_paths(text: str, cwd: Path | None = None) -> list[PathMention]:
    """The file paths a message names, in order. Raises PathProblem for a path-shaped token
    that doesn't exist (so "master ~/song.wav" never masters something else)."""
    base = cwd or Path.cwd()
    found: list[PathMention] = []
    taken: list[tuple[int, int]] = []
    for match in _QUOTED.finditer(text):
        typed = next(group for group in match.groups() if group is not None).strip()
        mention = _mention(typed, match.span(), base)
        if mention is not None:
            found.append(mention)
            taken.append(match.span())
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if any(a < end and start < b for a, b in taken):
            continue
        lead, stripped = _strip_punctuation(match.group())
        typed = re.sub(r"\\(.)", r"\1", stripped)
        mention = _mention(typed, (start + lead, start + lead + len(stripped)), base)
        if mention is not None:
            found.append(mention)
    return sorted(found, key=lambda m: m.span)


def without_paths(text: str, mentions: list[PathMention]) -> str:
    """The message with the paths taken out, so the parser reads only the request."""
    for mention in sorted(mentions, key=lambda m: m.span, reverse=True):
        start, end = mention.span
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


async def upload_paths(mentions: list[PathMention], store: ClipStore) -> tuple[Attachment, ...]:
    """Check each file is audio we can read, then store it as an upload."""
    attachments = []
    for mention in mentions:
        path = mention.path
        if path.is_dir():
            raise PathProblem(f"{mention.typed} is a folder; name an audio file in it.")
        try:
            await asyncio.to_thread(probe, path)
        except PermissionError as exc:
            raise PathProblem(f"I can't read {mention.typed} ({exc.strerror.lower()}).") from None
        except EngineInputError as exc:
            raise PathProblem(f"{mention.typed}: {exc}") from None
        with path.open("rb") as source:
            upload = await store.save_upload(source, path.name, size_hint=path.stat().st_size)
        attachments.append(Attachment(upload.file_id, path.name))
    return tuple(attachments)


def _mention(typed: str, span: tuple[int, int], base: Path) -> PathMention | None:
    if not typed or "\n" in typed:
        return None
    path = (base / Path(typed).expanduser()).absolute()
    shaped = _path_shaped(typed)
    if _exists(path):
        # A bare word that happens to name something here ("house") stays a word.
        return PathMention(typed, path, span) if shaped or "/" in typed else None
    if shaped:
        raise PathProblem(f"I can't find {typed}. Check the path (quote it if it has spaces).")
    return None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the disk is no file of ours
        return False


def _path_shaped(typed: str) -> bool:
    """Written as a path or a file name: `~/x`, `./x`, `../x`, `/a/b`, or `name.wav`.
    "/help" (one segment, no extension) reads as a command, not a path."""
    if typed.startswith(("~/", "./", "../")):
        return True
    if typed.startswith("/") and typed.strip("/").count("/") >= 1:
        return True
    return Path(typed).suffix.lower() in AUDIO_SUFFIXES and len(Path(typed).stem) > 0


def _strip_punctuation(token: str) -> tuple[int, str]:
    """ "(./beat.mp3," -> (1, "./beat.mp3"): the offset of what's left, and what's left. A
    sentence's full stop after a file name goes too."""
    core = token.lstrip("([{")
    lead = len(token) - len(core)
    core = core.rstrip(_TRAILING)
    if core.endswith(".") and not core.endswith(("..", "/.")) and len(core) > 1:
        core = core[:-1]
    return lead, core
