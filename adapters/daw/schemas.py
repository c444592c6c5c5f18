"""Request and response models of the DAW API: they validate bodies and write the OpenAPI.

Job request bodies (beat, stems, mix, master) are `bot.requests`' models; these are the
rest, so /api/openapi.json describes every response from the same code that produces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bot.messages import Action


def actions_json(actions: Iterable[Action]) -> list[dict[str, str]]:
    """Buttons as the widget (or any DAW front end) gets them, on /api/chat and /ws alike."""
    return [
        {"label": a.label, "command": a.command, "generationId": a.generation_id} for a in actions
    ]


def public_files(files: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A result's files without their server paths: clients get titles, sizes and links."""
    return [{k: v for k, v in f.items() if k != "path"} for f in files]


class ChatRequest(BaseModel):
    """A message typed in the widget (or any DAW front end)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=4000, description='e.g. "make a dark trap beat"')
    thread: str = Field(
        default="widget",
        max_length=64,
        pattern=r"^[\w.:-]*$",
        description="Conversation id: follow-ups act on this thread's last clip.",
    )
    generation_id: str | None = Field(
        default=None,
        max_length=64,
        validation_alias=AliasChoices("generation_id", "generationId"),
        description="A button press names the clip it belongs to.",
    )
    file_ids: list[str] = Field(
        default_factory=list,
        max_length=16,
        validation_alias=AliasChoices("file_ids", "fileIds"),
        description="Uploads (from POST /api/files) this message is about.",
    )


class Failure(BaseModel):
    success: Literal[False] = False
    error: str = Field(description="One sentence a person can act on.")


class JobQueued(BaseModel):
    success: Literal[True] = True
    message: str
    jobId: str
    generationId: str


class JobStatus(BaseModel):
    jobId: str
    generationId: str
    type: Literal["generate-beat", "generate-stems", "mix-tracks", "master-track"]
    state: Literal["waiting", "active", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    stage: str
    data: dict[str, Any]
    result: dict[str, Any] | None
    createdAt: int
    finishedAt: int | None = None
    failedReason: str | None = None


class StatusResponse(BaseModel):
    success: Literal[True] = True
    status: JobStatus


class JobResult(BaseModel):
    jobId: str
    generationId: str
    result: dict[str, Any] = Field(
        description="audioUrl, duration, genre, bpm, key, metadata, files (signed links) ..."
    )
    completedAt: int


class ResultResponse(BaseModel):
    success: Literal[True] = True
    result: JobResult


class QueueStats(BaseModel):
    waiting: int
    active: int
    completed: int
    failed: int
    total: int


class StatsResponse(BaseModel):
    success: Literal[True] = True
    stats: QueueStats


class GenreInfo(BaseModel):
    name: str
    aliases: list[str]
    bpmRange: list[int]
    defaultBpm: int
    characteristics: str
    moodOptions: list[str]


class GenresResponse(BaseModel):
    success: Literal[True] = True
    genres: list[GenreInfo]


class Uploaded(BaseModel):
    success: Literal[True] = True
    fileId: str
    name: str
    size: int
    duration: float


class ChatReply(BaseModel):
    type: Literal["text", "error", "accepted", "progress", "result", "failed"]
    text: str | None = None
    jobId: str | None = None
    generationId: str | None = None
    files: list[dict[str, Any]] | None = None
    actions: list[dict[str, Any]] | None = None


class ChatResponse(BaseModel):
    success: Literal[True] = True
    replies: list[ChatReply]


class HistoryResponse(BaseModel):
    success: Literal[True] = True
    history: list[dict[str, Any]]
