"""Replies as Discord messages: markdown content, embed, attachments within the upload limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.utils import escape_markdown

from adapters.chat_common import neutralise_mentions
from adapters.chat_common import status_text as plain_status
from bot.messages import (
    ErrorReply,
    FailedReply,
    JobAccepted,
    OutputFile,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.richtext import Markup, RichText, render

# Discord's own limit when a channel's guild is unknown (no boost: 10 MiB).
DEFAULT_UPLOAD_LIMIT = 10 * 2**20
MAX_CONTENT = 2000
MAX_FILES = 10
THREAD_NAME_MAX = 90
# What a finished beat carries as files; stems and MIDI come from the buttons.
BEAT_KINDS = ("audio", "image")
OTHER_KINDS = ("audio", "stem", "midi", "image")

# Discord's markdown; `<url>` in a link keeps Discord from unfurling it under the message.
MARKDOWN = Markup(
    escape=escape_markdown,
    bold="**{}**",
    italic="*{}*",
    code="`{}`",
    link="[{text}](<{url}>)",
)


def markdown(text: RichText | str) -> str:
    """Rich text (or a plain sentence, escaped) as Discord markdown."""
    return render(RichText.of(text) if isinstance(text, str) else text, MARKDOWN)


def safe(text: str, limit: int = MAX_CONTENT) -> str:
    """Echo-safe text that fits one Discord message."""
    text = neutralise_mentions(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply_text(reply: Reply) -> str:
    """A reply's words as markdown (results add their files and embed separately)."""
    if isinstance(reply, TextReply):
        return markdown(reply.body)
    if isinstance(reply, ErrorReply):
        return f"⚠️ {markdown(reply.text)}"
    if isinstance(reply, FailedReply):
        return f"✗ {markdown(reply.text)}"
    if isinstance(reply, JobAccepted):
        return status_text(reply.text, 0, "Queued")
    if isinstance(reply, ProgressReply):
        return status_text(None, reply.percent, reply.stage)
    return markdown(reply.text)


def chunks(text: str, size: int = 1900) -> Iterator[str]:
    """Long help texts split on line ends into messages Discord accepts."""
    block = ""
    for line in neutralise_mentions(text).splitlines(keepends=True):
        if len(block) + len(line) > size and block:
            yield block
            block = ""
        block += line[:size]
    if block.strip():
        yield block


def thread_name(prompt: str) -> str:
    """A thread title from the request: "dark trap beat at 140" (mentions removed)."""
    words = neutralise_mentions(" ".join(w for w in prompt.split() if not w.startswith("<")))
    name = words or "BeatBot"
    return name if len(name) <= THREAD_NAME_MAX else name[: THREAD_NAME_MAX - 1] + "…"


def status_text(header: str | None, percent: int, stage: str) -> str:
    return safe(markdown(plain_status(header, percent, stage)))


@dataclass
class ResultMessage:
    content: str
    embed: discord.Embed | None
    files: list[OutputFile] = field(default_factory=list)

    def discord_files(self) -> list[discord.File]:
        return [discord.File(f.path, filename=upload_name(f)) for f in self.files]


def upload_name(file: OutputFile) -> str:
    """The attachment's name: several takes' files are all beat.mp3, so each is named after
    its take ("take2-beat.mp3")."""
    return f"take{file.take}-{file.path.name}" if file.take else file.path.name


def result_message(reply: ResultReply, upload_limit: int) -> ResultMessage:
    """The finished clip: summary, details embed, files that fit, signed links for the rest.

    Audio over the upload limit is linked; its MP3 preview (when there is one) is attached
    instead, so Discord still plays the clip inline.
    """
    kinds = BEAT_KINDS if reply.actions else OTHER_KINDS
    wanted = [f for f in reply.files if f.kind in kinds]
    attached = _fitting(wanted, upload_limit)
    too_big = [f for f in wanted if f.kind == "audio" and f not in attached]
    preview = next((f for f in reply.files if f.kind == "preview"), None)
    if too_big and preview is not None:
        attached = _fitting([*attached, preview], upload_limit)
    linked = [f for f in wanted if f not in attached and f.kind != "image"]
    lines = [markdown(reply.text)] + [f"{markdown(f.title)}: <{f.url}>" for f in linked]
    embed = details_embed(reply.details)
    image = next((f for f in attached if f.kind == "image"), None)
    if embed is not None and image is not None:
        embed.set_image(url=f"attachment://{upload_name(image)}")
    return ResultMessage(safe("\n".join(lines)), embed, attached)


def _fitting(files: list[OutputFile], limit: int) -> list[OutputFile]:
    """Smallest first so the waveform always fits; the total stays within one upload."""
    chosen: list[OutputFile] = []
    total = 0
    for file in sorted(files, key=lambda f: f.size):
        if len(chosen) < MAX_FILES and total + file.size <= limit and file.path.exists():
            chosen.append(file)
            total += file.size
    return [f for f in files if f in chosen]  # keep the reply's own order


_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("genre", "Genre", "{}"),
    ("bpm", "BPM", "{:g}"),
    ("key", "Key", "{}"),
    ("mood", "Mood", "{}"),
    ("seed", "Seed", "{}"),
    ("lufs", "Loudness", "{:.1f} LUFS"),
    ("duration", "Duration", "{:.1f} s"),
)


def details_embed(details: dict[str, Any]) -> discord.Embed | None:
    fields = [(label, _format(fmt, details[key])) for key, label, fmt in _FIELDS if key in details]
    fields = [(label, value) for label, value in fields if value]
    if not fields:
        return None
    embed = discord.Embed(title=_title(details), colour=discord.Colour.purple())
    for label, value in fields:
        embed.add_field(name=label, value=safe(value, 1024), inline=True)
    return embed


def _title(details: dict[str, Any]) -> str:
    kind = str(details.get("kind") or "beat")
    titles = {
        "beat": "Your beat",
        "takes": "Your takes",
        "master": "Mastered",
        "mix": "Mixdown",
        "stems": "Stems",
    }
    return titles.get(kind, "Done")


def _format(fmt: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)
