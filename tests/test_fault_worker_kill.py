"""Fault: a `beatbot worker` process is SIGKILLed mid-render.

arq leaves the job's in-progress key behind; once it expires (job_timeout + 10 s) another
worker process runs the job again. The job must finish there, be announced once, and leave
only whole files; the dead worker's render processes must not linger.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
import soundfile

from bot.assistant import Assistant
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState, Origin
from bot.messages import JobAccepted, Message
from bot.services import Services
from engine.audio_io import decode
from tests.fault_procs import WorkerProcess, wait_for, worker_env

JOB_TIMEOUT = 10  # seconds; arq's in-progress key then lives 20 s after the kill
BEAT_SECONDS = 12


async def test_kill_worker_mid_render_second_worker_finishes_once(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    key_prefix: str,
    tmp_path: Path,
) -> None:
    origin = Origin(platform="cli", channel="terminal", thread="kill", user="ada")
    replies = [
        r
        async for r in Assistant(services).handle(
            Message(f"make a dark trap beat at 140 for {BEAT_SECONDS} seconds", origin)
        )
    ]
    accepted = replies[0]
    assert isinstance(accepted, JobAccepted), replies
    job_id = accepted.job_id
    env = worker_env(
        redis_handle.url,
        settings.data_dir,
        key_prefix,
        job_timeout=JOB_TIMEOUT,
        max_jobs=1,
        health_check_interval=1,
    )

    first = WorkerProcess("worker-a", env, tmp_path)
    second: WorkerProcess | None = None
    try:
        # Mid-render: the record shows progress from the render process.
        record = await _wait_record(
            services, job_id, lambda r: r.state is JobState.ACTIVE and r.progress > 0, 60
        )
        assert record.tries == 1
        renderers = [p.pid for p in first.children()]
        assert renderers, "the worker should render in child processes"
        first.kill()
        killed_at = time.monotonic()

        # The dead worker's render and manager processes notice and exit on their own.
        wait_for(
            lambda: not [pid for pid in renderers if _alive(pid)],
            15,
            "the killed worker's render processes to exit",
        )

        second = WorkerProcess("worker-b", env, tmp_path)
        record = await _wait_record(services, job_id, lambda r: r.finished, 90)
        assert record.state is JobState.COMPLETED, (record.error, second.output()[-3000:])
        # arq re-ran it only after the in-progress key expired, and counted the try.
        assert time.monotonic() - killed_at >= JOB_TIMEOUT + 10 - 1
        assert record.tries == 2

        # The record turns "completed" just before the worker announces it: wait for the
        # announcement, then count everything on the stream.
        names: list[str] = []
        for _ in range(100):
            events = [(n, d) for _, n, d in await services.events.read_since("0", count=1000)]
            names = [n for n, d in events if d.get("jobId", d.get("generationId")) is not None]
            if "daw:transport:sync" in names:
                break
            await asyncio.sleep(0.1)
        assert names.count("generation:completed") == 1, names
        assert names.count("generation:started") == 1, names
        assert names.count("daw:audio:loaded") == 1, names
        assert "generation:failed" not in names

        # Whole files: every listed file decodes to the full length; nothing half-written.
        result = record.result
        assert result is not None
        gid = record.generation_id
        stored = {f.name: f for f in services.store.files(gid)}
        assert {Path(f["path"]).name for f in result["files"]} <= {
            Path(name).name for name in stored
        }
        for item in result["files"]:
            path = Path(item["path"])
            assert path.stat().st_size == item["size"] > 0
            if path.suffix == ".mp3":
                assert abs(len(decode(path)) / 44100 - result["duration"]) < 0.2
            elif path.suffix == ".wav":
                info = soundfile.info(str(path))
                assert abs(info.frames / info.samplerate - result["duration"]) < 0.05
        folder = services.store.generation_dir(gid)
        assert not [p for p in folder.rglob("*") if p.name.endswith(".part")]
        assert services.store.read_summary(gid) is not None

        # Logs of the worker that finished it carry the job's ids (structured JSON lines).
        tagged = [line for line in second.json_lines() if line.get("job_id") == job_id]
        assert tagged and all(line["generation_id"] == gid for line in tagged)
        assert any("completed" in line["message"] for line in tagged)
    finally:
        first.stop()
        if second is not None:
            second.stop()


async def _wait_record(services: Services, job_id: str, ok, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        record = await services.queue.status(job_id)
        if ok(record):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck: {record.state} {record.stage}")
        await asyncio.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
