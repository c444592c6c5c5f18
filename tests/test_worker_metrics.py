"""A worker's own metrics count what it ran and how each try ended (real jobs, real Redis)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobType, Origin
from bot.requests import beat_request
from bot.services import Services
from bot.worker_metrics import WorkerMetrics
from tests.workers import run_worker


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


async def test_worker_metrics_count_outcomes_waits_and_running_jobs(
    services: Services, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    origin = Origin(platform="cli", channel="terminal", thread="m1", user="ada")
    beat_data = beat_request({"genre": "house", "duration": 3}, settings)
    await services.queue.enqueue(JobType.BEAT, beat_data.model_dump(mode="json"), origin=origin)
    not_audio = await services.store.save_upload(b"plain text, not audio", "notes.wav")
    await services.queue.enqueue(
        JobType.MASTER, {"track_id": not_audio.file_id, "target_lufs": -14.0}, origin=origin
    )
    metrics = WorkerMetrics()
    await run_worker(settings, redis_handle, metrics=metrics)

    beat, master = JobType.BEAT.value, JobType.MASTER.value
    assert sample(metrics, "beatbot_worker_jobs_total", type=beat, outcome="completed") == 1
    assert sample(metrics, "beatbot_worker_jobs_total", type=master, outcome="failed") == 1
    assert sample(metrics, "beatbot_worker_jobs_total", type=master, outcome="retried") == 0
    assert sample(metrics, "beatbot_worker_job_seconds_count", type=beat) == 1
    assert sample(metrics, "beatbot_worker_queue_wait_seconds_count", type=beat) == 1
    assert sample(metrics, "beatbot_worker_jobs_running") == 0
