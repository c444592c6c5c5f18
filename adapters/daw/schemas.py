"""Request and response models of the DAW API: they validate bodies and write the documents.

Job request bodies (beat, stems, mix, master) are `bot.requests`' models; these are the
rest, so /api/openapi.json and /api/asyncapi.json describe every response and frame from the
code that produces it (`adapters.daw.wire` shapes them; the tests validate real ones).
Names are camelCase and timestamps ISO 8601 UTC strings, everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, WithJsonSchema

from bot.messages import Action

Timestamp = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": 'ISO 8601 UTC with milliseconds, e.g. "2025-10-16T12:00:00.000Z"',
        }
    ),
]
JobType = Literal["generate-beat", "generate-stems", "mix-tracks", "master-track"]
JobStateName = Literal["waiting", "active", "completed", "failed"]


def actions_json(actions: Iterable[Action]) -> list[dict[str, str]]:
    """Buttons as the widget (or any DAW front end) gets them, on /api/chat and /ws alike."""
    return [
        {"label": a.label, "command": a.command, "generationId": a.generation_id} for a in actions
    ]


class _Open(BaseModel):
    """A response object: documented fields, and room for fields added later."""

    model_config = ConfigDict(extra="allow")


class ChatRequest(BaseModel):
    """A message typed in the widget (or any DAW front end)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    text: str = Field(
        min_length=1,
        max_length=4000,
        pattern=r"\S",
        description='e.g. "make a dark trap beat"',
    )
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


class ActionButton(BaseModel):
    label: str = Field(description='"Faster"')
    command: str = Field(description="Send this back as a chat message (with generationId).")
    generationId: str


# --- results -------------------------------------------------------------------------------


class ResultFile(_Open):
    kind: Literal["audio", "preview", "stem", "midi", "image"]
    title: str = Field(description='"Beat (MP3)", "Drums stem", "MIDI", "Waveform"')
    url: str = Field(description="Signed, expiring link (GET /files/...; Range works).")
    size: int = Field(ge=0, description="Bytes.")
    name: str | None = Field(
        default=None, description='Download name, e.g. "trap_140_Cm_42_drums.wav".'
    )
    take: int | None = Field(default=None, description="Several takes: which take it is of.")


class AudioMetadata(_Open):
    format: Literal["wav", "flac", "mp3"] = Field(description="Of the file at audioUrl.")
    bitrate: int | None = Field(description="kbit/s for MP3, null for lossless.")
    sampleRate: int
    channels: int


class Loudness(_Open):
    lufs: float
    lra: float
    truePeak: float


class JobResult(_Open):
    """What a finished job made. Beats have genre/bpm/key/mood/seed; masters before/after;
    mixes roles/gainsDb; stems method/note."""

    kind: Literal["beat", "stems", "mix", "master"]
    format: Literal["wav", "flac", "mp3"] = Field(description="Of the main file (stems: WAV).")
    duration: float = Field(ge=0, description="Seconds; a beat is whole bars.")
    audioUrl: str = Field(description="The main file (the beat, mix or master).")
    previewUrl: str = Field(description="An MP3 to stream (the main file when it is one).")
    downloadName: str | None = Field(default=None, description="The main file's download name.")
    summary: str = Field(description="One sentence describing it.")
    metadata: AudioMetadata
    files: list[ResultFile]
    lufs: float | None = None
    truePeak: float | None = None
    genre: str | None = None
    bpm: float | None = None
    key: str | None = None
    mood: str | None = None
    seed: int | None = None
    stems: list[str] | None = None
    method: str | None = None
    note: str | None = None
    roles: list[str] | None = None
    gainsDb: list[float] | None = None
    quality: str | None = None
    targetLufs: float | None = None
    before: Loudness | None = None
    after: Loudness | None = None
    originalUrl: str | None = Field(
        default=None, description="A master's source, to compare A/B against audioUrl."
    )
    exclude: list[str] | None = Field(default=None, description="A beat's parts left out.")
    include: list[str] | None = Field(default=None, description="Instruments it was asked for.")
    edits: list[dict[str, Any]] | None = Field(
        default=None, description='Its extends and redone sections: {"extend": 8}, ...'
    )
    leftOut: list[str] | None = Field(
        default=None, description="Parts left out that the beat would have played."
    )
    sections: list[list[Any]] | None = Field(
        default=None, description='Its sections in order, as [name, bars]: [["intro", 4], ...]'
    )
    newEdit: bool | None = Field(
        default=None, description="This render made the last of its edits (the card says so)."
    )


class TakeOutcome(_Open):
    """One take of several: its own job (status, result, cancel, stems and MIDI work on it
    as on any beat) and what became of it."""

    take: int = Field(ge=1, description="1, 2, ...: what its pick button says.")
    jobId: str
    generationId: str
    seed: int
    state: Literal["completed", "failed"]
    result: JobResult | None = Field(default=None, description="When it was made.")
    error: str | None = Field(default=None, description="Why it failed, one sentence.")


class TakesResult(_Open):
    """Several takes of one request ("give me 3 versions"), posted together: each take's
    result or failure, and the made takes' audio and waveforms (`take` on each file)."""

    kind: Literal["takes"]
    summary: str = Field(description="Lists the takes and says which failed, and why.")
    genre: str | None = None
    bpm: float | None = None
    key: str | None = None
    mood: str | None = None
    duration: float | None = Field(default=None, ge=0)
    takes: list[TakeOutcome]
    files: list[ResultFile]


class TakeQueued(BaseModel):
    take: int = Field(ge=1)
    jobId: str = Field(description="The take's own job: status, result and cancel work on it.")
    generationId: str
    seed: int


# --- jobs ----------------------------------------------------------------------------------


class JobQueued(BaseModel):
    success: Literal[True] = True
    message: str
    jobId: str
    generationId: str


class BeatQueued(JobQueued):
    """The beat as it will be made: what was asked, with the defaults filled in."""

    genre: str
    bpm: float
    key: str
    mood: str
    seed: int
    duration: float = Field(description="Seconds the beat will last: whole 4/4 bars.")
    bars: int = Field(ge=1)
    quality: str
    mixProfile: str
    format: str
    targetLoudness: float
    notes: list[str] = Field(
        description="Things worth knowing, e.g. a tempo unusual for the genre."
    )
    takes: list[TakeQueued] | None = Field(
        default=None,
        description='Only when "takes" asked for 2 to 4: one job per take (seed is the first '
        "take's, each take's own is listed); jobId/generationId then name the group, whose "
        'generation:progress and one generation:completed (result kind "takes") come on /ws, '
        "and whose status, result and cancel work like a job's.",
    )
    exclude: list[str] = Field(default_factory=list, description="Parts left out.")
    include: list[str] = Field(default_factory=list, description="Instruments asked for.")
    edits: list[dict[str, Any]] = Field(
        default_factory=list,
        description='Extends and redone sections, in order: {"extend": 8}, {"redo": "hook", '
        '"part": "all", "take": 1}.',
    )


class JobStatus(_Open):
    jobId: str
    generationId: str
    type: JobType
    state: JobStateName
    progress: int = Field(ge=0, le=100)
    stage: str
    data: dict[str, Any] = Field(description="The request, camelCase, with defaults filled in.")
    result: JobResult | TakesResult | None = Field(
        description='A take group\'s result has kind "takes" (see takes below).'
    )
    createdAt: Timestamp
    startedAt: Timestamp | None = None
    finishedAt: Timestamp | None = None
    failedReason: str | None = None
    cancelRequested: bool = False
    takes: list[JobStatus] | None = Field(
        default=None,
        description="Only for the jobId of several takes: each take's own status. The group "
        "is active until every take is settled, then completed when at least one was made; "
        "its progress is the takes' mean.",
    )


class StatusResponse(BaseModel):
    success: Literal[True] = True
    status: JobStatus


class ResultResponse(BaseModel):
    success: Literal[True] = True
    jobId: str
    generationId: str
    completedAt: Timestamp
    result: JobResult | TakesResult


class JobsResponse(BaseModel):
    success: Literal[True] = True
    jobs: list[JobStatus] = Field(description="Your waiting and running jobs, oldest first.")


class Cancelled(BaseModel):
    success: Literal[True] = True
    message: str
    status: JobStatus
    takes: list[JobStatus] | None = Field(
        default=None, description="A group's jobId: every take it cancelled (status: the first)."
    )


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


# --- chat and history ----------------------------------------------------------------------


class ChatFile(_Open):
    title: str
    kind: str
    url: str
    size: int
    name: str | None = None


class ChatReply(_Open):
    type: Literal["text", "error", "accepted", "progress", "result", "failed"]
    text: str | None = Field(default=None, description="Plain text.")
    html: str | None = Field(
        default=None, description="The same reply as safe, server-escaped HTML, when present."
    )
    jobId: str | None = None
    generationId: str | None = None
    percent: int | None = None
    stage: str | None = None
    files: list[ChatFile] | None = None
    actions: list[ActionButton] | None = None
    takeJobs: list[str] | None = Field(
        default=None,
        description="accepted, several takes: each take's own jobId (jobId names the group).",
    )


class ChatResponse(BaseModel):
    success: Literal[True] = True
    replies: list[ChatReply]


class HistoryEntry(_Open):
    generationId: str
    jobId: str
    type: JobType
    params: dict[str, Any] = Field(description="The request, camelCase.")
    seed: int | None = None
    summary: str | None = None
    duration: float | None = None
    audioUrl: str | None = Field(description="A fresh signed link; null once the files are gone.")
    downloadName: str | None = None
    expired: bool = Field(description="The files were removed (retention); make it again.")
    createdAt: Timestamp


class HistoryResponse(BaseModel):
    success: Literal[True] = True
    history: list[HistoryEntry]


class ChatAdapterHealth(BaseModel):
    """A configured chat adapter: `ok` false with a one-sentence fix when it was stopped."""

    ok: bool
    state: Literal["starting", "ready", "failed"]
    error: str
    since: str | None  # ISO 8601 UTC; null before it first reported


class Health(BaseModel):
    ok: bool
    redis: Literal["ok", "unreachable"]
    queue: QueueStats | None = None
    discord: ChatAdapterHealth | None = None
    slack: ChatAdapterHealth | None = None


# --- WebSocket frames the server adds (the stream's own events are in bot.events) ------------


class StreamGap(BaseModel):
    """`stream:gap`: events after `since` were trimmed from the capped stream, so some may
    be missing; the replay continues from `firstId`, the oldest event still kept."""

    since: str
    firstId: str
    message: str
    timestamp: Timestamp


class StreamError(BaseModel):
    """`stream:error`: the connection can't be served as asked (e.g. `since` is newer than
    the newest event); the server closes it with code 1008 right after this frame."""

    error: str
    newestId: str
    timestamp: Timestamp
