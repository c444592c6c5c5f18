"""The platform-neutral conversation model: one `Message` in, `Reply` objects out.

Every adapter (terminal, DAW widget, Discord, Slack) turns its platform's input into a
`Message` and renders each `Reply` its own way; none of them knows how BeatBot thinks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.jobs import Origin
from bot.richtext import RichText


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
    # A chat opens the place a job lives in (a thread and its status message) only when a
    # job is really queued, so help or an error never opens a thread; None: `origin` as is.
    place_job: Callable[[], Awaitable[Origin]] | None = None

    @property
    def user(self) -> str:
        return self.origin.user or "anonymous"

    async def job_origin(self) -> Origin:
        """Where this message's job reports its progress and result."""
        return await self.place_job() if self.place_job is not None else self.origin


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
    take: int = 0  # which take of several it belongs to (1, 2, ...); 0: not a take


@dataclass(frozen=True)
class TextReply:
    text: str  # the words alone, no markup: what a surface without formatting shows
    actions: tuple[Action, ...] = ()
    rich: RichText | None = None  # the same words with bold and bullets, when it has them

    @classmethod
    def of(cls, text: RichText | str, actions: tuple[Action, ...] = ()) -> TextReply:
        if isinstance(text, str):
            return cls(text, actions)
        return cls(text.plain(), actions, text)

    @property
    def body(self) -> RichText:
        """What every surface renders in its own syntax."""
        return self.rich if self.rich is not None else RichText.of(self.text)


@dataclass(frozen=True)
class ErrorReply:
    """Something the person can fix, or our apology; always a readable sentence."""

    text: str


@dataclass(frozen=True)
class JobAccepted:
    job_id: str
    generation_id: str
    text: str
    # Several takes: `job_id` names their group (its progress and its one result); these
    # are the takes' own job ids, each a beat job that can be followed or cancelled.
    take_jobs: tuple[str, ...] = ()


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
