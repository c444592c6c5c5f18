"""The platform-neutral conversation model: one `Message` in, `Reply` objects out.

Every adapter (terminal, DAW widget, Discord, Slack) turns its platform's input into a
`Message` and renders each `Reply` its own way; none of them knows how BeatBot thinks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.jobs import Origin


@dataclass(frozen=True)
class Attachment:
    """An upload already saved by the store; `file_id` is usable as audioFileId/trackId."""

    file_id: str
    name: str


@dataclass(frozen=True)
class Message:
    text: str
    origin: Origin
    attachments: tuple[Attachment, ...] = ()
    # A button press names the clip it belongs to; free text acts on the thread's last clip.
    generation_id: str | None = None
    # The person's own defaults (a platform's settings: duration, quality, format); they
    # fill what neither the message nor the thread's last request says.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> str:
        return self.origin.user or "anonymous"


@dataclass(frozen=True)
class Action:
    """A suggested next step, shown as a button: its `command` is sent back as a Message."""

    label: str
    command: str
    generation_id: str


@dataclass(frozen=True)
class OutputFile:
    title: str  # "Beat (MP3)", "Drums stem", "MIDI", "Waveform"
    kind: str  # audio | stem | midi | image | preview
    path: Path
    url: str
    size: int


@dataclass(frozen=True)
class TextReply:
    text: str
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class ErrorReply:
    """Something the person can fix, or our apology; always a readable sentence."""

    text: str


@dataclass(frozen=True)
class JobAccepted:
    job_id: str
    generation_id: str
    text: str


@dataclass(frozen=True)
class ProgressReply:
    job_id: str
    generation_id: str
    percent: int
    stage: str


@dataclass(frozen=True)
class ResultReply:
    job_id: str
    generation_id: str
    text: str
    files: tuple[OutputFile, ...] = ()
    actions: tuple[Action, ...] = ()
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FailedReply:
    job_id: str
    generation_id: str
    text: str


Reply = TextReply | ErrorReply | JobAccepted | ProgressReply | ResultReply | FailedReply
