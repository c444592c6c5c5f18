"""The DAW server's REST API end to end: aiohttp's test client, a real Redis, the real worker,
real audio downloaded through signed links and measured."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pyloudnorm
import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.services import Services
from engine.audio_io import decode
from tests.audio_fixtures import write_tone
from tests.workers import run_worker

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

ClientFactory = Callable[..., Any]


@pytest.fixture
async def api(services: Services, aiohttp_client: ClientFactory) -> TestClient:
    # `services` first, so it closes after the app has stopped tailing the event stream.
    return await aiohttp_client(create_app(services, TOKEN))


@contextlib.asynccontextmanager
async def client_with(
    aiohttp_client: ClientFactory, redis_handle: RedisHandle, settings: Settings, **env: str
) -> AsyncIterator[tuple[TestClient, Services]]:
    """A client on settings with overrides (BEATBOT_<SECTION>__<KEY>)."""
    custom = load_settings(
        data_dir=settings.data_dir,
        env={"BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix, **env},
    )
    services = await Services.open(custom, Secrets.from_env({}), redis_handle, render_processes=1)
    client = await aiohttp_client(create_app(services, TOKEN))
    try:
        yield client, services
    finally:
        await client.close()
        await services.close()


def local(url: str) -> str:
    """A signed link's path and query, to fetch it through the test client."""
    parsed = URL(url)
    return str(parsed.relative())


def lufs_of(data: bytes, tmp_path: Path, name: str) -> tuple[float, float]:
    """(integrated LUFS, seconds) of encoded audio, decoded with ffmpeg."""
    path = tmp_path / name
    path.write_bytes(data)
    audio = decode(path)
    meter = pyloudnorm.Meter(44100)
    return float(meter.integrated_loudness(audio.astype(np.float64))), len(audio) / 44100


async def upload(api: TestClient, path: Path, **headers: str) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", path.read_bytes(), filename=path.name, content_type="audio/wav")
    response = await api.post("/api/files", data=form, headers={**AUTH, **headers})
    body = await response.json()
    assert response.status == 201, body
    return body


async def test_daw_beat_is_queued_rendered_and_downloadable_with_range(
    api: TestClient, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    response = await api.post(
        "/api/generate/beat",
        json={"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 8},
        headers={**AUTH, "x-user-id": "user-123"},
    )
    queued = await response.json()
    assert response.status == 202, queued
    assert queued["success"] is True and queued["message"] == "Beat generation job queued"
    job = queued["jobId"]
    status = await (await api.get(f"/api/generate/status/{job}", headers=AUTH)).json()
    assert status["status"]["state"] == "waiting" and status["status"]["progress"] == 0
    early = await api.get(f"/api/generate/result/{job}", headers=AUTH)
    assert early.status == 409 and "isn't ready" in (await early.json())["error"]

    await run_worker(settings, redis_handle)

    status = (await (await api.get(f"/api/generate/status/{job}", headers=AUTH)).json())["status"]
    assert (status["jobId"], status["generationId"]) == (job, queued["generationId"])
    assert status["state"] == "completed" and status["progress"] == 100
    assert status["data"]["genre"] == "trap" and status["data"]["bpm"] == 140
    body = await (await api.get(f"/api/generate/result/{job}", headers=AUTH)).json()
    result = body["result"]["result"]
    assert body["success"] and body["result"]["completedAt"] > 0
    assert (result["genre"], result["bpm"], result["key"]) == ("trap", 140, "Cm")
    assert result["metadata"] == {
        "format": "mp3",
        "bitrate": 320,
        "sampleRate": 44100,
        "channels": 2,
    }
    assert all("path" not in f for f in result["files"])  # no server paths leak

    clip = await api.get(local(result["audioUrl"]))
    assert clip.status == 200 and clip.headers["Content-Type"] == "audio/mpeg"
    data = await clip.read()
    loudness, seconds = lufs_of(data, tmp_path, "beat.mp3")
    assert loudness == pytest.approx(-14.0, abs=0.5)
    assert seconds == pytest.approx(result["duration"], abs=0.1)

    part = await api.get(local(result["audioUrl"]), headers={"Range": "bytes=100-1099"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert await part.read() == data[100:1100]
    tampered = await api.get(local(result["audioUrl"]).replace("sig=", "sig=x"))
    assert tampered.status == 403 and (await tampered.json())["success"] is False

    history = await (
        await api.get("/api/history", headers={**AUTH, "x-user-id": "user-123"})
    ).json()
    assert [h["generationId"] for h in history["history"]] == [queued["generationId"]]
    again = await api.get(local(history["history"][0]["audioUrl"]))
    assert again.status == 200 and await again.read() == data
    other = await (await api.get("/api/history", headers={**AUTH, "x-user-id": "someone"})).json()
    assert other["history"] == []


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/generate/beat", b'{"genre": ', "not valid JSON"),
        ("/api/generate/beat", b"[1, 2]", "must be a JSON object"),
        ("/api/generate/beat", b"", "empty"),
        ("/api/generate/beat", b'{"genre": "polka"}', "genre: "),
        ("/api/generate/beat", b'{"genre": "trap", "bpm": 9000}', "bpm: "),
        ("/api/generate/beat", b'{"genre": "trap", "duration": "long"}', "duration: "),
        ("/api/generate/beat", b'{"genre": "trap", "key": "H#"}', "key: "),
        ("/api/generate/stems", b"{}", "audioFileId"),
        ("/api/generate/stems", b'{"audioFileId": "x", "stemTypes": ["guitar"]}', "stemTypes: "),
        ("/api/generate/mix", b'{"trackIds": ["one"]}', "trackIds: "),
        ("/api/generate/master", b'{"trackId": "t", "quality": "vinyl"}', "quality: "),
        ("/api/generate/master", b'{"trackId": "t", "targetLoudness": "loud"}', "targetLoudness"),
        ("/api/chat", b'{"text": ""}', "text"),
    ],
)
async def test_daw_bad_bodies_get_a_400_that_names_the_field(
    api: TestClient, services: Services, path: str, body: bytes, needle: str
) -> None:
    response = await api.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
    payload = await response.json()
    assert response.status == 400, payload
    assert payload["success"] is False and needle in payload["error"], payload
    assert "Traceback" not in payload["error"]
    assert (await services.queue.stats())["waiting"] == 0  # nothing was queued


async def test_daw_auth_is_required_on_api_and_ws_but_not_health(api: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = await api.get("/api/generate/queue/stats", headers=headers)
        assert response.status == 401
        assert "API token" in (await response.json())["error"]
    assert (await api.get("/ws")).status == 401
    assert (await api.get(f"/api/generate/queue/stats?token={TOKEN}")).status == 200
    health = await api.get("/healthz")
    assert health.status == 200 and (await health.json())["redis"] == "ok"
    assert (await api.get("/")).status == 200  # the widget page itself; it asks for the token


async def test_daw_unknown_jobs_and_addresses_are_404_json(api: TestClient) -> None:
    for path in ("/api/generate/status/nope123", "/api/generate/result/nope123", "/api/nothing"):
        response = await api.get(path, headers=AUTH)
        assert response.status == 404 and (await response.json())["success"] is False
    stats = await (await api.get("/api/generate/queue/stats", headers=AUTH)).json()
    assert stats == {
        "success": True,
        "stats": {"waiting": 0, "active": 0, "completed": 0, "failed": 0, "total": 0},
    }
    genres = (await (await api.get("/api/generate/genres", headers=AUTH)).json())["genres"]
    assert len(genres) == 14 and genres[0]["name"] == "trap"
    assert set(genres[0]) >= {"bpmRange", "defaultBpm", "characteristics", "moodOptions"}


async def test_daw_uploads_feed_master_stems_and_mix_jobs(
    api: TestClient, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    song = await upload(api, write_tone(tmp_path / "song.wav", seconds=6.0))
    other = await upload(api, write_tone(tmp_path / "pad.wav", seconds=6.0, level=0.05))
    assert song["duration"] == pytest.approx(6.0, abs=0.01) and song["size"] > 0
    jobs = {}
    for kind, body in (
        ("master", {"trackId": song["fileId"], "quality": "cd"}),
        ("stems", {"audioFileId": song["fileId"], "stemTypes": ["drums", "bass"]}),
        ("mix", {"trackIds": [song["fileId"], other["fileId"]], "mixProfile": "warm"}),
    ):
        response = await api.post(f"/api/generate/{kind}", json=body, headers=AUTH)
        assert response.status == 202, await response.text()
        jobs[kind] = (await response.json())["jobId"]
    missing = await api.post("/api/generate/master", json={"trackId": "f" * 32}, headers=AUTH)
    assert missing.status == 404 and "trackId" in (await missing.json())["error"]

    await run_worker(settings, redis_handle)

    results = {}
    for kind, job in jobs.items():
        body = await (await api.get(f"/api/generate/result/{job}", headers=AUTH)).json()
        assert body["success"], body
        results[kind] = body["result"]["result"]
    master = await (await api.get(local(results["master"]["audioUrl"]))).read()
    loudness, seconds = lufs_of(master, tmp_path, "master." + results["master"]["format"])
    assert loudness == pytest.approx(-9.0, abs=0.5) and seconds == pytest.approx(6.0, abs=0.1)
    stems = {f["title"] for f in results["stems"]["files"] if f["kind"] == "stem"}
    assert stems == {"Drums stem", "Bass stem", "Rest stem"}  # rest: the stems sum to the song
    assert results["mix"]["duration"] == pytest.approx(6.0, abs=0.1)


async def test_daw_upload_limits_and_non_audio(
    aiohttp_client: ClientFactory, redis_handle: RedisHandle, settings: Settings, tmp_path: Path
) -> None:
    async with client_with(
        aiohttp_client, redis_handle, settings, BEATBOT_LIMITS__MAX_UPLOAD_MB="0.2"
    ) as (api, services):
        big = write_tone(tmp_path / "big.wav", seconds=5.0)  # ~1.7 MB of PCM
        form = aiohttp.FormData()
        form.add_field("file", big.read_bytes(), filename="big.wav")
        response = await api.post("/api/files", data=form, headers=AUTH)
        assert response.status == 413 and "limit" in (await response.json())["error"]

        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(b"not audio at all " * 100), filename="notes.txt")
        response = await api.post("/api/files", data=form, headers=AUTH)
        payload = await response.json()
        assert response.status == 415 and payload["success"] is False, payload

        form = aiohttp.FormData()
        form.add_field("other", b"x", filename="x.wav")
        response = await api.post("/api/files", data=form, headers=AUTH)
        assert response.status == 400 and '"file"' in (await response.json())["error"]
        assert list(services.store.uploads.iterdir()) == []  # nothing half-stored


async def test_daw_rate_limit_answers_429_with_retry_after(
    aiohttp_client: ClientFactory, redis_handle: RedisHandle, settings: Settings
) -> None:
    async with client_with(
        aiohttp_client, redis_handle, settings, BEATBOT_LIMITS__REQUESTS_PER_MINUTE="2"
    ) as (api, _services):
        body = {"genre": "house", "duration": 4}
        for _ in range(2):
            assert (await api.post("/api/generate/beat", json=body, headers=AUTH)).status == 202
        response = await api.post("/api/generate/beat", json=body, headers=AUTH)
        assert response.status == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "try again" in (await response.json())["error"]
        # Quotas are per user: someone else still gets through.
        other = {**AUTH, "x-user-id": "someone-else"}
        assert (await api.post("/api/generate/beat", json=body, headers=other)).status == 202


async def test_daw_chat_answers_through_the_assistant(api: TestClient) -> None:
    response = await api.post(
        "/api/chat", json={"text": "make a chill lofi beat for 6 seconds"}, headers=AUTH
    )
    replies = (await response.json())["replies"]
    assert [r["type"] for r in replies] == ["accepted"]
    assert "lo-fi" in replies[0]["text"] and replies[0]["jobId"]
    help_replies = await (await api.post("/api/chat", json={"text": "help"}, headers=AUTH)).json()
    assert help_replies["replies"][0]["type"] == "text"
    bad = await (
        await api.post("/api/chat", json={"text": "make a polka beat"}, headers=AUTH)
    ).json()
    assert bad["replies"][0]["type"] in ("error", "text") and "polka" in bad["replies"][0]["text"]


async def test_daw_metrics_count_jobs_by_type_and_state(
    api: TestClient, settings: Settings, redis_handle: RedisHandle
) -> None:
    response = await api.post(
        "/api/generate/beat", json={"genre": "edm", "duration": 4}, headers=AUTH
    )
    assert response.status == 202
    await run_worker(settings, redis_handle)
    text = ""
    for _ in range(50):  # the server tails the stream in the background
        text = await (await api.get("/metrics")).text()
        if 'beatbot_jobs_total{state="completed",type="generate-beat"} 1.0' in text:
            break
        await asyncio.sleep(0.1)
    assert 'beatbot_jobs_total{state="completed",type="generate-beat"} 1.0' in text
    assert 'beatbot_job_duration_seconds_count{type="generate-beat"} 1.0' in text
    assert 'beatbot_queue_jobs{state="completed"} 1.0' in text
    assert "beatbot_websocket_clients 0.0" in text


async def test_daw_a_failed_enqueue_gives_the_quota_back(
    api: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def outage(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis went away mid-request")

    monkeypatch.setattr(services.queue, "enqueue", outage)
    response = await api.post(
        "/api/generate/beat", json={"genre": "trap", "duration": 20}, headers=AUTH
    )
    body = await response.json()
    assert response.status == 500 and body["success"] is False
    assert "redis" not in body["error"].lower()  # an apology, not internals
    assert (await services.limits.usage("daw")).used == 0
