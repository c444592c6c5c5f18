"""Issue 22 through the DAW server: POST /api/generate/extend queued like a beat, its events on
/ws (with the part toggles as buttons), the extended clip downloaded and measured; bad
bodies, unknown and other people's beats; a beat asked for without a part."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import soundfile
from aiohttp.test_utils import TestClient
from yarl import URL

from adapters.daw_server import create_app
from bot.config import Settings
from bot.connections import RedisHandle
from bot.services import Services
from tests.daw_schemas import Documents, fetch_documents, frames_until
from tests.workers import run_worker

TOKEN = "test-token-0123456789"
ADA = {"Authorization": f"Bearer {TOKEN}", "x-user-id": "ada"}
BOB = {"Authorization": f"Bearer {TOKEN}", "x-user-id": "bob"}
BPM = 120  # a bar is 2 s


@pytest.fixture
async def api(services: Services, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(services, TOKEN))


async def listening(api: TestClient) -> tuple[Documents, aiohttp.ClientWebSocketResponse]:
    """The server's documents and Ada's WebSocket, already following the stream."""
    documents = await fetch_documents(api, TOKEN)
    ws = await api.ws_connect(f"/ws?token={TOKEN}&user=ada")
    await asyncio.sleep(0.2)  # let the hub pick the stream position up
    return documents, ws


async def completed(ws: aiohttp.ClientWebSocketResponse, documents: Documents) -> dict[str, Any]:
    """The next generation:completed frame (every frame checked against the document)."""
    return (await frames_until(ws, "generation:completed", documents, timeout=60))[-1]


async def clip_seconds(api: TestClient, result: dict[str, Any]) -> float:
    data = await (await api.get(str(URL(result["audioUrl"]).relative()))).read()
    info = soundfile.info(io.BytesIO(data))
    return info.frames / info.samplerate


async def test_daw_extend_appends_bars_with_the_same_events_and_a_longer_clip(
    api: TestClient, settings: Settings, redis_handle: RedisHandle
) -> None:
    documents, ws = await listening(api)
    beat = await api.post(
        "/api/generate/beat",
        json={"genre": "house", "bpm": BPM, "duration": 8, "exclude": ["hi-hats"]},
        headers=ADA,
    )
    queued = await beat.json()
    assert beat.status == 202, queued
    documents.check_rest("BeatQueued", queued)
    assert (queued["bars"], queued["exclude"]) == (4, ["hats"])
    await run_worker(settings, redis_handle)
    first = (await completed(ws, documents))["data"]

    response = await api.post(
        "/api/generate/extend",
        json={"generationId": queued["generationId"], "bars": 2},
        headers=ADA,
    )
    extend = await response.json()
    assert response.status == 202, extend
    documents.check_rest("BeatQueued", extend)
    assert extend["message"] == "Extend job queued" and extend["seed"] == queued["seed"]
    assert (extend["bars"], extend["duration"], extend["exclude"]) == (6, 12.0, ["hats"])
    assert extend["edits"] == [{"extend": 2}] and extend["generationId"] != queued["generationId"]
    await run_worker(settings, redis_handle)
    frame = (await completed(ws, documents))["data"]
    await ws.close()
    assert frame["generationId"] == extend["generationId"]
    added = await clip_seconds(api, frame["result"]) - await clip_seconds(api, first["result"])
    assert added == pytest.approx(2 * 4 * 60 / BPM, abs=0.05)
    assert "Extended by 2 bars to 12 s (6 bars)." in frame["result"]["summary"]
    assert "No hi-hats." in frame["result"]["summary"]
    labels = [a["label"] for a in frame["actions"]]
    assert "Stems" in labels and "Mute drums" in labels and "Mute melody" in labels

    # seconds: the whole bars nearest them at the beat's tempo
    again = await api.post(
        "/api/generate/extend",
        json={"generationId": extend["generationId"], "seconds": 5},
        headers=ADA,
    )
    body = await again.json()
    assert again.status == 202 and body["edits"] == [{"extend": 2}, {"extend": 2}], body
    assert body["bars"] == 8


async def test_daw_extend_refuses_what_it_cant_do_in_json(
    api: TestClient, services: Services
) -> None:
    beat = await api.post("/api/generate/beat", json={"genre": "trap", "duration": 8}, headers=ADA)
    gid = (await beat.json())["generationId"]
    cases: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
        ({"generationId": gid}, ADA, 400, '"bars" or "seconds"'),
        ({"generationId": gid, "bars": 2, "seconds": 4}, ADA, 400, '"bars" or "seconds"'),
        ({"generationId": gid, "bars": 0}, ADA, 400, "bars"),
        ({"generationId": gid, "bars": 1.5}, ADA, 400, "whole number"),
        ({"generationId": gid, "seconds": -3}, ADA, 400, "seconds"),
        ({"bars": 2}, ADA, 400, "generationId"),
        ({"generationId": gid, "bars": 500}, ADA, 422, "extend it by less"),
        ({"generationId": "feedface", "bars": 2}, ADA, 404, "no beat"),
        ({"generationId": gid, "bars": 2}, BOB, 404, "no beat"),  # someone else's beat
    ]
    for body, headers, status, words in cases:
        response = await api.post("/api/generate/extend", json=body, headers=headers)
        answer = await response.json()
        assert response.status == status, (body, answer)
        assert answer["success"] is False and words in answer["error"], (body, answer)
    not_json = await api.post("/api/generate/extend", data=b"{", headers=ADA)
    assert not_json.status == 400 and (await not_json.json())["success"] is False
    # exclude/include on a new beat are checked the same way
    harp = await api.post(
        "/api/generate/beat", json={"genre": "trap", "include": ["harp"]}, headers=ADA
    )
    assert harp.status == 400 and "I can add" in (await harp.json())["error"]
    everything = await api.post(
        "/api/generate/beat",
        json={"genre": "trap", "exclude": ["drums", "bass", "chords", "melody", "fx"]},
        headers=ADA,
    )
    assert everything.status == 400 and "nothing to play" in (await everything.json())["error"]


async def test_daw_redo_draws_one_section_again_and_refuses_what_the_beat_lacks(
    api: TestClient, settings: Settings, redis_handle: RedisHandle
) -> None:
    documents, ws = await listening(api)
    beat = await api.post(
        "/api/generate/beat", json={"genre": "house", "bpm": BPM, "duration": 24}, headers=ADA
    )
    queued = await beat.json()
    assert beat.status == 202, queued
    await run_worker(settings, redis_handle)
    first = (await completed(ws, documents))["data"]
    sections = [name for name, _bars in first["result"]["sections"]]
    assert "hook" in sections and "solo" not in sections

    response = await api.post(
        "/api/generate/redo",
        json={"generationId": queued["generationId"], "section": "chorus", "part": "hi-hats"},
        headers=ADA,
    )
    redo = await response.json()
    assert response.status == 202, redo
    documents.check_rest("BeatQueued", redo)
    assert redo["message"] == "Redo job queued" and redo["seed"] == queued["seed"]
    assert redo["edits"] == [{"redo": "hook", "part": "hats", "take": 1}]
    assert redo["bars"] == queued["bars"] and redo["generationId"] != queued["generationId"]
    await run_worker(settings, redis_handle)
    frame = (await completed(ws, documents))["data"]
    assert frame["generationId"] == redo["generationId"]
    assert "New hi-hats in the hook, everything else as before." in frame["result"]["summary"]
    assert await clip_seconds(api, frame["result"]) == pytest.approx(
        await clip_seconds(api, first["result"]), abs=0.01
    )
    # The same section again is its next take; the whole section when no part is named.
    again = await api.post(
        "/api/generate/redo",
        json={"generationId": redo["generationId"], "section": "hook"},
        headers=ADA,
    )
    body = await again.json()
    assert again.status == 202, body
    assert body["edits"] == [
        {"redo": "hook", "part": "hats", "take": 1},
        {"redo": "hook", "part": "all", "take": 1},
    ]
    await ws.close()

    gid = queued["generationId"]
    cases: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
        ({"generationId": gid, "section": "solo"}, ADA, 422, "This beat has no solo; its sec"),
        ({"generationId": gid, "section": "bridge"}, ADA, 400, "section: name one of intro"),
        ({"generationId": gid, "section": 3}, ADA, 400, "section"),
        ({"generationId": gid, "section": "hook", "part": "harp"}, ADA, 400, "part: say all"),
        ({"generationId": gid}, ADA, 400, "section"),
        ({"section": "hook"}, ADA, 400, "generationId"),
        ({"generationId": gid, "section": "hook"}, BOB, 404, "no beat"),
    ]
    for body, headers, status, words in cases:
        refused = await api.post("/api/generate/redo", json=body, headers=headers)
        answer = await refused.json()
        assert refused.status == status, (body, answer)
        assert answer["success"] is False and words in answer["error"], (body, answer)


def test_what_a_redo_can_name_is_what_the_engine_has() -> None:
    from bot import vocab
    from engine.compose.model import PARTS, SECTION_NAMES

    assert vocab.REDO_SECTIONS == SECTION_NAMES and tuple(vocab.PART_WORDS) == PARTS
