"""How BeatBot looks on the wire: REST bodies and WebSocket frames are shaped here, once.

Every shape follows the same rules, which /api/openapi.json and /api/asyncapi.json describe:
- names are camelCase;
- timestamps are ISO 8601 UTC strings with milliseconds ("2025-10-16T12:00:00.000Z"): the
  seed's events already carry `timestamp` that way, a person can read them in a log, and
  JavaScript's `new Date(s)` and every JSON library parse them;
- a result carries signed links, never a server path, and each file's download name
  (`trap_140_Cm_42.mp3`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.daw.schemas import actions_json
from bot import work
from bot.assistant import actions_for, pick_actions
from bot.errors import NotFound
from bot.events import utc_timestamp
from bot.filenames import download_name
from bot.jobs import JobRecord, JobState, JobType
from bot.links import REFS, with_links
from bot.requests import public_name
from bot.services import Services
from bot.store import ClipStore
from bot.takes import TakeGroup, failed_text, group_result

Frame = dict[str, Any]

# Frames the server adds to the stream's own events; they are not on the stream, so their
# `id` is null and a client keeps resuming from the last real id it saw.
STREAM_GAP = "stream:gap"
STREAM_ERROR = "stream:error"


def iso_utc(seconds: float | None) -> str | None:
    """Seconds since the epoch -> "2025-10-16T12:00:00.000Z" (None stays None)."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(float(seconds), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def camel_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A request's fields as clients send them: target_lufs -> targetLoudness."""
    return {public_name(key): value for key, value in data.items()}


# --- results -------------------------------------------------------------------------------


def public_files(
    files: Iterable[Mapping[str, Any]], result: Mapping[str, Any], store: ClipStore, gid: str
) -> list[dict[str, Any]]:
    """A result's files without their server paths, each with the name it downloads as."""
    folder = store.generation_dir(gid) if gid else None
    public = []
    for file in files:
        item = {k: v for k, v in file.items() if k != "path"}
        inner = _inside(_local(store, file.get("path")), folder)
        if inner is not None:
            item["name"] = download_name(result, inner, gid)
        public.append(item)
    return public


def _local(store: ClipStore, path: Any) -> Any:
    """A storage reference as this server's file (older records hold absolute paths)."""
    if isinstance(path, str) and store.is_ref(path):
        return store.local(path)
    return path


def _inside(path: Any, folder: Path | None) -> str | None:
    if not path or folder is None:
        return None
    try:
        return Path(str(path)).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def wire_result(store: ClipStore, result: Mapping[str, Any], gid: str) -> dict[str, Any]:
    """A finished job's result as clients get it, on REST and on the WebSocket alike: links
    signed here, by the server that hands them out."""
    result = with_links(dict(result), store)
    public = {k: v for k, v in result.items() if k not in REFS}
    # A beat's stems made on demand live in (and are named after) the beat, not their job.
    owner = str(result.get("source") or gid)
    naming: Mapping[str, Any] = result
    if owner != gid:
        with contextlib.suppress(NotFound):
            naming = store.read_summary(owner) or result
    public["files"] = public_files(result.get("files", []), naming, store, owner)
    if result.get("main") and gid:
        public["downloadName"] = download_name(naming, str(result["main"]), owner)
    return public


def wire_takes(store: ClipStore, result: Mapping[str, Any], gid: str) -> dict[str, Any]:
    """Several takes' result as clients get it: each take's own result wired as a beat's
    (its files named after that take's beat), the shown files likewise."""
    takes = []
    wired: dict[int, dict[str, Any]] = {}
    for take in result.get("takes", []):
        entry = dict(take)
        if isinstance(take.get("result"), Mapping):
            entry["result"] = wire_result(store, take["result"], str(take["generationId"]))
            wired[int(take["take"])] = entry
        takes.append(entry)
    files = []
    for file in with_links(list(result.get("files", [])), store):
        entry = wired.get(int(file.get("take") or 0))
        owner = str(entry["generationId"]) if entry else ""
        naming = entry["result"] if entry else {}
        files.extend(public_files([file], naming, store, owner))
    public = {k: v for k, v in result.items() if k not in ("takes", "files")}
    return {**public, "takes": takes, "files": files}


def result_json(svc: Services, record: JobRecord) -> dict[str, Any] | None:
    """A job's result with freshly signed links (history and status outlive a link's TTL)."""
    if record.result is None:
        return None
    result = dict(record.result)
    summary = svc.store.read_summary(record.generation_id)
    if summary is not None:
        with contextlib.suppress(FileNotFoundError, KeyError, ValueError):
            result = work.result_record(record, summary, svc.store)
    public = wire_result(svc.store, result, record.generation_id)
    original = original_url(svc, record)
    if original:
        public["originalUrl"] = original
    return public


def original_url(svc: Services, record: JobRecord) -> str | None:
    """What a master started from (an upload, or a beat), for an A/B against the master."""
    if record.type is not JobType.MASTER:
        return None
    store = svc.store
    with contextlib.suppress(NotFound, ValueError, KeyError):
        if record.data.get("track_id"):
            return store.sign(store.relative(store.path_for(record.data["track_id"])))
        generation_id = str(record.data.get("generation_id") or "")
        summary = store.read_summary(generation_id) if generation_id else None
        if summary is not None:
            folder = store.generation_dir(generation_id)
            preview = folder / work.PREVIEW
            source = preview if preview.exists() else folder / summary["main"]
            return store.sign(store.relative(source))
    return None


# --- jobs ----------------------------------------------------------------------------------


def job_status(svc: Services, record: JobRecord) -> dict[str, Any]:
    """The seed's status object, camelCase with ISO times, and its result if it has one."""
    status = record.to_status()
    status["data"] = camel_keys(record.data)
    status["result"] = result_json(svc, record)
    status["createdAt"] = iso_utc(record.created_at)
    status["startedAt"] = iso_utc(record.started_at)
    status["finishedAt"] = iso_utc(record.finished_at)
    status["cancelRequested"] = record.cancel_requested
    return status


async def group_status(svc: Services, group: TakeGroup) -> dict[str, Any]:
    """A take group's jobId (the 202 of several takes) as one job: waiting until a take
    starts, active until every take is settled, then completed (when at least one was made)
    or failed. Its progress is the takes' mean, its result the one the WebSocket announced,
    and `takes` has each take's own status."""
    found = [await svc.jobs.get(take.job_id) for take in group.takes]
    records = [record for record in found if record is not None]
    settled = await svc.queue.takes.outcomes(group.group_id)
    done = len(settled) >= group.size
    made = [index for index, outcome in settled.items() if outcome["state"] == "completed"]
    if done:
        state = JobState.COMPLETED if made else JobState.FAILED
    elif settled or any(r.state is not JobState.WAITING for r in records):
        state = JobState.ACTIVE
    else:
        state = JobState.WAITING
    data = {k: v for k, v in (records[0].data if records else {}).items() if k != "take"}
    started = [r.started_at for r in records if r.started_at]
    finished = [r.finished_at for r in records if r.finished_at]
    status: dict[str, Any] = {
        "jobId": group.group_id,
        "generationId": group.generation_id,
        "type": JobType.BEAT.value,
        "state": state.value,
        "progress": 100 if done else await svc.queue.takes.mean_progress(group.group_id),
        "stage": "Done" if done else f"{len(settled)} of {group.size} takes done",
        "data": camel_keys({**data, "takes": group.size}),
        "result": None,
        "createdAt": iso_utc(min((r.created_at for r in records), default=None)),
        "startedAt": iso_utc(min(started, default=None)),
        "finishedAt": iso_utc(max(finished, default=None)) if done else None,
        "cancelRequested": any(r.cancel_requested for r in records),
        "takes": [job_status(svc, record) for record in records],
    }
    if done and made:
        result = group_result(group, settled)
        status["result"] = wire_takes(svc.store, result, group.generation_id)
    elif done:
        status["failedReason"] = failed_text(group, settled, none_made=True)
    return status


def history_json(store: ClipStore, entry: Mapping[str, Any]) -> dict[str, Any]:
    """One history entry with a fresh link (history keeps the link signed when the job
    finished) and its time in ISO form; `expired` when its files are gone."""
    public = {k: v for k, v in entry.items() if k not in REFS}
    public["params"] = camel_keys(entry.get("params") or {})
    created = entry.get("createdAt")
    if isinstance(created, int | float):  # stored as ms since the epoch
        public["createdAt"] = iso_utc(created / 1000)
    generation_id = str(entry.get("generationId", ""))
    try:
        summary = store.read_summary(generation_id)
    except NotFound:
        summary = None
    if summary is None:
        return {**public, "audioUrl": None, "downloadName": None, "expired": True}
    folder = store.generation_dir(generation_id)
    return {
        **public,
        "audioUrl": store.sign(store.relative(folder / summary["main"])),
        "downloadName": download_name(summary, summary["main"], generation_id),
        "expired": False,
    }


# --- WebSocket frames ----------------------------------------------------------------------


async def event_frame(svc: Services, entry_id: str, name: str, data: Mapping[str, Any]) -> Frame:
    """The WebSocket frame of one stream event: no origin (chat ids) or server paths; a
    finished beat carries the same buttons a chat shows, a master the link to its original."""
    signed = with_links({k: v for k, v in data.items() if k != "origin"}, svc.store)
    public = {k: v for k, v in signed.items() if k not in REFS}
    result = data.get("result")
    gid = str(data.get("generationId", ""))
    if isinstance(result, dict) and result.get("kind") == "takes":
        public["result"] = wire_takes(svc.store, result, gid)
        public["actions"] = actions_json(pick_actions(result))
    elif isinstance(result, dict):
        public["result"] = wire_result(svc.store, result, gid)
        if result.get("kind") == "master":
            record = await svc.jobs.get(str(data.get("jobId", "")))
            original = original_url(svc, record) if record is not None else None
            if original:
                public["result"]["originalUrl"] = original
        if name == "generation:completed" and result.get("kind") == "beat":
            public["actions"] = actions_json(actions_for(gid, result.get("exclude") or ()))
    return {"event": name, "data": public, "id": entry_id}


def control_frame(name: str, **data: Any) -> Frame:
    """A frame about the stream itself (`stream:gap`, `stream:error`); `id` is null."""
    return {"event": name, "data": {**data, "timestamp": utc_timestamp()}, "id": None}
