"""The arq worker: BeatBot's four tasks with the queue's limits, tries and timeouts.

`beatbot worker` runs one of these against `REDIS_URL`; scale out by starting more, on any
machine that reaches the same Redis. `beatbot serve` and `beatbot chat` run one in-process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.cron import cron
from arq.utils import timestamp_ms
from arq.worker import Worker, func
from redis.exceptions import RedisError, ResponseError, WatchError

from bot import disk, keys
from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.liveness import BEAT_EVERY, HEARTBEAT_TTL, Liveness, new_worker_id
from bot.services import Services
from bot.tasks import TASKS, announce_retry, prune_files
from bot.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)

# A stop that arrives while a worker is starting waits this long for the start-up to end:
# cancelled halfway, the Redis pools and render processes it was opening would stay open
# (and keep an embedded Redis running after the process ends).
STARTUP_WAIT = 30.0


class RenderWorker(Worker):
    """An arq Worker that takes a job off the queue only when a render process is free for it,
    and looks for the next job as soon as one is.

    Plain arq takes up to `max_jobs` at once. With fewer render processes than that, the
    extra jobs would wait inside this worker while another worker, with idle processes,
    found the queue empty (measured: 2 one-process workers reached 0.51 of ideal throughput).
    `max_jobs` stays the cap on jobs at once. Plain arq also looks at the queue only every
    `poll_delay`, so a freed render process would idle until the next look.

    Its claim on a job (arq's in-progress key) holds `worker_id`, so when its heartbeat
    stops (`bot.liveness`) another worker's reaper knows which jobs to put back.

    A stop (a signal, or `close`) during start-up waits for the start-up to end first.
    """

    def __init__(self, *args: Any, render_slots: int, worker_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.render_slots = max(1, render_slots)
        self.worker_id = worker_id
        # A poll and a wake-up must not both fill the one free slot.
        self._starting = asyncio.Lock()
        self._wake_ups: set[asyncio.Task[None]] = set()
        self._started = asyncio.Event()
        self._stops: set[asyncio.Task[None]] = set()
        product_startup = self.on_startup

        async def startup(ctx: dict[str, Any]) -> None:
            try:
                if product_startup is not None:
                    await product_startup(ctx)
            finally:
                self._started.set()

        self.on_startup = startup

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq hands over every queued id it read (running ones included, they stay queued
        # until done); start them one by one while a render process is free.
        async with self._starting:
            for job_id in job_ids:
                if self.job_counter >= min(self.max_jobs, self.render_slots):
                    return
                await self._claim_and_start(job_id.decode())

    async def _claim_and_start(self, job_id: str) -> None:
        """arq 0.28's `Worker.start_jobs` for one job, with this worker's id as the claim."""
        await self.sem.acquire()
        self.job_counter += 1
        claimed = False
        try:
            claim = in_progress_key_prefix + job_id
            async with self.pool.pipeline(transaction=True) as pipe:
                await pipe.watch(claim)
                ongoing = await pipe.exists(claim)
                score = await pipe.zscore(self.queue_name, job_id)
                if ongoing or not score or score > timestamp_ms():
                    return  # running elsewhere, finished, or deferred by a retry
                pipe.multi()
                pipe.psetex(claim, int(self.in_progress_timeout_s * 1000), self.worker_id)
                try:
                    await pipe.execute()
                except (ResponseError, WatchError):
                    return  # another worker claimed it since we looked
            claimed = True
        finally:
            if not claimed:
                self.job_counter -= 1
                self.sem.release()
        task = self.loop.create_task(self.run_job(job_id, int(score)))
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        task.add_done_callback(self._job_ended)
        self.tasks[job_id] = task

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
        self._once_started(lambda: Worker.handle_sig(self, signum))

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        self.allow_pick_jobs = False
        self._once_started(lambda: Worker.handle_sig_wait_for_completion(self, signum))

    def _once_started(self, stop: Callable[[], None]) -> None:
        main = self.main_task
        if self._started.is_set() or main is None or main.done():
            stop()
            return

        async def after_start_up() -> None:
            await self._until_started()
            stop()

        task = asyncio.get_running_loop().create_task(after_start_up())
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)

    async def _until_started(self) -> None:
        main = self.main_task
        if self._started.is_set() or main is None or main.done():
            return
        started = asyncio.ensure_future(self._started.wait())
        try:
            await asyncio.wait(
                {started, main}, timeout=STARTUP_WAIT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            started.cancel()

    async def close(self) -> None:
        self.allow_pick_jobs = False  # no wake-up may start a job while the worker closes
        for task in list(self._wake_ups):
            task.cancel()
        await self._until_started()
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
    heartbeat: tuple[float, float] = (BEAT_EVERY, HEARTBEAT_TTL),
    **overrides: Any,
) -> RenderWorker:
    """An arq Worker whose context carries BeatBot's services (opened on start-up), its
    metrics (`metrics`, or its own) and its liveness (`heartbeat`: seconds between beats,
    and how long after the last one it counts as dead)."""
    queue = settings.queue
    metrics = metrics or WorkerMetrics()
    render_processes = render_processes or default_render_processes(settings)
    worker_id = new_worker_id()
    queue_name = keys.queue(queue.key_prefix)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["metrics"] = metrics
        services = ctx["services"] = await Services.open(
            settings, secrets, handle, render_processes=render_processes
        )
        await disk.keep_within_budget(ctx["services"])  # storage.max_gb, oldest out first
        await services.pool.started()  # before the heartbeat: the first job starts at once

        async def on_lost(job_id: str) -> None:
            metrics.taken_over.inc()
            await announce_retry(services, job_id)

        liveness = ctx["liveness"] = Liveness(
            services.redis,
            queue.key_prefix,
            queue_name,
            worker_id,
            on_lost=on_lost,
            beat_every=heartbeat[0],
            ttl=heartbeat[1],
        )
        await liveness.start()

    async def shutdown(ctx: dict[str, Any]) -> None:
        # arq calls this once this worker's jobs have ended (or gone back on the queue).
        liveness: Liveness | None = ctx.get("liveness")
        if liveness is not None:
            await liveness.stop()
        services: Services | None = ctx.get("services")
        if services is not None:
            await services.close()

    # A try lost with its worker counts as a try in arq; arq itself may start one more than
    # `max_tries`, so the job, not arq, says "I gave up" (`bot.tasks`) with a sentence.
    tries = queue.max_tries + 1
    options: dict[str, Any] = {
        "functions": [func(task, name=task.__name__, max_tries=tries) for task in TASKS],
        "cron_jobs": [cron(prune_files, minute=17, run_at_startup=False, unique=True)],
        "queue_name": queue_name,
        "redis_settings": handle.arq_settings(),
        "max_jobs": queue.max_jobs,
        "job_timeout": queue.job_timeout,
        "max_tries": tries,
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
    return RenderWorker(render_slots=render_processes, worker_id=worker_id, **options)


def default_render_processes(settings: Settings) -> int:
    """One render process per core, never more than the jobs a worker runs at once."""
    return max(1, min(settings.queue.max_jobs, os.cpu_count() or 1))
