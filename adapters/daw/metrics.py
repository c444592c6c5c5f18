"""/metrics in Prometheus text format: jobs by type and state, durations, queue depth, clients.

Job counts and durations are observed on the event stream the server already tails for its
WebSockets (`EventHub.observers`), so they count work done by every worker on this Redis,
not only an in-process one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.jobs import JobBook

_STATES = {
    "generation:started": "started",
    "generation:completed": "completed",
    "generation:failed": "failed",
}


class Metrics:
    def __init__(self, jobs: JobBook) -> None:
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

    async def observe(self, name: str, data: dict[str, Any]) -> None:
        state = _STATES.get(name)
        if state is None:
            return
        # The record is needed for a duration, or for the type when the event lacks it.
        needs_record = state != "started" or not data.get("type")
        record = await self.jobs.get(str(data.get("jobId", ""))) if needs_record else None
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
