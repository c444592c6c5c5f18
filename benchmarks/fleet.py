"""A throwaway BeatBot deployment for benchmarks: one Redis, a key prefix, worker processes.

Redis is `REDIS_URL` when set, else an embedded real server in the temp data dir (as
`beatbot serve` would start). Everything written under the prefix is deleted at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, children_of, peak_rss_mib, settle_disk
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle, connect
from bot.services import Services

# Benchmarks measure speed, not the per-user limits: lift them.
UNLIMITED = {
    "BEATBOT_LIMITS__REQUESTS_PER_MINUTE": "1000000",
    "BEATBOT_LIMITS__DAILY_AUDIO_SECONDS": "100000000",
}


@dataclass
class Fleet:
    data_dir: Path
    prefix: str
    handle: RedisHandle
    settings: Settings
    services: Services
    env: dict[str, str]
    workers: list[subprocess.Popen[str]] = field(default_factory=list)

    def start_workers(
        self,
        count: int,
        render_processes: int = 1,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start `count` worker processes (`env`: extra BEATBOT_* overrides) and wait until
        each has warmed up."""
        command = [sys.executable, "-m", "benchmarks.worker_proc", "--data-dir",
                   str(self.data_dir), "--render-processes", str(render_processes)]  # fmt: skip
        started = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(count)
        ]
        self.workers.extend(started)
        deadline = time.monotonic() + timeout
        for process in started:
            assert process.stdout is not None
            while True:
                line = process.stdout.readline()
                if line.strip() == "ready":
                    break
                if not line and process.poll() is not None:
                    raise RuntimeError(f"a benchmark worker exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError("benchmark workers did not start in time")

    def clear_clips(self) -> None:
        """Delete the clips rendered so far and write back the disk cache. On this VM the
        kernel's time grows with the cached clips (a 12-job round's system CPU went from
        1.0 s to 3.1 s once earlier rounds had left about 2 GB), so each round starts
        without the last one's files, as each of the ideal's passes does."""
        for folder in (self.data_dir / "clips").glob("*"):
            shutil.rmtree(folder, ignore_errors=True)
        settle_disk()

    def worker_rss(self) -> tuple[float, float]:
        """(largest worker process, largest process under a worker) peak RSS in MiB."""
        main = [peak_rss_mib(p.pid) for p in self.workers if p.poll() is None]
        alive = [p.pid for p in self.workers if p.poll() is None]
        kids = [peak_rss_mib(child) for pid in alive for child in children_of(pid)]
        return max(main, default=0.0), max(kids, default=0.0)

    def stop_workers(self, timeout: float = 30) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers.clear()


@contextlib.asynccontextmanager
async def fleet(extra_env: dict[str, str] | None = None) -> AsyncIterator[Fleet]:
    with tempfile.TemporaryDirectory(prefix="beatbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        prefix = f"bench-{uuid.uuid4().hex[:10]}"
        overrides = {"BEATBOT_QUEUE__KEY_PREFIX": prefix, **UNLIMITED, **(extra_env or {})}
        handle = connect(os.environ.get("REDIS_URL") or None, data_dir)
        settings = load_settings(data_dir=data_dir, env=overrides)
        services = await Services.open(settings, Secrets.from_env({}), handle, render_processes=1)
        env = {**os.environ, **overrides, "REDIS_URL": handle.url}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        crew = Fleet(data_dir, prefix, handle, settings, services, env)
        try:
            yield crew
        finally:
            crew.stop_workers()
            await _delete_prefixed(services, prefix)
            await services.close()


async def _delete_prefixed(services: Services, prefix: str) -> None:
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        keys = [key async for key in services.redis.scan_iter(match=pattern, count=500)]
        if keys:
            await services.redis.delete(*keys)


async def wait_finished(
    services: Services, job_ids: Iterable[str], since: str, timeout: float
) -> dict[str, tuple[str, float, dict[str, Any]]]:
    """Read the event stream from `since` until every job has finished.

    Returns job id -> (event name, perf_counter when it was read, data) of its first
    `generation:completed`/`failed`; raises TimeoutError naming how many are missing.
    """
    wanted = set(job_ids)
    finished: dict[str, tuple[str, float, dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    position = since
    while wanted - finished.keys():
        if time.monotonic() > deadline:
            missing = len(wanted - finished.keys())
            raise TimeoutError(f"{missing} of {len(wanted)} jobs did not finish in {timeout} s")
        for entry_id, name, data in await services.events.read_since(position, block_ms=200):
            position = entry_id
            job_id = str(data.get("jobId", ""))
            if name in ("generation:completed", "generation:failed") and job_id in wanted:
                finished.setdefault(job_id, (name, time.perf_counter(), data))
    return finished
