"""/ws: the seed's events in order for a real job, resume with ?since=, per-user delivery,
and a client that stops reading never holds up the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from adapters.daw.live import CLIENT_QUEUE, Client, EventHub
from adapters.daw_server import create_app
from bot.config import Settings
from bot.connections import RedisHandle
from bot.services import Services
from tests.workers import run_worker

TOKEN = "ws-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DONE = "daw:transport:play"


@pytest.fixture
async def api(services: Services, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(services, TOKEN))


async def frames_until(ws: aiohttp.ClientWebSocketResponse, last: str) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), timeout=30)
        frames.append(frame)
        if frame["event"] == last:
            return frames


async def test_daw_ws_sends_the_seed_events_in_order_and_resumes(
    api: TestClient, settings: Settings, redis_handle: RedisHandle
) -> None:
    ws = await api.ws_connect(f"/ws?token={TOKEN}&user=ada")
    await asyncio.sleep(0.2)  # let the hub pick the stream position up
    response = await api.post(
        "/api/generate/beat",
        json={"genre": "trap", "bpm": 140, "key": "Fm", "duration": 6, "autoPlay": True},
        headers={**AUTH, "x-user-id": "ada"},
    )
    queued = await response.json()
    await run_worker(settings, redis_handle)
    frames = await frames_until(ws, DONE)
    await ws.close()

    names = [f["event"] for f in frames]
    progress = [f for f in frames if f["event"] == "generation:progress"]
    assert names[0] == "generation:started"
    assert names[-4:] == [
        "generation:completed",
        "daw:audio:loaded",
        "daw:transport:sync",
        "daw:transport:play",
    ]
    assert set(names[1:-4]) == {"generation:progress"} and len(progress) >= 3
    percents = [f["data"]["percent"] for f in progress]
    assert percents == sorted(percents) and all(f["data"]["stage"] for f in progress)
    for frame in frames:
        assert frame["id"] and "timestamp" in frame["data"] and "origin" not in frame["data"]
        if frame["event"].startswith("generation:"):
            assert frame["data"]["jobId"] == queued["jobId"]
            assert frame["data"]["generationId"] == queued["generationId"]

    completed, loaded, sync, play = (f["data"] for f in frames[-4:])
    assert completed["result"]["bpm"] == 140 and completed["result"]["audioUrl"]
    assert [a["label"] for a in completed["actions"]][:3] == ["Variation", "Faster", "Slower"]
    assert loaded["trackName"] == "trap - 140 BPM" and loaded["autoPlay"] is True
    assert loaded["clip"]["bpm"] == 140 and loaded["clip"]["key"] == "Fm"
    assert loaded["clip"]["url"] and loaded["clip"]["duration"] == pytest.approx(6.9, abs=0.2)
    assert sync["bpm"] == 140 and play["clipId"] == loaded["clipId"]

    # A DAW that dropped after the first progress frame gets exactly the rest on reconnect.
    resumed = await api.ws_connect(f"/ws?token={TOKEN}&user=ada&since={frames[1]['id']}")
    replay = await frames_until(resumed, DONE)
    await resumed.close()
    assert [f["id"] for f in replay] == [f["id"] for f in frames[2:]]


async def test_daw_ws_only_delivers_a_users_own_events(
    api: TestClient, settings: Settings, redis_handle: RedisHandle
) -> None:
    mine = await api.ws_connect(f"/ws?token={TOKEN}&user=ada")
    theirs = await api.ws_connect(f"/ws?token={TOKEN}&user=bob")
    await asyncio.sleep(0.2)
    for user in ("bob", "ada"):
        response = await api.post(
            "/api/generate/beat",
            json={"genre": "house", "duration": 4},
            headers={**AUTH, "x-user-id": user},
        )
        assert response.status == 202
    await run_worker(settings, redis_handle)
    for ws, user in ((mine, "ada"), (theirs, "bob")):
        frames = await frames_until(ws, "daw:transport:sync")
        jobs = {f["data"].get("jobId") for f in frames} - {None}
        assert len(jobs) == 1, f"{user} saw another user's job"
        await ws.close()


async def test_daw_ws_rejects_bad_since_and_missing_token(api: TestClient) -> None:
    response = await api.get(f"/ws?token={TOKEN}&since=yesterday")
    assert response.status == 400 and "since" in (await response.json())["error"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
        await api.ws_connect("/ws")
    assert excinfo.value.status == 401


async def test_daw_ws_slow_client_is_dropped_while_others_get_everything(
    services: Services,
) -> None:
    hub = EventHub(services.events, services.store, block_ms=100)
    await hub.start()
    fast, slow = Client("ada"), Client("ada")
    hub.clients |= {fast, slow}
    received: list[str] = []

    async def read_fast() -> None:
        while len(received) < CLIENT_QUEUE + 50:
            frame = await fast.queue.get()
            assert frame is not None
            received.append(frame["id"])

    reader = asyncio.create_task(read_fast())
    origin = {"user": "ada", "platform": "api"}
    ids = [
        await services.events.publish("daw:transport:sync", {"bpm": 100 + i, "origin": origin})
        for i in range(CLIENT_QUEUE + 50)
    ]
    await asyncio.wait_for(reader, timeout=20)
    await hub.stop()
    assert received == ids  # the reader got every event, in order
    assert slow.dropped and slow.queue.qsize() == CLIENT_QUEUE  # the other was cut loose
