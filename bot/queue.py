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

from bot import keys
from bot.errors import NotFound, UserError
from bot.events import EventBus
from bot.jobs import JobBook, JobRecord, JobState, JobType, Origin, new_ids
from bot.takes import TakeBook, TakeGroup, marker_field, take_marker

CANCELLED = "Cancelled before it finished."

# KEYS: the queue, the job's arq claim. Take a job off the queue only if no worker has
# claimed it (a running job stays queued until it ends): 1 if taken off, 0 if it runs.
_UNQUEUE_WAITING = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 then redis.call('DEL', KEYS[3]) end
return removed
"""


class JobQueue:
    def __init__(self, arq: ArqRedis, book: JobBook, events: EventBus, prefix: str) -> None:
        self.arq = arq
        self.book = book
        self.events = events
        self.prefix = prefix
        self.queue_name = keys.queue(prefix)
        self.takes = TakeBook(arq, prefix, events, book.ttl)

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

    async def enqueue_takes(self, group: TakeGroup, data: dict[str, Any]) -> list[JobRecord]:
        """Queue one beat job per take of `group` (its request `data`, each with the take's
        seed and marker); the group is stored first, so a take that ends at once finds it."""
        await self.takes.create(group)
        records = []
        for take in group.takes:
            record = JobRecord(
                job_id=take.job_id,
                generation_id=take.generation_id,
                type=JobType.BEAT,
                user_id=group.user,
                origin=group.origin,
                data={**data, "seed": take.seed, "take": take_marker(group, take)},
            )
            await self.book.create(record)
            records.append(record)
        for record in records:  # all recorded before any runs: a fast take sees its siblings
            await self.arq.enqueue_job(
                record.type.task, record.job_id, _job_id=record.job_id, _queue_name=self.queue_name
            )
        return records

    async def cancel_takes(self, group_id: str) -> list[JobRecord]:
        """Cancel every take of a group that hasn't finished; returns those cancelled."""
        group = await self.takes.get(group_id)
        if group is None:
            raise NotFound(f"I can't find takes with id {group_id!r}. They may have expired.")
        cancelled = []
        for take in group.takes:
            record = await self.book.get(take.job_id)
            if record is not None and not record.finished:
                try:
                    cancelled.append(await self.cancel(take.job_id))
                except UserError:  # it finished a moment ago
                    continue
        return cancelled

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
        worker marks the job in progress first, and this check is one atomic step with it."""
        keys_ = (self.queue_name, in_progress_key_prefix + job_id, job_key_prefix + job_id)
        return bool(await self.arq.eval(_UNQUEUE_WAITING, 3, *keys_, job_id))

    async def finish_cancelled(self, record: JobRecord) -> None:
        if await self.book.mark_finished(record.job_id, JobState.FAILED, error=CANCELLED):
            await self.events.publish(
                "generation:failed",
                {
                    "jobId": record.job_id,
                    "generationId": record.generation_id,
                    **marker_field(record.data),
                    "type": record.type.value,
                    "error": CANCELLED,
                    "origin": record.origin.model_dump(),
                },
                dedupe_key=f"{record.generation_id}:finished",
            )
        current = await self.book.get(record.job_id)
        if current is not None:
            await self.takes.settle(current)

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
