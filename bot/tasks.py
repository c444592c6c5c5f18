"""The four arq tasks and what every job does around its CPU work.

A job: marks itself active, announces `generation:started`, runs its work in the process
pool (progress events between stages), commits its files, then announces
`generation:completed` and the DAW events — each exactly once, however often arq runs it.
Bad input fails at once with its sentence; anything else is retried with exponential
backoff, and after the last try the person gets a friendly failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from arq import Retry

from bot import work
from bot.errors import UserError, user_message
from bot.jobs import JobRecord, JobState, JobType
from bot.services import Services
from engine.errors import EngineInputError

log = logging.getLogger(__name__)

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
    await services.jobs.mark_active(job_id, tries)
    await services.events.publish(
        "generation:started",
        {**_ids(record), "type": record.type.value, "origin": record.origin.model_dump()},
        dedupe_key=f"{record.generation_id}:started",
    )
    try:
        result = await _produce(services, record)
    except asyncio.CancelledError:
        current = await services.jobs.get(job_id)
        if current is not None and current.cancel_requested:
            await services.queue.finish_cancelled(current)
        else:  # the worker is shutting down: arq puts the job back for another worker
            await services.jobs.update(job_id, state=JobState.WAITING, stage="Re-queued")
        raise
    except (UserError, EngineInputError) as exc:
        await _fail(services, record, user_message(exc))
        return None
    except Exception as exc:
        log.exception("job %s (%s) failed on try %d/%d", job_id, record.type, tries, max_tries)
        if tries < max_tries:
            delay = services.settings.queue.retry_backoff * 2 ** (tries - 1)
            await services.jobs.update(
                job_id, state=JobState.WAITING, stage=f"Retrying (try {tries + 1} of {max_tries})"
            )
            raise Retry(defer=delay) from exc
        await _fail(
            services,
            record,
            f"I couldn't finish this after {max_tries} tries ({type(exc).__name__}). "
            "Please try again in a few minutes.",
        )
        return None
    await _complete(services, record, result)
    return result


async def _produce(services: Services, record: JobRecord) -> dict[str, Any]:
    """Run the job's work in the pool unless a previous try already committed its files."""
    store = services.store
    summary = store.read_summary(record.generation_id)
    if summary is None:
        inputs = work.resolve_inputs(record.type, record.data, store)

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

        async with store.staging(record.generation_id) as folder:
            summary = await services.pool.run(
                WORK[record.type], record.data, inputs, str(folder), on_progress=on_progress
            )
            store.write_summary(folder, summary)
    return work.result_record(record, summary, store)


async def _complete(services: Services, record: JobRecord, result: dict[str, Any]) -> None:
    await services.jobs.mark_finished(record.job_id, JobState.COMPLETED, result=result)
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


async def _fail(services: Services, record: JobRecord, message: str) -> None:
    if not await services.jobs.mark_finished(record.job_id, JobState.FAILED, error=message):
        return
    if record.type is JobType.BEAT:  # only rendered beats count against the daily quota
        await services.limits.refund(record.user_id, float(record.data.get("duration") or 0))
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


def _ids(record: JobRecord) -> dict[str, str]:
    return {"jobId": record.job_id, "generationId": record.generation_id}
