"""A worker's own Prometheus metrics: what it ran, how each job ended, how long it took.

The serve process's /metrics counts jobs from the event stream; these add what only the
worker sees (retries, time waiting in the queue, jobs running right now, jobs it took over
from dead workers). `beatbot worker
--metrics-port N` serves them.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.jobs import JobRecord


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.outcomes = Counter(
            "beatbot_worker_jobs",
            "Job tries this worker finished, by type and outcome.",
            ["type", "outcome"],  # completed | failed | retried | cancelled | requeued
            registry=self.registry,
        )
        self.seconds = Histogram(
            "beatbot_worker_job_seconds",
            "Seconds one try of a job ran on this worker, by type.",
            ["type"],
            buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.waited = Histogram(
            "beatbot_worker_queue_wait_seconds",
            "Seconds a job waited in the queue before its first try started.",
            ["type"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.taken_over = Counter(
            "beatbot_worker_jobs_taken_over",
            "Jobs of dead workers (heartbeat gone) this worker put back on the queue.",
            registry=self.registry,
        )
        self.running = Gauge(
            "beatbot_worker_jobs_running", "Jobs running on this worker.", registry=self.registry
        )

    def started(self, record: JobRecord, tries: int) -> float:
        self.running.inc()
        if tries == 1:
            self.waited.labels(record.type.value).observe(max(0.0, time.time() - record.created_at))
        return time.monotonic()

    def ended(self, record: JobRecord, outcome: str, since: float) -> None:
        self.running.dec()
        self.outcomes.labels(record.type.value, outcome).inc()
        self.seconds.labels(record.type.value).observe(time.monotonic() - since)
