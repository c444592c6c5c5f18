"""/ws: the seed's events in order for a real job, resume with ?since=, per-user delivery,
and a client that stops reading never holds up the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from adapters.daw.live import CLIENT_QUEUE, Client, EventHub, stream_order
from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.services import Services
from tests.daw_schemas import Documents, fetch_documents, frames_until
from tests.workers import run_worker

TOKEN = "ws-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DONE = "daw:transport:play"
SMALL_STREAM = {"BEATBOT_QUEUE__STREAM_MAXLEN": "100"}  # the smallest cap config allows


@pytest.fixture
async def api(services: Services, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(services, TOKEN))


@pytest.fixture
async def documents(api: TestClient) -> Documents:
    return await fetch_documents(api, TOKEN)


async def test_daw_ws_sends_the_seed_events_in_order_and_resumes(
    api: TestClient, documents: Documents, settings: Settings, redis_handle: RedisHandle
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
    frames = await frames_until(ws, DONE, documents)
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
    replay = await frames_until(resumed, DONE, documents)
    await resumed.close()
    assert [f["id"] for f in replay] == [f["id"] for f in frames[2:]]


async def test_daw_ws_only_delivers_a_users_own_events(
    api: TestClient, documents: Documents, settings: Settings, redis_handle: RedisHandle
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
        frames = await frames_until(ws, "daw:transport:sync", documents)
        jobs = {f["data"].get("jobId") for f in frames} - {None}
        assert len(jobs) == 1, f"{user} saw another user's job"
        await ws.close()


async def test_daw_ws_rejects_bad_since_and_missing_token(api: TestClient) -> None:
    response = await api.get(f"/ws?token={TOKEN}&since=yesterday")
    assert response.status == 400 and "since" in (await response.json())["error"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
        await api.ws_connect("/ws")
    assert excinfo.value.status == 401
    plain = await api.get(f"/ws?token={TOKEN}")  # no Upgrade: it says what this address is
    assert plain.status == 426 and "WebSocket" in (await plain.json())["error"]


async def test_daw_ws_since_in_the_future_gets_an_error_frame_and_close_1008(
    api: TestClient, documents: Documents, services: Services
) -> None:
    origin = {"user": "ada", "platform": "api"}
    newest = await services.events.publish("daw:transport:sync", {"bpm": 90, "origin": origin})
    ms = int(newest.split("-")[0]) + 3_600_000  # an hour ahead of the stream
    ws = await api.ws_connect(f"/ws?token={TOKEN}&user=ada&since={ms}-0")
    refusal = await asyncio.wait_for(ws.receive_json(), timeout=5)
    documents.check_frame(refusal)
    assert refusal["event"] == "stream:error" and refusal["id"] is None
    assert refusal["data"]["newestId"] == newest and "since=0" in refusal["data"]["error"]
    closing = await asyncio.wait_for(ws.receive(), timeout=5)
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008
    assert "newer" in closing.extra

    # since=$ means "only what is new": the socket then hears the next event.
    live = await api.ws_connect(f"/ws?token={TOKEN}&user=ada&since=$")
    await asyncio.sleep(0.2)
    later = await services.events.publish("daw:transport:sync", {"bpm": 91, "origin": origin})
    frames = await frames_until(live, "daw:transport:sync", documents)
    assert [f["id"] for f in frames] == [later]
    await live.close()


async def test_daw_ws_since_trimmed_from_the_stream_gets_a_gap_frame_first(
    aiohttp_client: Callable[..., Any],
    redis_handle: RedisHandle,
    redis_client: Redis,
    settings: Settings,
) -> None:
    custom = load_settings(
        data_dir=settings.data_dir,
        env={"BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix, **SMALL_STREAM},
    )
    services = await Services.open(custom, Secrets.from_env({}), redis_handle, render_processes=1)
    try:
        api: TestClient = await aiohttp_client(create_app(services, TOKEN))
        documents = await fetch_documents(api, TOKEN)
        ada, bob = {"user": "ada"}, {"user": "bob"}
        seen = await services.events.publish("daw:transport:sync", {"bpm": 90, "origin": ada})
        for bpm in range(400):  # someone else's busy evening pushes ada's events off the cap
            await services.events.publish("daw:transport:sync", {"bpm": 60 + bpm, "origin": bob})
        missed = await services.events.publish("daw:transport:sync", {"bpm": 92, "origin": ada})
        oldest = (await redis_client.xrange(services.events.stream, count=1))[0][0].decode()
        assert stream_order(oldest) > stream_order(seen)  # the cap trimmed past what ada saw

        ws = await api.ws_connect(f"/ws?token={TOKEN}&user=ada&since={seen}")
        gap = await asyncio.wait_for(ws.receive_json(), timeout=5)
        documents.check_frame(gap)
        assert gap["event"] == "stream:gap" and gap["id"] is None
        assert gap["data"]["since"] == seen and gap["data"]["firstId"] == oldest
        rest = await asyncio.wait_for(ws.receive_json(), timeout=5)
        documents.check_frame(rest)
        assert rest["id"] == missed and rest["data"]["bpm"] == 92
        await ws.close()

        # A since still on the stream replays without a gap frame.
        ws = await api.ws_connect(f"/ws?token={TOKEN}&user=bob&since={oldest}")
        first = await asyncio.wait_for(ws.receive_json(), timeout=5)
        assert stream_order(first["id"]) > stream_order(oldest)
        await ws.close()
    finally:
        await services.close()


async def test_daw_ws_slow_client_is_dropped_while_others_get_everything(
    services: Services,
) -> None:
    hub = EventHub(services, block_ms=100)
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
