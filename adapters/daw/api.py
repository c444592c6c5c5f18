"""The seed's REST API (/api/generate/...), uploads, chat, history and signed downloads.

Handlers only translate HTTP to the bot's services and back; validation lives in
`bot.requests`, behaviour in `bot.assistant` and `bot.queue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from adapters.daw.http import HTTPProblem, content_disposition, json_body, ok, user_of
from adapters.daw.richtext import reply_html
from adapters.daw.schemas import ChatRequest, actions_json
from adapters.daw.wire import group_status, history_json, job_status, public_files
from bot.assistant import Assistant, queue_beat, queue_job, queue_takes
from bot.conversation import extended, redone
from bot.errors import BadAudio, InvalidRequest, NotFound, UploadTooLarge
from bot.filenames import download_name
from bot.jobs import JobRecord, JobState, JobType, Origin
from bot.messages import Attachment, Message
from bot.requests import (
    BeatRequest,
    ExtendRequest,
    MasterRequest,
    MixRequest,
    RedoRequest,
    StemsRequest,
    beat_request,
    friendly_validation_error,
)
from bot.services import Services
from bot.store import Upload
from bot.takes import MAX_TAKES, TakeGroup
from engine.audio_io import MIN_SECONDS, AudioInfo, probe
from engine.compose import BEATS_PER_BAR
from engine.errors import AudioInputError
from engine.genres import GENRES

SERVICES = web.AppKey("services", Services)
ASSISTANT = web.AppKey("assistant", Assistant)

routes = web.RouteTableDef()
M = TypeVar("M", bound=BaseModel)
# Job ids are hex (bot.jobs.new_ids), so /api/generate/beat is never taken for a job id.
JOB_ID = "{job_id:[0-9a-f]{1,64}}"


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _origin(user: str, thread: str = "", platform: str = "api") -> Origin:
    return Origin(platform=platform, channel=user, thread=thread, user=user)


def _validated(model: type[M], body: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise HTTPProblem(400, friendly_validation_error(exc)) from None


def _queued(record: JobRecord, message: str) -> web.Response:
    return ok(
        {"message": message, "jobId": record.job_id, "generationId": record.generation_id},
        status=202,
    )


# --- generate ----------------------------------------------------------------------------


@routes.post("/api/generate/beat")
async def generate_beat(request: web.Request) -> web.Response:
    svc = _services(request)
    user = user_of(request)
    body = await json_body(request)
    count = _takes(body)
    beat = beat_request(body, svc.settings, name_field=True)
    if count > 1:
        return await _queue_takes(svc, beat, count, user)
    record = await queue_beat(svc, beat, user, _origin(user, beat.project_id or ""))
    return ok(
        {
            "message": "Beat generation job queued",
            "jobId": record.job_id,
            "generationId": record.generation_id,
            **beat_as_made(beat),
        },
        status=202,
    )


def _takes(body: Mapping[str, Any]) -> int:
    """ "takes": how many takes of the beat (1 to 4; absent: 1)."""
    value = body.get("takes", 1)
    whole = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
    if not whole or not 1 <= value <= MAX_TAKES:
        raise HTTPProblem(400, f"takes: ask for a whole number of takes from 1 to {MAX_TAKES}.")
    return int(value)


async def _queue_takes(svc: Services, beat: BeatRequest, count: int, user: str) -> web.Response:
    """Several takes: the group's ids (its progress and one result on /ws) and each take's
    own job, rendered side by side."""
    group, records = await queue_takes(svc, beat, count, user, _origin(user, beat.project_id or ""))
    return ok(
        {
            "message": f"{count} takes queued",
            "jobId": group.group_id,
            "generationId": group.generation_id,
            **beat_as_made(beat),
            "takes": [
                {
                    "take": take.index,
                    "jobId": record.job_id,
                    "generationId": record.generation_id,
                    "seed": take.seed,
                }
                for take, record in zip(group.takes, records, strict=True)
            ],
        },
        status=202,
    )


@routes.post("/api/generate/extend")
async def generate_extend(request: web.Request) -> web.Response:
    """The caller's beat with bars appended (same seed, every bar before kept): a new
    generation, queued and reported like POST /api/generate/beat."""
    asked = _validated(ExtendRequest, await json_body(request))
    source = await _own_beat(request, asked.generation_id)
    params = extended(source.data, bars=asked.bars, seconds=asked.seconds)
    return await _queue_edit(request, params, "Extend job queued")


@routes.post("/api/generate/redo")
async def generate_redo(request: web.Request) -> web.Response:
    """The caller's beat with one section (or one part of it) drawn again, every other
    section kept: a new generation, queued and reported like POST /api/generate/beat."""
    asked = _validated(RedoRequest, await json_body(request))
    source = await _own_beat(request, asked.generation_id)
    sections = [str(name) for name, _bars in (source.result or {}).get("sections") or ()]
    if sections and asked.section not in sections:
        named = ", ".join(dict.fromkeys(sections))
        raise HTTPProblem(422, f"This beat has no {asked.section}; its sections are {named}.")
    params = redone(source.data, section=asked.section, part=asked.part)
    return await _queue_edit(request, params, "Redo job queued")


async def _own_beat(request: web.Request, generation_id: str) -> JobRecord:
    """The caller's beat job that made `generation_id`; anyone else's is a 404 too."""
    source = await _services(request).jobs.job_for_generation(generation_id)
    if source is None or not source.belongs_to(user_of(request)) or source.type is not JobType.BEAT:
        raise NotFound(f"There is no beat with generationId {generation_id!r} for you.")
    return source


async def _queue_edit(request: web.Request, params: dict[str, Any], message: str) -> web.Response:
    """Queue an edited beat (a 422 for a good body this beat can't take, e.g. too long)."""
    svc = _services(request)
    user = user_of(request)
    try:
        beat = beat_request(params, svc.settings, name_field=True)
    except InvalidRequest as exc:
        raise HTTPProblem(422, exc.message) from None
    record = await queue_beat(svc, beat, user, _origin(user, beat.project_id or ""))
    return ok(
        {
            "message": message,
            "jobId": record.job_id,
            "generationId": record.generation_id,
            **beat_as_made(beat),
        },
        status=202,
    )


def beat_as_made(beat: BeatRequest) -> dict[str, Any]:
    """The request with its defaults resolved, and the length the beat will really have:
    the engine renders whole 4/4 bars (and an extend's bars after them)."""
    bars = round(beat.total_seconds * beat.bpm / (60.0 * BEATS_PER_BAR))
    return {
        "genre": beat.genre,
        "bpm": beat.bpm,
        "key": beat.key,
        "mood": beat.mood,
        "seed": beat.seed,
        "duration": round(bars * BEATS_PER_BAR * 60.0 / beat.bpm, 3),
        "bars": bars,
        "quality": beat.quality,
        "mixProfile": beat.mix_profile,
        "format": beat.format,
        "targetLoudness": beat.target_lufs,
        "notes": list(beat.notes),
        "exclude": list(beat.exclude),
        "include": list(beat.include),
        "edits": list(beat.edits),
    }


@routes.post("/api/generate/stems")
async def generate_stems(request: web.Request) -> web.Response:
    stems = _validated(StemsRequest, await json_body(request))
    data = {"audio_file_id": stems.audio_file_id, "stem_types": stems.stem_types}
    uploads = [("audioFileId", stems.audio_file_id)]
    return await _queue_on_uploads(request, JobType.STEMS, data, uploads, stems.project_id)


@routes.post("/api/generate/mix")
async def generate_mix(request: web.Request) -> web.Response:
    mix = _validated(MixRequest, await json_body(request))
    data = {"track_ids": mix.track_ids, "mix_profile": mix.mix_profile}
    uploads = [("trackIds", track_id) for track_id in mix.track_ids]
    return await _queue_on_uploads(request, JobType.MIX, data, uploads, mix.project_id)


@routes.post("/api/generate/master")
async def generate_master(request: web.Request) -> web.Response:
    master = _validated(MasterRequest, await json_body(request))
    data = {
        "track_id": master.track_id,
        "target_lufs": master.target_lufs,
        "quality": master.quality,
    }
    uploads = [("trackId", master.track_id)]
    return await _queue_on_uploads(request, JobType.MASTER, data, uploads, master.project_id)


_QUEUED = {
    JobType.STEMS: "Stem separation job queued",
    JobType.MIX: "Mix job queued",
    JobType.MASTER: "Mastering job queued",
}


async def _queue_on_uploads(
    request: web.Request,
    job_type: JobType,
    data: dict[str, Any],
    uploads: list[tuple[str, str]],
    project_id: str | None,
) -> web.Response:
    """Queue a job on uploaded files once every file is known to exist (else a 404)."""
    svc = _services(request)
    user = user_of(request)
    for field, file_id in uploads:
        _upload_exists(svc, file_id, field)
    record = await queue_job(svc, job_type, data, user, _origin(user, project_id or ""))
    return _queued(record, _QUEUED[job_type])


def _upload_exists(svc: Services, file_id: str, field: str) -> None:
    try:
        svc.store.path_for(file_id)
    except NotFound as exc:
        raise NotFound(f"{field}: {exc.message}") from None
    except ValueError:
        raise HTTPProblem(400, f"{field}: {file_id[:40]!r} is not an uploaded file id.") from None


# --- jobs --------------------------------------------------------------------------------


@routes.get("/api/generate/jobs")
async def jobs_in_flight(request: web.Request) -> web.Response:
    """The caller's waiting and running jobs, oldest first."""
    svc = _services(request)
    records = await svc.jobs.in_flight(svc.queue.queue_name, user_of(request))
    return ok({"jobs": [job_status(svc, record) for record in records]})


@routes.get(f"/api/generate/status/{JOB_ID}")
async def status_of_job(request: web.Request) -> web.Response:
    svc = _services(request)
    group = await _own_takes(request)
    if group is not None:
        return ok({"status": await group_status(svc, group)})
    record = await _own_job(request)
    return ok({"status": job_status(svc, record)})


@routes.get(f"/api/generate/result/{JOB_ID}")
async def result_of_job(request: web.Request) -> web.Response:
    svc = _services(request)
    group = await _own_takes(request)
    if group is not None:
        return _finished(await group_status(svc, group))
    return _finished(job_status(svc, await _own_job(request)))


@routes.delete(f"/api/generate/{JOB_ID}")
@routes.post(f"/api/generate/{JOB_ID}/cancel")
async def cancel_job(request: web.Request) -> web.Response:
    svc = _services(request)
    group = await _own_takes(request)
    if group is not None:
        return await _cancel_takes(svc, group.group_id)
    record = await _own_job(request)
    if record.finished:
        raise HTTPProblem(
            409, f"Job {record.job_id} already {record.state.value}; there is nothing to cancel."
        )
    record = await svc.queue.cancel(record.job_id)
    message = (
        "Cancelled."
        if record.finished
        else "Cancelling: the worker stops it within moments (generation:failed follows)."
    )
    return ok({"message": message, "status": job_status(svc, record)})


async def _cancel_takes(svc: Services, group_id: str) -> web.Response:
    """The group's jobId cancels every take still waiting or rendering."""
    cancelled = await svc.queue.cancel_takes(group_id)
    if not cancelled:
        raise HTTPProblem(409, "Every take has already finished; there is nothing to cancel.")
    statuses = [job_status(svc, record) for record in cancelled]
    count = len(cancelled)
    return ok(
        {
            "message": f"Cancelling {count} take{'s' * (count != 1)} (generation:failed follows).",
            "status": statuses[0],
            "takes": statuses,
        }
    )


async def _own_takes(request: web.Request) -> TakeGroup | None:
    """The caller's take group when the path's id names one (the 202 of several takes)."""
    group = await _services(request).queue.takes.get(request.match_info["job_id"])
    return group if group is not None and group.belongs_to(user_of(request)) else None


def _finished(status: Mapping[str, Any]) -> web.Response:
    """A result body from a finished status, or the 409 saying why there is none yet."""
    job_id = status["jobId"]
    if status["state"] == JobState.FAILED.value:
        raise HTTPProblem(409, f"Job {job_id} failed: {status.get('failedReason')}")
    if status["state"] != JobState.COMPLETED.value:
        raise HTTPProblem(
            409,
            f"Job {job_id} is {status['state']} ({status['progress']}%, {status['stage']}); "
            "its result isn't ready yet.",
        )
    return ok(
        {
            "jobId": job_id,
            "generationId": status["generationId"],
            "completedAt": status["finishedAt"],
            "result": status["result"],
        }
    )


async def _own_job(request: web.Request) -> JobRecord:
    """The caller's job named in the path; someone else's is as unknown as a missing one."""
    svc = _services(request)
    job_id = request.match_info["job_id"]  # the route lets only job-id characters through
    record = await svc.jobs.get(job_id)
    if record is None or not record.belongs_to(user_of(request)):
        raise NotFound(f"There is no job with id {job_id[:40]!r} for you.")
    return record


@routes.get("/api/generate/queue/stats")
async def queue_stats(request: web.Request) -> web.Response:
    return ok({"stats": await _services(request).queue.stats()})


@routes.get("/api/generate/genres")
async def genres(request: web.Request) -> web.Response:
    return ok({"genres": [genre.to_json() for genre in GENRES]})


# --- uploads -----------------------------------------------------------------------------


@routes.post("/api/files")
async def upload_file(request: web.Request) -> web.Response:
    """multipart/form-data with one part named "file" -> {"fileId": ...}."""
    svc = _services(request)
    user_of(request)
    if not request.content_type.startswith("multipart/"):
        raise HTTPProblem(400, 'Send the audio as multipart/form-data with a part named "file".')
    limit = svc.store.max_upload_bytes
    # Refuse before reading when the body alone is over the limit (form overhead allowed).
    if limit is not None and (request.content_length or 0) > limit + 64 * 1024:
        raise UploadTooLarge(
            f"The upload is {request.content_length / 2**20:.0f} MB; the limit is "
            f"{limit / 2**20:g} MB. Send a shorter clip or a compressed format such as MP3."
        )
    part = await _file_part(request)
    upload = await svc.store.save_upload(part, part.filename or "upload")
    try:
        info = await _audio_info(upload, svc.settings.limits.max_upload_seconds)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, upload.path.parent, True)  # keep nothing
        raise
    return ok(
        {
            "fileId": upload.file_id,
            "name": upload.original_name,
            "size": upload.size,
            "duration": round(info.duration, 3),
        },
        status=201,
    )


async def _audio_info(upload: Upload, max_seconds: float) -> AudioInfo:
    """What the upload holds, or a sentence why it is no usable audio."""
    try:
        info = await asyncio.to_thread(probe, upload.path)
    except AudioInputError as exc:
        raise HTTPProblem(415, str(exc)) from None
    if info.duration < MIN_SECONDS:  # a header with (almost) no audio after it
        raise HTTPProblem(
            415,
            f"{upload.original_name} has almost no audio in it ({info.duration:.2f} s); it may "
            "be truncated or corrupt. Export it again and send the whole file.",
        )
    if info.duration > max_seconds:
        raise BadAudio(
            f"{upload.original_name} is {info.duration / 60:.1f} minutes long; the limit is "
            f"{max_seconds / 60:g} minutes."
        )
    return info


async def _file_part(request: web.Request) -> BodyPartReader:
    """The multipart part named "file"; a 400 for a body that isn't well-formed multipart."""
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and not (isinstance(part, BodyPartReader) and part.name == "file"):
            await part.release()
            part = await reader.next()
    except (ValueError, HttpProcessingError):
        raise HTTPProblem(400, "The upload is not well-formed multipart/form-data.") from None
    if not isinstance(part, BodyPartReader):
        raise HTTPProblem(400, 'The upload needs a part named "file" with the audio in it.')
    return part


# --- chat and history --------------------------------------------------------------------


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    """One message from the widget, answered by the same assistant as Discord and Slack.

    Immediate replies come back here; progress and results follow on the WebSocket.
    """
    svc = _services(request)
    user = user_of(request)
    body = _validated(ChatRequest, await json_body(request))
    attachments = []
    for file_id in body.file_ids:
        _upload_exists(svc, file_id, "fileIds")
        attachments.append(Attachment(file_id, svc.store.upload(file_id).original_name))
    message = Message(
        text=body.text,
        origin=_origin(user, body.thread, platform="web"),
        attachments=tuple(attachments),
        generation_id=body.generation_id,
    )
    replies = [reply_json(svc, r) async for r in request.app[ASSISTANT].handle(message)]
    return ok({"replies": replies})


def reply_json(svc: Services, reply: Any) -> dict[str, Any]:
    """A Reply as JSON for the widget: its kind, text, ids, files and buttons."""
    kind = type(reply).__name__.removesuffix("Reply").lower()
    data: dict[str, Any] = {"type": {"jobaccepted": "accepted"}.get(kind, kind)}
    for name, key in (
        ("text", "text"),
        ("job_id", "jobId"),
        ("generation_id", "generationId"),
        ("percent", "percent"),
        ("stage", "stage"),
    ):
        if hasattr(reply, name):
            data[key] = getattr(reply, name)
    if getattr(reply, "take_jobs", ()):
        data["takeJobs"] = list(reply.take_jobs)  # several takes: each take's own job
    data["html"] = reply_html(reply)  # the same words, formatted and escaped for the page
    if getattr(reply, "files", None):
        data["files"] = _reply_files(svc, reply)
    if getattr(reply, "actions", None):
        data["actions"] = actions_json(reply.actions)
    return data


def _reply_files(svc: Services, reply: Any) -> list[dict[str, Any]]:
    """A reply's files as links with their download names."""
    files = [
        {"title": f.title, "kind": f.kind, "url": f.url, "size": f.size, "path": str(f.path)}
        for f in reply.files
    ]
    gid = str(getattr(reply, "generation_id", "") or "")
    try:
        summary = svc.store.read_summary(gid) if gid else None
    except NotFound:
        summary = None
    return public_files(files, summary or {}, svc.store, gid if summary else "")


@routes.get("/api/history")
async def history(request: web.Request) -> web.Response:
    svc = _services(request)
    user = user_of(request)
    try:
        limit = int(request.query.get("limit", svc.settings.limits.history_size))
    except ValueError:
        limit = -1
    if limit < 0:
        raise HTTPProblem(400, "limit: use a whole number from 0 up, e.g. ?limit=20.")
    entries = await svc.history.list(user, limit)
    return ok({"history": [history_json(svc.store, entry) for entry in entries]})


# --- downloads ---------------------------------------------------------------------------


@routes.get("/files/{path:.+}")
async def download(request: web.Request) -> web.StreamResponse:
    """A signed link to a clip or upload; Range requests work, so players can seek."""
    svc = _services(request)
    path = svc.store.verify(
        request.match_info["path"], request.query.get("exp", ""), request.query.get("sig", "")
    )
    response = web.FileResponse(path, chunk_size=256 * 1024)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = content_disposition(
        _download_name(svc, request.match_info["path"], path),
        attachment=request.query.get("download") == "1",
    )
    return response


def _download_name(svc: Services, rel: str, path: Path) -> str:
    """What the file is called on the person's disk: a beat's file after the beat
    (`trap_140_Cm_42.mp3`), an upload by the name it was sent with."""
    root, _, rest = rel.partition("/")
    owner, _, inner = rest.partition("/")
    with contextlib.suppress(NotFound, ValueError):
        if root == "clips":
            summary = svc.store.read_summary(owner)
            if summary is not None:
                return download_name(summary, inner, owner)
        if root == "uploads":
            return svc.store.upload(owner).original_name
    return path.name
