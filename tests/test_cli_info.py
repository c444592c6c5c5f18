"""`beatbot --version`, `genres` and `doctor`, run as a person would: real subprocesses.

The doctor's live checks run against the tests' real Redis with this test's key prefix, and
one of them against a real `beatbot worker` process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bot import __version__
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobType
from bot.requests import beat_request
from bot.services import Services

ROOT = Path(__file__).resolve().parents[1]


def beatbot(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        **kw,
    )


def test_version() -> None:
    out = beatbot("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_genres_json_lists_the_fourteen(tmp_path: Path) -> None:
    out = beatbot("genres", "--json", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    genres = json.loads(out.stdout)
    assert [g["name"] for g in genres][:3] == ["trap", "lo-fi", "boom bap"]
    assert len(genres) == 14
    trap = genres[0]
    assert trap["bpmRange"] == [140, 160] and trap["defaultBpm"] == 150


def test_genres_table_mentions_every_genre(tmp_path: Path) -> None:
    out = beatbot("genres", "--data-dir", str(tmp_path))
    assert out.returncode == 0
    for name in ("trap", "drum and bass", "r&b", "rock"):
        assert name in out.stdout


def test_doctor_all_good_with_embedded_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "doctor", "--json", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    report = json.loads(out.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["redis"]["status"] == "ok", checks["redis"]
    assert "embedded" in checks["redis"]["detail"]
    assert checks["data dir"]["status"] == "ok"
    assert checks["ffmpeg"]["status"] == "ok", "install ffmpeg: apt-get install ffmpeg"
    assert checks["discord"]["status"] == "off"
    # Nothing runs on a fresh data dir: no worker is fine while nothing waits for one.
    assert checks["workers"]["status"] == "off", checks["workers"]
    assert "beatbot worker" in checks["workers"]["fix"]
    assert checks["queue"]["status"] == "ok" and "0 waiting" in checks["queue"]["detail"]
    assert out.returncode == 0 and report["ok"] is True


def test_doctor_explains_unreachable_redis_and_bad_slack_config(tmp_path: Path) -> None:
    out = beatbot(
        "doctor",
        "--data-dir",
        str(tmp_path),
        env={"REDIS_URL": "redis://127.0.0.1:1/0", "SLACK_BOT_TOKEN": "xoxb-not-shown"},
    )
    assert out.returncode == 1
    assert "✗ redis" in out.stdout and "REDIS_URL" in out.stdout
    assert "✗ workers" in out.stdout and "Redis is not reachable" in out.stdout
    assert "✗ slack" in out.stdout and "SLACK_SIGNING_SECRET" in out.stdout
    assert "xoxb-not-shown" not in out.stdout + out.stderr


def test_doctor_reports_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    out = beatbot("doctor", "--data-dir", str(blocker / "data"))
    assert out.returncode == 1
    assert "✗ data dir" in out.stdout and "--data-dir" in out.stdout


def test_bad_config_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = beatbot("genres", "--data-dir", str(tmp_path), env={"BEATBOT_QUEUE__MAX_JOBS": "many"})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "queue.max_jobs" in out.stderr
    assert "Traceback" not in out.stderr


# --- the live system ---------------------------------------------------------------------


def live_env(redis_handle: RedisHandle, key_prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a BeatBot process on this test's Redis and queue, no chat tokens."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
    }
    return {
        **env,
        "REDIS_URL": redis_handle.url,
        "BEATBOT_QUEUE__KEY_PREFIX": key_prefix,
        "BEATBOT_QUEUE__HEALTH_CHECK_INTERVAL": "1",
        **extra,
    }


def doctor_json(data_dir: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "doctor", "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    report = json.loads(out.stdout)
    return out.returncode, {c["name"]: c for c in report["checks"]}


@pytest.fixture
def worker(
    redis_handle: RedisHandle, key_prefix: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `beatbot worker` on this test's queue, reporting health every second."""
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "worker", "--data-dir", str(tmp_path / "w")],
        env=live_env(redis_handle, key_prefix),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def wait_for_health(redis_handle: RedisHandle, key_prefix: str, present: bool) -> None:
    client = redis_handle.sync_client()
    try:
        deadline = time.monotonic() + 30
        while bool(client.exists(f"{key_prefix}:queue:health-check")) != present:
            assert time.monotonic() < deadline, f"health-check key never {present=}"
            time.sleep(0.1)
    finally:
        client.close()


def test_doctor_sees_a_live_worker_and_notices_it_stop(
    redis_handle: RedisHandle,
    key_prefix: str,
    redis_client: redis.asyncio.Redis,
    worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    wait_for_health(redis_handle, key_prefix, present=True)
    env = live_env(redis_handle, key_prefix)
    code, checks = doctor_json(tmp_path, env)
    assert code == 0, checks
    assert checks["workers"]["status"] == "ok", checks["workers"]
    assert checks["workers"]["detail"].startswith("alive: reported")
    assert "j_complete=0" in checks["workers"]["detail"]
    assert checks["queue"]["detail"].startswith(f"{key_prefix}:queue: 0 waiting")

    worker.send_signal(signal.SIGTERM)  # arq removes its health record on a clean stop
    worker.wait(30)
    wait_for_health(redis_handle, key_prefix, present=False)
    code, checks = doctor_json(tmp_path, env)
    assert checks["workers"]["status"] == "off", checks["workers"]
    assert code == 0


async def test_doctor_fails_when_jobs_wait_and_no_worker_runs(
    services: Services, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    request = beat_request({"genre": "trap", "duration": 2}, settings)
    await services.queue.enqueue(JobType.BEAT, request.model_dump(mode="json"))
    env = live_env(redis_handle, settings.queue.key_prefix)
    code, checks = await asyncio.to_thread(doctor_json, tmp_path, env)
    assert code == 1
    workers = checks["workers"]
    assert workers["status"] == "missing", workers
    assert "1 job is waiting" in workers["detail"] and "beatbot worker" in workers["fix"]
    assert "1 waiting, 0 running" in checks["queue"]["detail"]


async def test_doctor_shows_how_far_each_adapter_has_read_the_events(
    redis_handle: RedisHandle,
    key_prefix: str,
    redis_client: redis.asyncio.Redis,
    tmp_path: Path,
) -> None:
    # A Slack adapter that has run is a consumer in the "slack" group on the event stream.
    stream = f"{key_prefix}:events"
    await redis_client.xgroup_create(stream, "slack", id="$", mkstream=True)
    await redis_client.xadd(stream, {"name": "generation:started", "data": "{}"})
    await redis_client.xreadgroup("slack", "slack-testhost", {stream: ">"}, count=1)
    await redis_client.xadd(stream, {"name": "generation:progress", "data": "{}"})
    env = live_env(
        redis_handle,
        key_prefix,
        SLACK_BOT_TOKEN="xoxb-doctor-secret",
        SLACK_SIGNING_SECRET="signing-doctor-secret",
        DISCORD_TOKEN="discord-doctor-secret",
    )
    code, checks = await asyncio.to_thread(doctor_json, tmp_path, env)
    slack = checks["slack"]
    assert slack["status"] == "ok"
    assert "1 unacknowledged" in slack["detail"] and "went to slack-testhost" in slack["detail"]
    info = await redis_client.info("server")
    if int(str(info["redis_version"]).split(".")[0]) >= 7:  # Redis 6 doesn't report lag
        assert "1 event behind" in slack["detail"]
    assert checks["discord"]["status"] == "ok"  # configured, though nothing runs it here
    assert "has not read events" in checks["discord"]["detail"]
    assert "secret" not in json.dumps(checks)
    assert code == 0


async def test_doctor_sees_a_chat_adapter_delivering(
    redis_client: redis.asyncio.Redis, redis_handle: RedisHandle, key_prefix: str
) -> None:
    from adapters.cli.info import adapter_readers, check_chat
    from bot.config import Secrets
    from bot.events import EventBus, EventConsumer

    await EventBus(redis_client, key_prefix).publish("daw:transport:sync", {"bpm": 120})
    consumer = EventConsumer(redis_client, key_prefix, "discord", "discord-host1", block_ms=100)
    stop = asyncio.Event()

    async def ignore(_event: object) -> None:
        return None

    task = asyncio.create_task(consumer.run(ignore, stop=stop))
    sync = redis_handle.sync_client()
    try:
        for _ in range(50):
            readers = adapter_readers(sync, key_prefix)
            if readers.get("discord") and readers["discord"].running:
                break
            await asyncio.sleep(0.1)
        secrets = Secrets.from_env({"DISCORD_TOKEN": "t"})
        detail = {c.name: c.detail for c in check_chat(secrets, readers)}["discord"]
        assert "running (discord-host1)" in detail, detail
        stop.set()
        await task
        await redis_client.delete(f"{key_prefix}:alive:discord")  # as if its TTL ran out
        after = check_chat(secrets, adapter_readers(sync, key_prefix))
        assert "not running now" in {c.name: c.detail for c in after}["discord"]
    finally:
        stop.set()
        await task
        sync.close()
