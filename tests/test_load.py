"""Load: 50 people in one channel at once, through the DAW API and the chat assistant, while a
real `beatbot worker` process renders.

Every request must be answered, a chat message must be acknowledged quickly (p95 <= 150 ms;
the acknowledgement, not the render), and every job must finish exactly once: one
`generation:completed` per job on the event stream, none failed, none lost.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.daw_server import create_app
from bot.assistant import Assistant
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.jobs import JobState, Origin
from bot.messages import ErrorReply, JobAccepted, Message
from bot.services import Services

TOKEN = "load-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USERS = 50
ACK_P95_MS = 150.0
ROOT = Path(__file__).resolve().parents[1]
GENRES = ("trap", "lo-fi", "boom bap", "house", "drill", "techno", "hip hop", "pop")

# The load is many people, not one: lift the per-person limits so none is refused.
LIFTED = {
    "BEATBOT_LIMITS__REQUESTS_PER_MINUTE": "1000",
    "BEATBOT_LIMITS__DAILY_AUDIO_SECONDS": "1000000",
    "BEATBOT_QUEUE__HEALTH_CHECK_INTERVAL": "1",
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


@dataclass
class Tally:
    """What the simulated people saw."""

    chat_ack_ms: list[float] = field(default_factory=list)
    api_ack_ms: list[float] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    busy_samples: list[int] = field(default_factory=list)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered) + 0.5) - 1)]


@pytest.fixture
def load_settings_(settings: Settings) -> Settings:
    return load_settings(
        data_dir=settings.data_dir,
        env={"BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix, **LIFTED},
    )


@pytest.fixture
async def load_services(
    load_settings_: Settings, redis_handle: RedisHandle, redis_client: Any
) -> AsyncIterator[Services]:
    # `redis_client` first: it deletes this test's keys after the services have closed.
    services = await Services.open(
        load_settings_, Secrets.from_env({}), redis_handle, render_processes=1
    )
    yield services
    await services.close()


@pytest.fixture
def worker_process(
    load_settings_: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `beatbot worker` on this test's queue (shipped config: 2 render processes on
    a 2-core machine, 5 jobs at a time)."""
    env = {
        **os.environ,
        "REDIS_URL": redis_handle.url,
        "BEATBOT_QUEUE__KEY_PREFIX": load_settings_.queue.key_prefix,
        **LIFTED,
    }
    log = (tmp_path / "worker.log").open("wb")
    data_dir = str(load_settings_.data_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "worker", "--data-dir", data_dir],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


async def _wait_for_worker(services: Services, process: subprocess.Popen[bytes]) -> None:
    """arq writes `<queue>:health-check` once its worker is up."""
    key = f"{services.queue.queue_name}:health-check"
    deadline = time.monotonic() + 30
    while not await services.redis.exists(key):
        assert process.poll() is None, "the worker process exited at start-up"
        assert time.monotonic() < deadline, "the worker never reported healthy"
        await asyncio.sleep(0.1)


async def _chat(api: TestClient, user: str, text: str, tally: Tally) -> None:
    """A message typed in the widget, in the channel's shared "studio" thread."""
    started = time.perf_counter()
    response = await api.post(
        "/api/chat", json={"text": text, "thread": "studio"}, headers={**AUTH, "x-user-id": user}
    )
    body = await response.json()
    tally.chat_ack_ms.append((time.perf_counter() - started) * 1000)
    if response.status != 200 or not body.get("replies"):
        tally.unanswered.append(f"{user} chat {text!r}: {response.status} {body}")
        return
    tally.job_ids.extend(r["jobId"] for r in body["replies"] if r["type"] == "accepted")


async def _say(assistant: Assistant, user: str, text: str, tally: Tally) -> None:
    """A message in the shared channel as a chat adapter hands it over; the first Reply is
    the acknowledgement the adapter posts at once."""
    origin = Origin(platform="discord", channel="studio", thread="studio", user=user)
    started = time.perf_counter()
    replies = assistant.handle(Message(text, origin))
    first = await anext(replies)
    tally.chat_ack_ms.append((time.perf_counter() - started) * 1000)
    for reply in (first, *[reply async for reply in replies]):
        if isinstance(reply, ErrorReply):
            tally.unanswered.append(f"{user} assistant {text!r}: {reply.text}")
        if isinstance(reply, JobAccepted):
            tally.job_ids.append(reply.job_id)


async def _beat_by_api(api: TestClient, user: str, genre: str, seconds: int, tally: Tally) -> None:
    started = time.perf_counter()
    response = await api.post(
        "/api/generate/beat",
        json={"genre": genre, "duration": seconds},
        headers={**AUTH, "x-user-id": user},
    )
    body = await response.json()
    tally.api_ack_ms.append((time.perf_counter() - started) * 1000)
    if response.status != 202:
        tally.unanswered.append(f"{user} API beat: {response.status} {body}")
    else:
        tally.job_ids.append(body["jobId"])


async def _person(
    index: int, api: TestClient, assistant: Assistant, tally: Tally, rng: random.Random
) -> None:
    """One person: one beat (through the DAW API, the widget chat or the channel's chat
    adapter, in turn), then a status question and a help/genres question."""
    user = f"user{index:02d}"
    genre = GENRES[index % len(GENRES)]
    seconds = rng.choice((2, 3, 4))
    pause = lambda: asyncio.sleep(rng.uniform(0.1, 0.6))  # noqa: E731
    await asyncio.sleep(rng.uniform(0, 3.0))
    if index % 3 == 0:
        await _beat_by_api(api, user, genre, seconds, tally)
    elif index % 3 == 1:
        await _chat(api, user, f"make a {genre} beat for {seconds} seconds", tally)
    else:
        await _say(assistant, user, f"make a dark {genre} beat for {seconds} seconds", tally)
    await pause()
    await _chat(api, user, "status", tally)
    await pause()
    await _say(assistant, user, rng.choice(("help", "genres", "what's my status")), tally)


async def _watch_queue(services: Services, tally: Tally, stop: asyncio.Event) -> None:
    while not stop.is_set():
        stats = await services.queue.stats()
        tally.busy_samples.append(stats["active"])
        await asyncio.sleep(0.25)


async def _completions(services: Services, job_ids: set[str], timeout: float) -> Counter[str]:
    """Read the whole event stream until every job has an outcome; count completions."""
    deadline = time.monotonic() + timeout
    while True:
        completed: Counter[str] = Counter()
        failed: list[dict[str, Any]] = []
        for _id, name, data in await _whole_stream(services):
            if name == "generation:completed":
                completed[str(data["jobId"])] += 1
            elif name == "generation:failed":
                failed.append(data)
        assert not failed, f"jobs failed under load: {failed[:3]}"
        if job_ids <= completed.keys() or time.monotonic() > deadline:
            return completed
        await asyncio.sleep(0.5)


async def _whole_stream(services: Services) -> list[tuple[str, str, dict[str, Any]]]:
    events: list[tuple[str, str, dict[str, Any]]] = []
    position = "0"
    while batch := await services.events.read_since(position, count=1000):
        events.extend(batch)
        position = batch[-1][0]
    return events


async def test_fifty_people_in_one_channel_under_load(
    load_services: Services,
    worker_process: subprocess.Popen[bytes],
    aiohttp_client: Callable[..., Any],
    tmp_path: Path,
) -> None:
    services = load_services
    api: TestClient = await aiohttp_client(create_app(services, TOKEN))
    assistant = Assistant(services)
    await _wait_for_worker(services, worker_process)
    tally = Tally()

    # Keep the worker busy rendering before and while the people arrive.
    for seconds in (4, 4):
        response = await api.post(
            "/api/generate/beat", json={"genre": "trap", "duration": seconds}, headers=AUTH
        )
        assert response.status == 202, await response.text()
        tally.job_ids.append((await response.json())["jobId"])

    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_queue(services, tally, stop))
    rng = random.Random(11)
    started = time.perf_counter()
    await asyncio.gather(*(_person(i, api, assistant, tally, rng) for i in range(USERS)))
    asked_in = time.perf_counter() - started

    job_ids = set(tally.job_ids)
    completed = await _completions(services, job_ids, timeout=60)
    stop.set()
    await watcher
    took = time.perf_counter() - started

    chat_p95, api_p95 = p95(tally.chat_ack_ms), p95(tally.api_ack_ms)
    print(
        f"\n{USERS} people, {len(tally.chat_ack_ms)} chat messages and "
        f"{len(tally.api_ack_ms)} API requests in {asked_in:.1f} s; {len(job_ids)} jobs done in "
        f"{took:.1f} s. Chat ack p50 {sorted(tally.chat_ack_ms)[len(tally.chat_ack_ms) // 2]:.0f}"
        f" ms, p95 {chat_p95:.0f} ms, max {max(tally.chat_ack_ms):.0f} ms; API ack p95 "
        f"{api_p95:.0f} ms; jobs running while people asked: max {max(tally.busy_samples)}"
    )
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")[-2000:]

    assert not tally.unanswered, tally.unanswered[:5]
    assert len(tally.job_ids) == len(job_ids), "a job id was handed out twice"
    assert len(job_ids) == USERS + 2, "every beat request queues one job"
    assert max(tally.busy_samples) >= 1, "the worker should have been rendering meanwhile"

    lost = job_ids - completed.keys()
    assert not lost, f"{len(lost)} jobs never completed; worker log:\n{worker_log}"
    duplicated = {job: n for job, n in completed.items() if n != 1}
    assert not duplicated, f"completed more than once: {duplicated}"
    assert set(completed) == job_ids, "a completion for a job nobody asked for"

    stats = await services.queue.stats()
    assert stats["completed"] == len(job_ids) and stats["failed"] == 0, stats
    assert stats["waiting"] == 0 and stats["active"] == 0, stats
    for job_id in job_ids:
        record = await services.jobs.get(job_id)
        assert record is not None and record.state is JobState.COMPLETED
        assert record.result is not None
        files = record.result["files"]
        assert all(services.store.local(f["path"]).is_file() for f in files), record.result

    assert chat_p95 <= ACK_P95_MS, (
        f"chat acknowledgement p95 {chat_p95:.0f} ms > {ACK_P95_MS:.0f} ms while workers render"
    )
