"""The job queue client: enqueue, status, result, cancel and stats, on arq.

The arq job carries only the job id; the request, origin and progress live in the job's
record (`bot.jobs`), so a job that runs twice sees the same request and finishes once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix
from redis.exceptions import WatchError

from bot import keys
from bot.errors import NotFound, UserError
from bot.events import EventBus
from bot.jobs import JobBook, JobRecord, JobState, JobType, Origin, new_ids

CANCELLED = "Cancelled before it finished."


class JobQueue:
    def __init__(self, arq: ArqRedis, book: JobBook, events: EventBus, prefix: str) -> None:
        self.arq = arq
        self.book = book
        self.events = events
        self.prefix = prefix
        self.queue_name = keys.queue(prefix)

    async def enqueue(
        self,
        type: JobType,
        data: dict[str, Any],
        *,
        user_id: str = "anonymous",
        origin: Origin | None = None,
    ) -> JobRecord:
        job_id, generation_id = new_ids()
        record = JobRecord(
            job_id=job_id,
            generation_id=generation_id,
            type=type,
            user_id=user_id,
            origin=origin or Origin(),
            data=data,
        )
        await self.book.create(record)
        await self.arq.enqueue_job(type.task, job_id, _job_id=job_id, _queue_name=self.queue_name)
        return record

    async def status(self, job_id: str) -> JobRecord:
        record = await self.book.get(job_id)
        if record is None:
            raise NotFound(f"I can't find a job with id {job_id!r}. It may have expired.")
        return record

    async def by_generation(self, generation_id: str) -> JobRecord:
        record = await self.book.job_for_generation(generation_id)
        if record is None:
            raise NotFound("I can't find that clip any more. Make a new one?")
        return record

    async def cancel(self, job_id: str) -> JobRecord:
        """Stop a waiting job at once; ask a running one to stop (its worker confirms)."""
        record = await self.status(job_id)
        if record.finished:
            raise UserError(f"That job already {record.state.value}; there is nothing to cancel.")
        await self.book.update(job_id, cancel_requested=True)
        if await self._unqueue(job_id):
            # It never started: nobody else will finish it, so we do.
            await self.finish_cancelled(record)
        else:
            await self.arq.zadd(abort_jobs_ss, {job_id: int(time.time() * 1000)})
        return await self.status(job_id)

    async def _unqueue(self, job_id: str) -> bool:
        """Take a job that no worker has started off the queue; False if one runs it. arq
        keeps a running job in the queue until it ends, so being queued isn't enough: a
        worker marks the job in progress first (and this stays atomic with that mark)."""
        in_progress = in_progress_key_prefix + job_id
        async with self.arq.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(in_progress)
                if await pipe.exists(in_progress):
                    return False
                pipe.multi()
                pipe.zrem(self.queue_name, job_id)
                pipe.delete(job_key_prefix + job_id)
                removed, _ = await pipe.execute()
            except WatchError:  # a worker took it just now
                return False
        return bool(removed)

    async def finish_cancelled(self, record: JobRecord) -> None:
        if await self.book.mark_finished(record.job_id, JobState.FAILED, error=CANCELLED):
            await self.events.publish(
                "generation:failed",
                {
                    "jobId": record.job_id,
                    "generationId": record.generation_id,
                    "type": record.type.value,
                    "error": CANCELLED,
                    "origin": record.origin.model_dump(),
                },
                dedupe_key=f"{record.generation_id}:finished",
            )

    async def stats(self) -> dict[str, int]:
        return await self.book.stats(self.queue_name)

    async def wait(self, job_id: str, timeout: float = 60.0, poll: float = 0.1) -> JobRecord:
        """Poll until the job finishes (for the terminal chat and tests)."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.status(job_id)
            if record.finished:
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {record.state.value} after {timeout} s")
            await asyncio.sleep(poll)
