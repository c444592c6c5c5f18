"""The four arq tasks and what every job does around its CPU work.

A job: marks itself active, announces `generation:started`, runs its work in the process
pool (progress events between stages), commits its files, then announces
`generation:completed` and the DAW events — each exactly once, however often arq runs it.
Bad input fails at once with its sentence; anything else is retried with exponential
backoff, and after the last try the person gets a friendly failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from arq import Retry

from bot import work
from bot.errors import UserError, user_message
from bot.jobs import JobRecord, JobState, JobType
from bot.requests import charged_seconds
from bot.services import Services
from bot.takes import marker_field, marker_of
from bot.worker_metrics import WorkerMetrics
from engine.errors import EngineInputError

log = logging.getLogger(__name__)

# The job a log line belongs to. arq runs each job in its own asyncio task, so a context
# variable set in `run_job` tags every line logged while that job runs (pool, store, ...).
JOB_LOG_FIELDS = ("job_id", "generation_id", "job_type", "job_try")
_job_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "beatbot_job", default=None
)


class JobLogFilter(logging.Filter):
    """Add `job_id`, `generation_id`, `job_type` and `job_try` to every record logged while a
    job runs (None outside a job), so a formatter can print them and grep finds a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _job_context.get() or {}
        for name in JOB_LOG_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, fields.get(name))
        return True


class _JobLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """`extra=` with the job's ids on each line, for handlers without `JobLogFilter`
    (pytest's caplog, a library's own handler)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


# errno values that mean "the disk can't take this file", not a bug in the job.
_STORAGE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
}
LOST_TOO_OFTEN = (
    "The worker making this stopped {tries} times before it finished, so I stopped trying. "
    "Please ask again in a minute; if it keeps happening, tell the admin (out of memory?)."
)
# A beat's time limit: this many seconds, plus this many per second of audio (a render runs
# at ~20x realtime on one core, so this is ample on a busy machine), capped by job_timeout.
BEAT_LIMIT_BASE = 60
BEAT_LIMIT_PER_SECOND = 2
STORAGE_FAILURE = (
    "I couldn't save the audio: the server's storage is full or not writable ({detail}). "
    "Nothing was kept; please try again once the admin has freed space or fixed the data dir."
)

WORK: dict[JobType, Callable[..., dict[str, Any]]] = {
    JobType.BEAT: work.render_beat,
    JobType.STEMS: work.split_stems,
    JobType.MIX: work.mix_tracks,
    JobType.MASTER: work.master_track,
}


async def generate_beat(ctx: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return await run_job(ctx, job_id)


async def generate_stems(ctx: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return await run_job(ctx, job_id)


async def mix_tracks(ctx: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return await run_job(ctx, job_id)


async def master_track(ctx: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return await run_job(ctx, job_id)


async def prune_files(ctx: dict[str, Any]) -> None:
    """Hourly: remove clips and uploads past the retention limit."""
    services: Services = ctx["services"]
    report = await services.store.prune()
    log.info("retention: %s", report)


TASKS = (generate_beat, generate_stems, mix_tracks, master_track)


async def run_job(ctx: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    services: Services = ctx["services"]
    record = await services.jobs.get(job_id)
    if record is None:
        log.warning("job %s has no record; nothing to do", job_id)
        return None
    if record.finished:
        # A re-run after the worker died between finishing and telling arq. Announce again:
        # every announcement is de-duplicated, so whatever the crash cut off goes out once.
        if record.state is JobState.COMPLETED and record.result is not None:
            await _announce(services, record, record.result)
        return record.result
    tries = int(ctx.get("job_try", 1))
    max_tries = services.settings.queue.max_tries
    if tries > max_tries:
        # Only lost tries get here (a failing try stops retrying at max_tries): its worker
        # died every time, maybe killed for the memory this job takes.
        log.error("job %s lost its worker on each of %d tries; giving up", job_id, max_tries)
        await _fail(services, record, LOST_TOO_OFTEN.format(tries=max_tries))
        return None
    fields = {
        "job_id": job_id,
        "generation_id": record.generation_id,
        "job_type": record.type.value,
        "job_try": tries,
    }
    _job_context.set(fields)  # this task's context only: arq runs each job in its own task
    jlog = _JobLog(log, fields)
    started = time.monotonic()
    jlog.info("job %s (%s) started, try %d of %d", job_id, record.type.value, tries, max_tries)
    metrics: WorkerMetrics = ctx.setdefault("metrics", WorkerMetrics())
    since = metrics.started(record, tries)
    outcome = "failed"
    try:
        result = await _run_try(services, record, jlog, tries, max_tries, started)
        outcome = "completed" if result is not None else "failed"
        return result
    except Retry:
        outcome = "retried"
        raise
    except asyncio.CancelledError:
        current = await services.jobs.get(job_id)
        outcome = "cancelled" if current is not None and current.cancel_requested else "requeued"
        raise
    finally:
        metrics.ended(record, outcome, since)


async def _run_try(
    services: Services,
    record: JobRecord,
    jlog: logging.LoggerAdapter,
    tries: int,
    max_tries: int,
    started: float,
) -> dict[str, Any] | None:
    """One try of a job: its result, None when it failed for good, or Retry / cancel."""
    job_id = record.job_id
    await services.jobs.mark_active(job_id, tries)
    await services.events.publish(
        "generation:started",
        {**_ids(record), "type": record.type.value, "origin": record.origin.model_dump()},
        dedupe_key=f"{record.generation_id}:started",
    )
    limit = job_limit(record, services.settings.queue.job_timeout)
    try:
        result = await _produce_in_time(services, record, limit)
    except _OutOfTime:
        message = (
            f"This took longer than my {limit} s limit for it, so I stopped it. "
            "Try a shorter clip, or ask again when I'm less busy."
        )
        jlog.warning("job %s timed out after %.1f s", job_id, time.monotonic() - started)
        await _fail(services, record, message)
        return None
    except asyncio.CancelledError:
        current = await services.jobs.get(job_id)
        if current is not None and current.cancel_requested:
            await services.queue.finish_cancelled(current)
        else:  # the worker is shutting down: arq puts the job back for another worker
            await services.jobs.update(job_id, state=JobState.WAITING, stage="Re-queued")
        jlog.warning("job %s stopped (cancelled or worker shutting down)", job_id)
        raise
    except (UserError, EngineInputError) as exc:
        message = user_message(exc)
        jlog.info("job %s failed at once (bad input): %s", job_id, message)
        await _fail(services, record, message)
        return None
    except Exception as exc:
        jlog.exception("job %s (%s) failed on try %d/%d", job_id, record.type, tries, max_tries)
        if tries < max_tries:
            delay = services.settings.queue.retry_backoff * 2 ** (tries - 1)
            await services.jobs.update(
                job_id, state=JobState.WAITING, stage=f"Retrying (try {tries + 1} of {max_tries})"
            )
            jlog.info("job %s will retry in %.1f s", job_id, delay)
            raise Retry(defer=delay) from exc
        message = _storage_problem(services.store, exc) or (
            f"I couldn't finish this after {max_tries} tries; something went wrong on my side. "
            "Please try again in a few minutes."
        )
        jlog.error("job %s gave up after %d tries: %s", job_id, max_tries, message)
        await _fail(services, record, message)
        return None
    await _complete(services, record, result)
    jlog.info("job %s completed in %.2f s", job_id, time.monotonic() - started)
    return result


class _OutOfTime(Exception):
    """The job used up its time budget (not a TimeoutError raised by the work itself)."""


async def _produce_in_time(services: Services, record: JobRecord, limit: int) -> dict[str, Any]:
    """`_produce`, stopped a little before `limit` (at most arq's job_timeout). arq cancels a
    job at its timeout and never retries it, which would leave the record "active" and the
    person waiting forever; stopping first lets the job fail with a sentence instead."""
    budget = asyncio.timeout(_time_budget(limit))
    try:
        async with budget:
            return await _produce(services, record)
    except TimeoutError:
        if budget.expired():
            raise _OutOfTime from None
        raise


async def _produce(services: Services, record: JobRecord) -> dict[str, Any]:
    """Run the job's work in the pool unless a previous try already committed its files."""
    store = services.store
    summary = store.read_summary(record.generation_id)
    if summary is None:
        inputs = work.resolve_inputs(record.type, record.data, store)
        # An MP3 whose header understates its length must not decode into hours of audio.
        inputs["max_seconds"] = services.settings.limits.max_upload_seconds

        async def on_progress(stage: str, fraction: float) -> None:
            percent = max(1, min(99, round(fraction * 100)))
            if await services.jobs.advance(record.job_id, percent, stage):
                await services.events.publish(
                    "generation:progress",
                    {
                        **_ids(record),
                        "percent": percent,
                        "stage": stage,
                        "origin": record.origin.model_dump(),
                    },
                )
                await services.queue.takes.progress(record, percent, stage)

        folder: Path | None = None
        try:
            async with store.staging(record.generation_id) as folder:
                try:
                    summary = await services.pool.run(
                        WORK[record.type], record.data, inputs, str(folder), on_progress=on_progress
                    )
                except EngineInputError as exc:
                    # "The folder ... does not exist" is bad input from a terminal, but here the
                    # folder is ours: the disk failed under the job. Retry it as a fault, and
                    # never show the person a server path.
                    if not folder.is_dir():
                        raise OSError(errno.ENOENT, "the job's folder vanished") from exc
                    raise
                store.write_summary(folder, summary)
        except BaseException:
            # `staging()` deletes its folder when the work fails, but not when the commit
            # itself fails (clips/ unwritable, disk full): don't leave a whole render behind.
            if folder is not None and folder.exists():
                await asyncio.to_thread(shutil.rmtree, folder, True)
            raise
    return work.result_record(record, summary, store)


async def _complete(services: Services, record: JobRecord, result: dict[str, Any]) -> None:
    if not await services.jobs.mark_finished(record.job_id, JobState.COMPLETED, result=result):
        current = await services.jobs.get(record.job_id)
        if current is None or current.state is not JobState.COMPLETED:
            return  # cancelled (or failed) meanwhile: nothing of it goes out
    await _announce(services, record, result)


async def _announce(services: Services, record: JobRecord, result: dict[str, Any]) -> None:
    """History, `generation:completed` and the DAW events; each lands once however often
    this runs (history is keyed by generation, every publish has a dedupe key)."""
    origin = record.origin.model_dump()
    await services.history.add(record.user_id, work.history_entry(record, result))
    await services.events.publish(
        "generation:completed",
        {**_ids(record), "type": record.type.value, "result": result, "origin": origin},
        dedupe_key=f"{record.generation_id}:finished",
    )
    await services.queue.takes.settle(await services.jobs.get(record.job_id) or record)
    if not marker_of(record.data):  # a take goes on the DAW's timeline when it is picked
        await announce_clip(services, record, result)


async def announce_clip(services: Services, record: JobRecord, result: dict[str, Any]) -> None:
    """The DAW events of a finished clip: loaded, the transport's tempo, play if asked; once
    per clip (a picked take's are announced when it is picked, once however often)."""
    origin = record.origin.model_dump()
    clip = work.daw_clip(record, result)
    if clip is None:
        return
    await services.events.publish(
        "daw:audio:loaded", {**clip, "origin": origin}, dedupe_key=f"{record.generation_id}:loaded"
    )
    if clip["clip"].get("bpm"):
        await services.events.publish(
            "daw:transport:sync",
            {"bpm": clip["clip"]["bpm"], "generationId": record.generation_id, "origin": origin},
            dedupe_key=f"{record.generation_id}:sync",
        )
    if clip["autoPlay"]:
        await services.events.publish(
            "daw:transport:play",
            {"clipId": clip["clipId"], "generationId": record.generation_id, "origin": origin},
            dedupe_key=f"{record.generation_id}:play",
        )


async def announce_retry(services: Services, job_id: str) -> None:
    """A reaper put this job back on the queue (its worker died): say so where people look,
    in a progress event with the record's stage, until another worker takes it up."""
    record = await services.jobs.get(job_id)
    if record is None or record.finished:
        return
    await services.events.publish(
        "generation:progress",
        {
            **_ids(record),
            "percent": record.progress,
            "stage": record.stage,
            "origin": record.origin.model_dump(),
        },
    )


async def _fail(services: Services, record: JobRecord, message: str) -> None:
    if not await services.jobs.mark_finished(record.job_id, JobState.FAILED, error=message):
        return
    if record.type is JobType.BEAT:  # only rendered beats count against the daily quota
        await services.limits.refund(record.user_id, charged_seconds(record.data))
    await services.events.publish(
        "generation:failed",
        {
            **_ids(record),
            "type": record.type.value,
            "error": message,
            "origin": record.origin.model_dump(),
        },
        dedupe_key=f"{record.generation_id}:finished",
    )
    await services.queue.takes.settle(await services.jobs.get(record.job_id) or record)


def job_limit(record: JobRecord, job_timeout: int) -> int:
    """Seconds a job may run: sized from the request for a beat (a 30 s beat gets 120 s, not
    the 300 s an upload's separation may need), else job_timeout. A hung render is stopped
    that much sooner; a worker that died is noticed by its heartbeat, whatever the limit."""
    # A beat, or a beat's stems rendered again (whose job carries the beat's request).
    beat = record.data.get("beat") if record.type is JobType.STEMS else record.data
    seconds = beat.get("duration") if isinstance(beat, dict) else None
    if isinstance(seconds, int | float):
        return min(job_timeout, round(BEAT_LIMIT_BASE + BEAT_LIMIT_PER_SECOND * seconds))
    return job_timeout


def _time_budget(limit: float) -> float:
    """Seconds a job's work may take: its limit less time to record the outcome."""
    return max(1.0, limit - min(5.0, limit * 0.2))


def _storage_problem(store: Any, exc: BaseException) -> str | None:
    """A sentence when the last try failed because the data dir can't take files.

    The error itself may come from a child process, soundfile or PIL with its errno lost, so
    besides its chain we check the disk directly: write a small probe where jobs write.
    """
    detail: str | None = None
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _STORAGE_ERRNOS:
            detail = seen.strerror or type(seen).__name__
            break
        seen = seen.__cause__ or seen.__context__
    for folder in (store.staging_root, store.clips):
        if detail is not None:
            break
        probe = Path(folder) / f".probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.write_bytes(b"\0" * 65536)
        except OSError as error:
            detail = error.strerror or type(error).__name__
        finally:
            with contextlib.suppress(OSError):
                probe.unlink(missing_ok=True)
    if detail is None:
        return None
    return STORAGE_FAILURE.format(detail=detail.lower())


def _ids(record: JobRecord) -> dict[str, Any]:
    """A job's ids for its events; a take's also say which take of which group it is."""
    return {
        "jobId": record.job_id,
        "generationId": record.generation_id,
        **marker_field(record.data),
    }
