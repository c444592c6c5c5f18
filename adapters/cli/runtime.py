"""Start and stop what a long-running command needs: Redis, services, an in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from arq.worker import Worker

from bot.config import Secrets, Settings
from bot.connections import connect
from bot.services import Services
from bot.worker import build_worker

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_services(
    settings: Settings, *, with_worker: bool, drain: float = 0.0
) -> AsyncIterator[Services]:
    """Services on the configured Redis (embedded when no REDIS_URL), plus a worker task;
    on exit, running jobs get `drain` seconds to finish before they are re-queued."""
    secrets = Secrets.from_env(os.environ)
    handle = connect(secrets.redis_url, settings.data_dir)
    services = await Services.open(settings, secrets, handle)
    worker: Worker | None = None
    task: asyncio.Task[None] | None = None
    if with_worker:
        worker = build_worker(settings, secrets, handle, handle_signals=False)
        task = asyncio.create_task(worker.async_run())
    try:
        yield services
    finally:
        if worker is not None and task is not None:
            await stop_worker(worker, task, wait=drain)
        await services.close()


async def stop_worker(worker: Worker, task: asyncio.Task[None], wait: float = 0.0) -> None:
    """Let running jobs finish for up to `wait` seconds, then re-queue what is left."""
    worker.allow_pick_jobs = False
    if wait > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_idle(worker), wait)
    await worker.close()  # cancels what still runs (arq re-queues it) and the main loop
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _idle(worker: Worker) -> None:
    while any(not t.done() for t in worker.tasks.values()):
        await asyncio.sleep(0.1)
