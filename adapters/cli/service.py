"""`beatbot worker` and `beatbot serve`: the long-running processes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import click

from adapters.cli.common import ensure_data_dir, with_settings
from bot.config import Secrets, Settings
from bot.connections import connect
from bot.worker import build_worker

log = logging.getLogger(__name__)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.command()
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@with_settings
def worker(burst: bool, verbose: bool, settings: Settings) -> None:
    """Run an arq worker on REDIS_URL (or the data dir's embedded Redis). Start more to scale."""
    _configure_logging(verbose)
    ensure_data_dir(settings)
    secrets = Secrets.from_env(os.environ)
    handle = connect(secrets.redis_url, settings.data_dir)
    click.echo(f"worker on {handle.describe()}, queue {settings.queue.key_prefix}:queue")
    # arq handles SIGINT/SIGTERM itself: running renders finish, then it exits.
    build_worker(settings, secrets, handle, burst=burst).run()


@click.command()
@click.option("--no-worker", is_flag=True, help="Only the adapters; workers run elsewhere.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@with_settings
def serve(no_worker: bool, verbose: bool, settings: Settings) -> None:
    """Run BeatBot's service: Redis (embedded unless REDIS_URL) and an in-process worker."""
    _configure_logging(verbose)
    ensure_data_dir(settings)
    asyncio.run(_serve(settings, with_worker=not no_worker))


async def _serve(settings: Settings, *, with_worker: bool) -> None:
    from adapters.cli.runtime import stop_worker

    secrets = Secrets.from_env(os.environ)
    handle = connect(secrets.redis_url, settings.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    worker_task = None
    arq_worker = None
    if with_worker:
        arq_worker = build_worker(settings, secrets, handle, handle_signals=False)
        worker_task = asyncio.create_task(arq_worker.async_run())
    click.echo(f"BeatBot serving on {handle.describe()}; worker: {'on' if with_worker else 'off'}")
    await stop.wait()
    click.echo("shutting down: letting running jobs finish…")
    if arq_worker is not None and worker_task is not None:
        await stop_worker(arq_worker, worker_task, wait=float(settings.queue.job_timeout))
    click.echo("bye")
