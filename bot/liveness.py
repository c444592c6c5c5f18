"""Worker liveness: a heartbeat per worker in Redis, and a reaper in every worker that puts
back the jobs of workers whose heartbeat stopped.

arq marks a running job with `arq:in-progress:<job id>`, which expires only after the longest
job_timeout + 10 s: a worker killed with SIGKILL (OOM killer, `kill -9`, a lost machine) would
freeze its job for minutes. A BeatBot worker writes its own id as the value of that key when it
takes a job (in the same transaction as arq's claim), and refreshes `<prefix>:worker:<id>`
every `BEAT_EVERY` seconds with a `HEARTBEAT_TTL`. Every worker's reaper looks at the claims
of the jobs in the queue; a claim whose worker's heartbeat is gone is deleted, so the job is
picked up again by the next poll of any worker. Check and delete are one Lua script: two
reapers can't both take a job over, and a job a live worker holds is never touched.

A job's length never decides that its worker died: a 15-minute upload's stems keep their
claim as long as the worker keeps beating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from bot import keys
from bot.connections import as_text

log = logging.getLogger(__name__)

BEAT_EVERY = 1.0  # seconds between heartbeats
# A dead worker's heartbeat is gone this long after its last beat. Long enough for a busy
# `serve` event loop (HTTP, chat adapters and its worker share it) to miss a few beats.
HEARTBEAT_TTL = 5.0
LOST_STAGE = "Retrying: the worker was lost"

OnLost = Callable[[str], Awaitable[None]]


def new_worker_id() -> str:
    """Unique per worker process start, and readable in `redis-cli keys '*:worker:*'`."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# KEYS: the job's arq claim, the claiming worker's heartbeat, the job's record, the set of
# active jobs. ARGV: the dead worker's id, the retry stage, the job id.
# Returns -1 when the job is not ours to take (claimed by someone else, or its worker is
# alive), 0 when it was taken and its record is finished (or it has none: a cron job), and
# 1 when it was taken and its record now says it is being retried.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('DEL', KEYS[1])
local state = redis.call('HGET', KEYS[3], 'state')
if not state or state == 'completed' or state == 'failed' then return 0 end
redis.call('HSET', KEYS[3], 'state', 'waiting', 'stage', ARGV[2])
redis.call('SREM', KEYS[4], ARGV[3])
return 1
"""


class Liveness:
    """One worker's heartbeat and reaper, run as a background task while the worker runs."""

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        prefix: str,
        queue_name: str,
        worker_id: str,
        *,
        on_lost: OnLost | None = None,
        beat_every: float = BEAT_EVERY,
        ttl: float = HEARTBEAT_TTL,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.queue_name = queue_name
        self.worker_id = worker_id
        self.on_lost = on_lost
        self.beat_every = beat_every
        self.ttl = ttl
        self.key = keys.worker_alive(prefix, worker_id)
        self._take_over = redis.register_script(_TAKE_OVER)
        self._task: asyncio.Task[None] | None = None
        self._healthy_since: float | None = None

    async def start(self) -> None:
        """Beat once now (before the worker claims anything), then keep beating and reaping."""
        await self.beat()
        self._task = asyncio.create_task(self._run(), name=f"liveness-{self.worker_id}")

    async def stop(self) -> None:
        """Stop beating and say so at once: call after this worker's jobs have ended."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(self.key)

    async def beat(self) -> None:
        await self.redis.set(self.key, self.worker_id, px=int(self.ttl * 1000))
        if self._healthy_since is None:
            self._healthy_since = time.monotonic()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.beat_every)
            try:
                await self.beat()
                if self.may_judge():
                    await self.reap()
            except (RedisError, OSError) as exc:
                # Redis restarting: other workers' heartbeats may lapse meanwhile too.
                self._healthy_since = None
                log.debug("heartbeat failed (%s); trying again", exc)

    def may_judge(self) -> bool:
        """Only a worker whose own heartbeat has been kept for a whole TTL judges others: after
        a Redis outage every worker gets one TTL to beat again before it counts as dead."""
        since = self._healthy_since
        return since is not None and time.monotonic() - since >= self.ttl

    async def reap(self) -> list[str]:
        """Put back every job whose worker's heartbeat is gone; returns their ids."""
        # Running jobs stay in arq's queue until they end; deferred retries hold no claim.
        due = await self.redis.zrangebyscore(self.queue_name, "-inf", timestamp_ms())
        job_ids = [as_text(job_id) for job_id in due]
        if not job_ids:
            return []
        claims = await self.redis.mget([in_progress_key_prefix + job_id for job_id in job_ids])
        by_worker: dict[str, list[str]] = {}
        for job_id, claim in zip(job_ids, claims, strict=True):
            owner = as_text(claim, "replace") if claim is not None else ""
            # "1" is plain arq's claim (a worker without liveness): its own expiry applies.
            if owner and owner != "1" and owner != self.worker_id:
                by_worker.setdefault(owner, []).append(job_id)
        if not by_worker:
            return []
        owners = list(by_worker)
        async with self.redis.pipeline(transaction=False) as pipe:
            for owner in owners:
                pipe.exists(keys.worker_alive(self.prefix, owner))
            alive = await pipe.execute()
        taken = []
        for owner, beating in zip(owners, alive, strict=True):
            if beating:
                continue
            for job_id in by_worker[owner]:
                if await self._take(owner, job_id):
                    taken.append(job_id)
        return taken

    async def _take(self, owner: str, job_id: str) -> bool:
        outcome = int(
            await self._take_over(
                keys=[
                    in_progress_key_prefix + job_id,
                    keys.worker_alive(self.prefix, owner),
                    keys.job(self.prefix, job_id),
                    keys.active_jobs(self.prefix),
                ],
                args=[owner, LOST_STAGE, job_id],
            )
        )
        if outcome < 0:
            return False
        log.warning("worker %s is gone; job %s goes back on the queue", owner, job_id)
        if outcome > 0 and self.on_lost is not None:
            await self.on_lost(job_id)
        return True
