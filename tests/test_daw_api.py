"""The DAW server's REST API end to end: aiohttp's test client, a real Redis, the real worker,
real audio downloaded through signed links and measured."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pyloudnorm
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from yarl import URL

from adapters.daw_server import create_app
from bot import keys
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.services import Services
from engine.audio_io import decode
from tests.audio_fixtures import write_tone
from tests.daw_schemas import fetch_documents, snake_keys
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


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def disposition_name(header: str) -> str:
    match = re.search(r'filename="([^"]+)"', header)
    assert match, header
    return match.group(1)


async def test_daw_beat_is_queued_rendered_and_downloadable_with_range(
    api: TestClient, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    documents = await fetch_documents(api, TOKEN)
    ada = {**AUTH, "x-user-id": "user-123"}
    response = await api.post(
        "/api/generate/beat",
        json={"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 8},
        headers=ada,
    )
    queued = await response.json()
    assert response.status == 202, queued
    documents.check_rest("BeatQueued", queued)
    assert queued["success"] is True and queued["message"] == "Beat generation job queued"
    # The beat as it will be made: 8 s at 140 BPM is 5 whole bars, 8.571 s.
    assert (queued["genre"], queued["bpm"], queued["key"], queued["bars"]) == ("trap", 140, "Cm", 5)
    assert queued["duration"] == 8.571 and isinstance(queued["seed"], int)
    job = queued["jobId"]
    status = await (await api.get(f"/api/generate/status/{job}", headers=ada)).json()
    documents.check_rest("StatusResponse", status)
    assert status["status"]["state"] == "waiting" and status["status"]["progress"] == 0
    assert ISO_UTC.match(status["status"]["createdAt"]) and status["status"]["finishedAt"] is None
    early = await api.get(f"/api/generate/result/{job}", headers=ada)
    assert early.status == 409 and "isn't ready" in (await early.json())["error"]

    await run_worker(settings, redis_handle)

    body = await (await api.get(f"/api/generate/status/{job}", headers=ada)).json()
    documents.check_rest("StatusResponse", body)
    status = body["status"]
    assert (status["jobId"], status["generationId"]) == (job, queued["generationId"])
    assert status["state"] == "completed" and status["progress"] == 100
    assert status["data"]["genre"] == "trap" and status["data"]["bpm"] == 140
    assert {"targetLoudness", "mixProfile", "autoPlay"} <= set(status["data"])  # camelCase
    assert not any("_" in key for key in status["data"])
    assert ISO_UTC.match(status["finishedAt"]) and status["finishedAt"] >= status["createdAt"]
    body = await (await api.get(f"/api/generate/result/{job}", headers=ada)).json()
    documents.check_rest("ResultResponse", body)
    result = body["result"]  # the result itself: no result.result
    assert body["success"] and ISO_UTC.match(body["completedAt"])
    assert (body["jobId"], body["generationId"]) == (job, queued["generationId"])
    assert "result" not in result
    assert (result["genre"], result["bpm"], result["key"]) == ("trap", 140, "Cm")
    assert result["duration"] == pytest.approx(queued["duration"], abs=0.01)
    assert result["metadata"] == {
        "format": "mp3",
        "bitrate": 320,
        "sampleRate": 44100,
        "channels": 2,
    }
    assert all("path" not in f for f in result["files"])  # no server paths leak
    name = f"trap_140_Cm_{queued['seed']}"
    assert result["downloadName"] == f"{name}.mp3"
    names = {f["kind"]: f["name"] for f in result["files"]}
    assert names["audio"] == f"{name}.mp3" and names["midi"] == f"{name}.mid"
    assert names["image"] == f"{name}_waveform.png"

    clip = await api.get(local(result["audioUrl"]))
    assert clip.status == 200 and clip.headers["Content-Type"] == "audio/mpeg"
    assert disposition_name(clip.headers["Content-Disposition"]) == f"{name}.mp3"
    assert clip.headers["Content-Disposition"].startswith("inline;")
    data = await clip.read()
    loudness, seconds = lufs_of(data, tmp_path, "beat.mp3")
    assert loudness == pytest.approx(-14.0, abs=0.5)
    assert seconds == pytest.approx(result["duration"], abs=0.1)
    saved = await api.get(local(result["audioUrl"]) + "&download=1")
    assert saved.headers["Content-Disposition"] == f'attachment; filename="{name}.mp3"'

    part = await api.get(local(result["audioUrl"]), headers={"Range": "bytes=100-1099"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert await part.read() == data[100:1100]
    tampered = await api.get(local(result["audioUrl"]).replace("sig=", "sig=x"))
    assert tampered.status == 403 and (await tampered.json())["success"] is False

    history = await (await api.get("/api/history", headers=ada)).json()
    documents.check_rest("HistoryResponse", history)
    for wire in (queued, status, body, history):  # one naming style everywhere
        assert snake_keys(wire) == []
    entry = history["history"][0]
    assert [h["generationId"] for h in history["history"]] == [queued["generationId"]]
    assert ISO_UTC.match(entry["createdAt"]) and entry["expired"] is False
    assert entry["downloadName"] == f"{name}.mp3" and entry["params"]["mixProfile"]
    again = await api.get(local(entry["audioUrl"]))
    assert again.status == 200 and await again.read() == data
    other = await (await api.get("/api/history", headers={**AUTH, "x-user-id": "someone"})).json()
    assert other["history"] == []

    # Status and result are the asker's, like their WebSocket: anyone else gets a 404.
    for path in (f"/api/generate/status/{job}", f"/api/generate/result/{job}"):
        for headers in (AUTH, {**AUTH, "x-user-id": "someone"}):
            response = await api.get(path, headers=headers)
            assert response.status == 404, path
            assert "no job" in (await response.json())["error"]
    finished = await api.delete(f"/api/generate/{job}", headers=ada)
    assert finished.status == 409 and "nothing to cancel" in (await finished.json())["error"]


async def test_daw_jobs_in_flight_can_be_listed_and_cancelled_by_their_owner(
    api: TestClient, services: Services
) -> None:
    documents = await fetch_documents(api, TOKEN)
    ada, bob = {**AUTH, "x-user-id": "ada"}, {**AUTH, "x-user-id": "bob"}
    jobs = []
    for headers in (ada, ada, bob):
        response = await api.post("/api/generate/beat", json={"duration": 4}, headers=headers)
        jobs.append((await response.json())["jobId"])
    listed = await (await api.get("/api/generate/jobs", headers=ada)).json()
    documents.check_rest("JobsResponse", listed)
    assert [j["jobId"] for j in listed["jobs"]] == jobs[:2]  # oldest first, only ada's
    assert all(j["state"] == "waiting" for j in listed["jobs"])

    assert (await api.delete(f"/api/generate/{jobs[0]}", headers=bob)).status == 404
    response = await api.delete(f"/api/generate/{jobs[0]}", headers=ada)
    cancelled = await response.json()
    assert response.status == 200, cancelled
    documents.check_rest("Cancelled", cancelled)
    assert cancelled["message"] == "Cancelled."
    assert cancelled["status"]["state"] == "failed" and cancelled["status"]["cancelRequested"]
    response = await api.post(f"/api/generate/{jobs[1]}/cancel", headers=ada)
    assert response.status == 200 and (await response.json())["status"]["state"] == "failed"
    again = await api.post(f"/api/generate/{jobs[1]}/cancel", headers=ada)
    assert again.status == 409
    assert (await (await api.get("/api/generate/jobs", headers=ada)).json())["jobs"] == []
    theirs = await (await api.get("/api/generate/jobs", headers=bob)).json()
    assert [j["jobId"] for j in theirs["jobs"]] == [jobs[2]]
    assert (await services.queue.stats())["waiting"] == 1  # the cancelled ones left the queue
    for bad in ("/api/generate/nothex!", "/api/generate/beat"):
        assert (await api.delete(bad, headers=ada)).status in (404, 405)


async def test_daw_job_records_expire_after_the_retention_days(
    aiohttp_client: ClientFactory,
    redis_handle: RedisHandle,
    redis_client: Redis,
    settings: Settings,
) -> None:
    assert settings.storage.retention_days == 30  # the packaged default
    async with client_with(
        aiohttp_client, redis_handle, settings, BEATBOT_STORAGE__RETENTION_DAYS="0.00002"
    ) as (api, services):
        response = await api.post("/api/generate/beat", json={"duration": 4}, headers=AUTH)
        queued = await response.json()
        key = keys.job(services.settings.queue.key_prefix, queued["jobId"])
        assert 1 <= await redis_client.ttl(key) <= 2  # 0.00002 days = 1.7 s
        assert (await services.queue.by_generation(queued["generationId"])).job_id
        status = f"/api/generate/status/{queued['jobId']}"
        assert (await api.get(status, headers=AUTH)).status == 200
        await asyncio.sleep(2.2)
        assert (await api.get(status, headers=AUTH)).status == 404
        assert await services.jobs.job_for_generation(queued["generationId"]) is None
    async with client_with(aiohttp_client, redis_handle, settings) as (api, services):
        response = await api.post("/api/generate/beat", json={"duration": 4}, headers=AUTH)
        key = keys.job(services.settings.queue.key_prefix, (await response.json())["jobId"])
        assert 30 * 86400 - 60 <= await redis_client.ttl(key) <= 30 * 86400


async def test_daw_cors_lets_a_front_end_read_retry_range_and_file_names(api: TestClient) -> None:
    origin = {"Origin": "http://localhost:5173"}
    preflight = await api.options(
        "/api/generate/abc123",
        headers={**origin, "Access-Control-Request-Method": "DELETE"},
    )
    assert preflight.status == 204
    assert "DELETE" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Range" in preflight.headers["Access-Control-Allow-Headers"]
    response = await api.get("/api/generate/genres", headers={**AUTH, **origin})
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Retry-After", "Content-Range", "Content-Disposition"} <= exposed
    assert response.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    stranger = await api.get("/api/generate/genres", headers={**AUTH, "Origin": "http://evil"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


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

    documents = await fetch_documents(api, TOKEN)
    results = {}
    for kind, job in jobs.items():
        body = await (await api.get(f"/api/generate/result/{job}", headers=AUTH)).json()
        assert body["success"], body
        documents.check_rest("ResultResponse", body)
        assert snake_keys(body) == []
        results[kind] = body["result"]
    master = await (await api.get(local(results["master"]["audioUrl"]))).read()
    loudness, seconds = lufs_of(master, tmp_path, "master." + results["master"]["format"])
    assert loudness == pytest.approx(-9.0, abs=0.5) and seconds == pytest.approx(6.0, abs=0.1)
    # A/B: the master links back to what it was made from, the upload itself.
    original = await api.get(local(results["master"]["originalUrl"]))
    assert original.status == 200 and await original.read() == (tmp_path / "song.wav").read_bytes()
    assert disposition_name(original.headers["Content-Disposition"]) == "song.wav"
    assert results["master"]["downloadName"].startswith("master_cd_")
    stems = {f["title"] for f in results["stems"]["files"] if f["kind"] == "stem"}
    assert stems == {"Drums stem", "Bass stem", "Rest stem"}  # rest: the stems sum to the song
    # A stems job's main file is the song's MP3 preview, and says so.
    main = next(f for f in results["stems"]["files"] if f["kind"] == "audio")
    assert main["title"] == "Preview (MP3)" and results["stems"]["metadata"]["format"] == "mp3"
    assert {f["name"].rsplit("_", 1)[-1] for f in results["stems"]["files"]} >= {
        "drums.wav",
        "bass.wav",
        "preview.mp3",
    }
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
