"""Job records: what was asked, where it came from, how far it got, and what it made.

arq knows whether a job is queued or running; BeatBot keeps its own record per job (a Redis
hash) because people ask for more: the seed's states, a percent and stage name, the result
links, and a failure sentence they can act on.
"""

from __future__ import annotations

import json
import time
import uuid
from enum import StrEnum
from typing import Any

import redis.asyncio
from pydantic import BaseModel, Field

from bot import keys
from bot.connections import as_text


class JobType(StrEnum):
    BEAT = "generate-beat"
    STEMS = "generate-stems"
    MIX = "mix-tracks"
    MASTER = "master-track"

    @property
    def task(self) -> str:
        """The arq function that runs this type of job."""
        return self.value.replace("-", "_")


class JobState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"


class Origin(BaseModel):
    """Where a request came from, so its progress and result go back to the same thread."""

    platform: str = "api"  # cli | api | web | discord | slack
    channel: str = ""
    thread: str = ""
    user: str = ""
    message_id: str = ""

    @property
    def thread_key(self) -> str:
        return f"{self.platform}:{self.channel}:{self.thread or self.channel}"


class JobRecord(BaseModel):
    job_id: str
    generation_id: str
    type: JobType
    state: JobState = JobState.WAITING
    progress: int = 0
    stage: str = "Queued"
    user_id: str = "anonymous"
    origin: Origin = Field(default_factory=Origin)
    data: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    tries: int = 0
    cancel_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.state in (JobState.COMPLETED, JobState.FAILED)

    def belongs_to(self, user: str) -> bool:
        """Whose job this is: the person who asked, the same rule the WebSocket applies to
        its events (their `origin.user`)."""
        return (self.origin.user or self.user_id) == user

    def to_status(self) -> dict[str, Any]:
        """The seed's `GET /api/generate/status/:jobId` shape."""
        status: dict[str, Any] = {
            "jobId": self.job_id,
            "generationId": self.generation_id,
            "type": self.type.value,
            "state": self.state.value,
            "progress": self.progress,
            "stage": self.stage,
            "data": self.data,
            "result": self.result,
            "createdAt": int(self.created_at * 1000),
        }
        if self.error:
            status["failedReason"] = self.error
        if self.finished_at:
            status["finishedAt"] = int(self.finished_at * 1000)
        return status


def new_ids() -> tuple[str, str]:
    """A short job id people can type (`status 3f9a2c1b`) and a UUID generation id."""
    return uuid.uuid4().hex[:12], str(uuid.uuid4())


_JSON_FIELDS = ("origin", "data", "result")


class JobBook:
    """Job records and queue counters in Redis. A record expires `ttl` seconds after its job
    was queued (the retention limit, like the job's files); None keeps it for ever."""

    def __init__(self, redis: redis.asyncio.Redis, prefix: str, ttl: int | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    async def create(self, record: JobRecord) -> None:
        job_key = keys.job(self.prefix, record.job_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(job_key, mapping=_encode(record))
            pipe.set(keys.generation_job(self.prefix, record.generation_id), record.job_id)
            if self.ttl:
                pipe.expire(job_key, self.ttl)
                pipe.expire(keys.generation_job(self.prefix, record.generation_id), self.ttl)
            await pipe.execute()

    async def get(self, job_id: str) -> JobRecord | None:
        raw = await self.redis.hgetall(keys.job(self.prefix, job_id))
        return _decode(raw) if raw else None

    async def job_for_generation(self, generation_id: str) -> JobRecord | None:
        job_id = await self.redis.get(keys.generation_job(self.prefix, generation_id))
        if job_id is None:  # a job queued before records expired
            job_id = await self.redis.hget(keys.generation_jobs_legacy(self.prefix), generation_id)
        return await self.get(job_id.decode()) if job_id else None

    async def in_flight(self, queue_name: str, user: str) -> list[JobRecord]:
        """`user`'s jobs that are waiting or running, oldest first. arq keeps every queued,
        running or deferred job in its queue, so the queue and the running set hold them all."""
        ids = {as_text(i) for i in await self.redis.zrange(queue_name, 0, -1)}
        ids |= {as_text(i) for i in await self.redis.smembers(keys.active_jobs(self.prefix))}
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(keys.job(self.prefix, job_id))
            rows = await pipe.execute()
        records = [_decode(raw) for raw in rows if raw]
        mine = [r for r in records if not r.finished and r.belongs_to(user)]
        return sorted(mine, key=lambda r: r.created_at)

    async def update(self, job_id: str, **fields: Any) -> None:
        values = {
            name: json.dumps(value) if name in _JSON_FIELDS else _plain(value)
            for name, value in fields.items()
        }
        await self.redis.hset(keys.job(self.prefix, job_id), mapping=values)

    async def advance(self, job_id: str, percent: int, stage: str) -> bool:
        """Record progress only if it moves forward (a retried job never goes backwards)."""
        moved = await self.redis.eval(
            _ADVANCE,
            1,
            keys.job(self.prefix, job_id),
            percent,
            stage,
        )
        return bool(moved)

    async def mark_active(self, job_id: str, tries: int) -> None:
        await self.update(job_id, state=JobState.ACTIVE, started_at=time.time(), tries=tries)
        await self.redis.sadd(keys.active_jobs(self.prefix), job_id)

    async def mark_finished(
        self,
        job_id: str,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Finish a job once; returns False when it was already finished (a re-run)."""
        fields: dict[str, Any] = {"state": state, "finished_at": time.time()}
        if state is JobState.COMPLETED:
            fields.update(progress=100, stage="Done", result=result)
        else:
            fields.update(error=error)
        encoded = {
            name: json.dumps(value) if name in _JSON_FIELDS else _plain(value)
            for name, value in fields.items()
        }
        counter = keys.counter(self.prefix, state.value)
        args: list[Any] = [counter, job_id]
        for name, value in encoded.items():
            args.extend([name, value])
        finished = await self.redis.eval(
            _FINISH,
            2,
            keys.job(self.prefix, job_id),
            keys.active_jobs(self.prefix),
            *args,
        )
        return bool(finished)

    async def stats(self, queue_name: str) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(queue_name)
            pipe.scard(keys.active_jobs(self.prefix))
            pipe.get(keys.counter(self.prefix, "completed"))
            pipe.get(keys.counter(self.prefix, "failed"))
            queued, active, completed, failed = await pipe.execute()
        # arq keeps a running job in its queue until it finishes; count it once, as active.
        waiting = max(0, int(queued) - int(active))
        return {
            "waiting": waiting,
            "active": int(active),
            "completed": int(completed or 0),
            "failed": int(failed or 0),
            "total": waiting + int(active),
        }


# Progress only moves forward, atomically.
_ADVANCE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0')
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'completed' or state == 'failed' then return 0 end
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1], 'stage', ARGV[2])
return 1
"""

# Finish once: a second finish (a re-run after a crash) changes nothing and counts nothing.
_FINISH = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'completed' or state == 'failed' then return 0 end
redis.call('INCR', ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return str(value)


def _encode(record: JobRecord) -> dict[str, str]:
    data = record.model_dump(mode="json")
    return {
        name: json.dumps(value) if name in _JSON_FIELDS else _plain(value)
        for name, value in data.items()
    }


def _decode(raw: dict[bytes, bytes]) -> JobRecord:
    fields = {key.decode(): value.decode() for key, value in raw.items()}
    data: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _JSON_FIELDS:
            data[name] = json.loads(value) if value else None
        elif value == "" and name in ("error", "started_at", "finished_at"):
            data[name] = None
        elif name == "cancel_requested":
            data[name] = value == "1"
        else:
            data[name] = value
    if data.get("origin") is None:
        data.pop("origin", None)
    if data.get("data") is None:
        data["data"] = {}
    return JobRecord.model_validate(data)
