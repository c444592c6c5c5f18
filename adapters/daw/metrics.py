"""/metrics in Prometheus text format: jobs by type and state, durations, queue depth, clients.

Job counts and durations come from the event stream the server already tails, so they
count work done by every worker on this Redis, not only an in-process one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.events import EventBus
from bot.jobs import JobBook

log = logging.getLogger(__name__)

_STATES = {
    "generation:started": "started",
    "generation:completed": "completed",
    "generation:failed": "failed",
}


class Metrics:
    def __init__(self, events: EventBus, jobs: JobBook) -> None:
        self.events = events
        self.jobs = jobs
        self.registry = CollectorRegistry()
        self.jobs_total = Counter(
            "beatbot_jobs",
            "Jobs seen on the event stream, by type and state.",
            ["type", "state"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "beatbot_job_duration_seconds",
            "Seconds from a job starting to its result, by type.",
            ["type"],
            buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.queue = Gauge(
            "beatbot_queue_jobs", "Jobs in the queue, by state.", ["state"], registry=self.registry
        )
        self.ws_clients = Gauge(
            "beatbot_websocket_clients", "Connected WebSocket clients.", registry=self.registry
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(await self.events.last_id()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, position: str) -> None:
        while True:
            try:
                batch = await self.events.read_since(position, block_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("metrics: event stream read failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for entry_id, name, data in batch:
                position = entry_id
                await self.observe(name, data)

    async def observe(self, name: str, data: dict[str, Any]) -> None:
        state = _STATES.get(name)
        if state is None:
            return
        record = await self.jobs.get(str(data.get("jobId", "")))
        job_type = str(data.get("type") or (record.type.value if record else "unknown"))
        self.jobs_total.labels(job_type, state).inc()
        if state != "started" and record and record.started_at and record.finished_at:
            self.duration.labels(job_type).observe(max(0.0, record.finished_at - record.started_at))

    async def render(self, queue_stats: dict[str, int], clients: int) -> bytes:
        for state in ("waiting", "active", "completed", "failed"):
            self.queue.labels(state).set(queue_stats.get(state, 0))
        self.ws_clients.set(clients)
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)
CONTENT_TYPE = CONTENT_TYPE_LATEST
