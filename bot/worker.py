"""The arq worker: BeatBot's four tasks with the queue's limits, tries and timeouts.

`beatbot worker` runs one of these against `REDIS_URL`; scale out by starting more, on any
machine that reaches the same Redis. `beatbot serve` and `beatbot chat` run one in-process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from arq.cron import cron
from arq.utils import timestamp_ms
from arq.worker import Worker, func
from redis.exceptions import RedisError

from bot import disk, keys
from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.services import Services
from bot.tasks import TASKS, prune_files
from bot.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)


class RenderWorker(Worker):
    """An arq Worker that takes a job off the queue only when a render process is free for it,
    and looks for the next job as soon as one is.

    Plain arq takes up to `max_jobs` at once. With fewer render processes than that, the
    extra jobs would wait inside this worker while another worker, with idle processes,
    found the queue empty (measured: 2 one-process workers reached 0.51 of ideal throughput).
    `max_jobs` stays the cap on jobs at once. Plain arq also looks at the queue only every
    `poll_delay`, so a freed render process would idle until the next look.
    """

    def __init__(self, *args: Any, render_slots: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.render_slots = max(1, render_slots)
        # A poll and a wake-up must not both fill the one free slot.
        self._starting = asyncio.Lock()
        self._wake_ups: set[asyncio.Task[None]] = set()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq hands over every queued id it read (running ones included, they stay queued
        # until done); start them one by one while a render process is free.
        async with self._starting:
            for job_id in job_ids:
                if self.job_counter >= min(self.max_jobs, self.render_slots):
                    return
                before = self.tasks.get(job_id.decode())
                await super().start_jobs([job_id])
                started = self.tasks.get(job_id.decode())
                if started is not None and started is not before:
                    started.add_done_callback(self._job_ended)

    def _job_ended(self, _: asyncio.Task[Any]) -> None:
        # arq's own callback on the task, added before this one, has freed the job's slot.
        if self.allow_pick_jobs and not (self.burst and self.max_burst_jobs >= 0):
            task = asyncio.get_running_loop().create_task(self._take_next())
            self._wake_ups.add(task)
            task.add_done_callback(self._wake_ups.discard)

    async def _take_next(self) -> None:
        """A job just ended: start the next queued one now instead of at the next poll."""
        if self._pool is None:  # closing
            return
        try:
            job_ids = await self.pool.zrangebyscore(
                self.queue_name,
                min=float("-inf"),
                max=timestamp_ms(),
                start=getattr(self, "_queue_read_offset", 0),  # as arq polls
                num=self.queue_read_limit,
            )
            await self.start_jobs(job_ids)
        except (RedisError, OSError) as exc:
            # Redis is restarting or gone: the regular poll picks the job up once it's back.
            log.debug("looking for the next job failed (%s); the next poll will", exc)

    def handle_sig(self, signum: signal.Signals) -> None:
        self.allow_pick_jobs = False  # the jobs it cancels must not wake up new ones
        super().handle_sig(signum)

    async def close(self) -> None:
        self.allow_pick_jobs = False  # no wake-up may start a job while the worker closes
        for task in list(self._wake_ups):
            task.cancel()
        await super().close()


def build_worker(
    settings: Settings,
    secrets: Secrets,
    handle: RedisHandle,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    render_processes: int | None = None,
    metrics: WorkerMetrics | None = None,
    **overrides: Any,
) -> RenderWorker:
    """An arq Worker whose context carries BeatBot's services (opened on start-up) and its
    metrics (`metrics`, or its own)."""
    queue = settings.queue
    metrics = metrics or WorkerMetrics()
    render_processes = render_processes or default_render_processes(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["metrics"] = metrics
        ctx["services"] = await Services.open(
            settings, secrets, handle, render_processes=render_processes
        )
        await disk.keep_within_budget(ctx["services"])  # storage.max_gb, oldest out first

    async def shutdown(ctx: dict[str, Any]) -> None:
        services: Services | None = ctx.get("services")
        if services is not None:
            await services.close()

    options: dict[str, Any] = {
        "functions": [func(task, name=task.__name__, max_tries=queue.max_tries) for task in TASKS],
        "cron_jobs": [cron(prune_files, minute=17, run_at_startup=False, unique=True)],
        "queue_name": keys.queue(queue.key_prefix),
        "redis_settings": handle.arq_settings(),
        "max_jobs": queue.max_jobs,
        "job_timeout": queue.job_timeout,
        "max_tries": queue.max_tries,
        "allow_abort_jobs": True,
        "health_check_interval": queue.health_check_interval,
        "on_startup": startup,
        "after_job_end": disk.after_job,
        "on_shutdown": shutdown,
        "burst": burst,
        "handle_signals": handle_signals,
        # On SIGTERM/SIGINT let running renders finish (they are short) before re-queueing.
        "job_completion_wait": queue.job_timeout if handle_signals else 0,
        "poll_delay": 0.1,
        "keep_result": 3600,
    }
    options.update(overrides)
    return RenderWorker(render_slots=render_processes, **options)


def default_render_processes(settings: Settings) -> int:
    """One render process per core, never more than the jobs a worker runs at once."""
    return max(1, min(settings.queue.max_jobs, os.cpu_count() or 1))
