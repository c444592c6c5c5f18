"""Worker liveness on a real Redis: a heartbeat decides that a worker died, never a job's
length; a dead worker's job is taken over once however many reapers race; a job that loses
its worker on every try ends with a sentence instead of hanging."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from arq.constants import in_progress_key_prefix, retry_key_prefix

from bot import keys, tasks
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState, JobType, Origin
from bot.liveness import LOST_STAGE, Liveness
from bot.services import Services
from tests import pool_work
from tests.audio_fixtures import write_tone
from tests.fault_work import job_events
from tests.workers import run_worker

# Fast liveness for in-process workers: a beat every 0.2 s, dead 1 s after the last one.
QUICK = (0.2, 1.0)


def origin() -> Origin:
    return Origin(platform="cli", channel="terminal", thread="alive", user="ada")


async def test_a_long_job_on_a_live_worker_is_never_taken_over(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job running for several heartbeat lifetimes, with a second worker reaping all the
    while: it stays with its worker, runs once and is never said to be retried."""
    monkeypatch.setitem(tasks.WORK, JobType.MASTER, pool_work.slow_master)
    track = await services.store.save_upload(write_tone(tmp_path / "t.wav").read_bytes(), "t.wav")
    record = await services.queue.enqueue(
        JobType.MASTER, {"track_id": track.file_id, "seconds": 3}, origin=origin()
    )
    workers = asyncio.gather(
        run_worker(settings, redis_handle, heartbeat=QUICK),
        run_worker(settings, redis_handle, heartbeat=QUICK),
    )
    stages = set()
    while not workers.done():
        stages.add((await services.queue.status(record.job_id)).stage)
        await asyncio.sleep(0.05)
    await workers
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.COMPLETED and record.tries == 1, record.error
    assert LOST_STAGE not in stages and "Mastering" in stages
    events = await job_events(services, record.job_id)
    assert LOST_STAGE not in [d["stage"] for n, d in events if n == "generation:progress"]


async def test_a_dead_workers_job_is_taken_over_once_by_racing_reapers(
    services: Services, settings: Settings, key_prefix: str
) -> None:
    record = await services.queue.enqueue(JobType.MASTER, {"target_lufs": -14}, origin=origin())
    await services.jobs.mark_active(record.job_id, 1)
    await services.jobs.advance(record.job_id, 40, "Mastering")
    # The job is claimed by a worker whose heartbeat is gone; another job by a live one.
    await services.redis.set(in_progress_key_prefix + record.job_id, "dead-host-1-abc")
    live = await services.queue.enqueue(JobType.MASTER, {"target_lufs": -14}, origin=origin())
    await services.jobs.mark_active(live.job_id, 1)
    await services.redis.set(in_progress_key_prefix + live.job_id, "live-host-2-def")
    await services.redis.set(keys.worker_alive(key_prefix, "live-host-2-def"), "1", ex=30)

    async def announce(job_id: str) -> None:
        await tasks.announce_retry(services, job_id)

    queue_name = keys.queue(key_prefix)
    reapers = [
        Liveness(services.redis, key_prefix, queue_name, f"reaper-{n}", on_lost=announce)
        for n in range(4)
    ]
    try:
        taken = await asyncio.gather(*(reaper.reap() for reaper in reapers for _ in range(3)))
        assert sorted(job for jobs in taken for job in jobs) == [record.job_id]

        assert await services.redis.get(in_progress_key_prefix + record.job_id) is None
        assert await services.redis.get(in_progress_key_prefix + live.job_id) is not None
        lost = await services.queue.status(record.job_id)
        assert (lost.state, lost.stage, lost.progress) == (JobState.WAITING, LOST_STAGE, 40)
        assert (await services.queue.status(live.job_id)).state is JobState.ACTIVE
        stats = await services.queue.stats()
        assert (stats["active"], stats["waiting"]) == (1, 1)
        events = await job_events(services, record.job_id)
        assert (
            events == [("generation:progress", events[0][1])]
            and events[0][1]["stage"] == LOST_STAGE
        )
        assert events[0][1]["percent"] == 40
    finally:
        await services.redis.delete(
            *(in_progress_key_prefix + job for job in (record.job_id, live.job_id))
        )


async def test_a_reaper_waits_a_heartbeat_lifetime_before_judging(
    services: Services, key_prefix: str
) -> None:
    """After a Redis outage (or at start) every worker gets one TTL to beat again before a
    reaper may count it dead."""
    reaper = Liveness(services.redis, key_prefix, keys.queue(key_prefix), "judge", ttl=0.5)
    await reaper.start()
    try:
        assert not reaper.may_judge()
        assert await services.redis.get(reaper.key) == b"judge"
        await asyncio.sleep(0.6)
        assert reaper.may_judge()
    finally:
        await reaper.stop()
    assert await services.redis.get(reaper.key) is None  # a clean stop says so at once


async def test_a_job_that_loses_its_worker_on_every_try_fails_with_a_sentence(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    record = await services.queue.enqueue(JobType.MASTER, {"target_lufs": -14}, origin=origin())
    # Three tries already started and lost with their workers (arq counted each one).
    await services.redis.set(retry_key_prefix + record.job_id, settings.queue.max_tries)
    await run_worker(settings, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED
    assert record.error == tasks.LOST_TOO_OFTEN.format(tries=settings.queue.max_tries)
    names = [n for n, _ in await job_events(services, record.job_id)]
    assert names == ["generation:failed"]
