"""Several takes through the DAW server: POST /api/generate/beat with "takes", and the widget's
way (/api/chat, frames on /ws, a pick button's generationId). aiohttp's test client, a real
Redis, the real worker with three render processes, audio fetched through signed links."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from adapters.daw_server import create_app
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState
from bot.services import Services
from tests.daw_schemas import Documents, fetch_documents, frames_until
from tests.takes_measure import assert_rendered_side_by_side, assert_takes_differ
from tests.workers import run_worker

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ADA = {**AUTH, "x-user-id": "ada"}
BOB = {**AUTH, "x-user-id": "bob"}


@pytest.fixture
async def api(services: Services, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(services, TOKEN))


@pytest.fixture
async def documents(api: TestClient) -> Documents:
    return await fetch_documents(api, TOKEN)


async def chat(api: TestClient, text: str, **extra: Any) -> list[dict[str, Any]]:
    response = await api.post(
        "/api/chat", json={"text": text, "thread": "w1", **extra}, headers=ADA
    )
    body = await response.json()
    assert response.status == 200, body
    return body["replies"]


async def test_api_queues_takes_answers_their_ids_and_cancels_them_as_one(
    api: TestClient, documents: Documents, services: Services
) -> None:
    single = await api.post("/api/generate/beat", json={"duration": 8}, headers=ADA)
    one = await single.json()
    assert single.status == 202 and "takes" not in one  # the single-take shape, unchanged
    documents.check_rest("BeatQueued", one)
    response = await api.post(
        "/api/generate/beat", json={"genre": "drill", "duration": 8, "takes": 3}, headers=ADA
    )
    queued = await response.json()
    assert response.status == 202, queued
    documents.check_rest("BeatQueued", queued)
    assert queued["message"] == "3 takes queued" and queued["genre"] == "drill"
    takes = queued["takes"]
    assert [t["take"] for t in takes] == [1, 2, 3]
    assert [t["seed"] for t in takes] == [queued["seed"] + i for i in range(3)]
    assert len({queued["jobId"], *(t["jobId"] for t in takes)}) == 4
    for take in takes:  # each take is a job of its own
        status = await (await api.get(f"/api/generate/status/{take['jobId']}", headers=ADA)).json()
        assert status["status"]["state"] == "waiting"
        assert status["status"]["data"]["seed"] == take["seed"]
    assert (await services.limits.usage("ada")).used == pytest.approx(8 + 3 * 8)
    # The group's jobId is a job too: its status (each take's inside), result and cancel.
    group = await group_status(api, documents, queued["jobId"])
    assert (group["state"], group["progress"], group["result"]) == ("waiting", 0, None)
    assert group["data"]["takes"] == 3 and group["data"]["genre"] == "drill"
    assert [t["jobId"] for t in group["takes"]] == [t["jobId"] for t in takes]
    early = await api.get(f"/api/generate/result/{queued['jobId']}", headers=ADA)
    assert early.status == 409 and "isn't ready yet" in (await early.json())["error"]
    for path in ("status", "result"):
        theirs = await api.get(f"/api/generate/{path}/{queued['jobId']}", headers=BOB)
        assert theirs.status == 404

    for bad in (5, 0, 2.5, "3"):
        refused = await api.post("/api/generate/beat", json={"takes": bad}, headers=ADA)
        assert refused.status == 400
        assert (await refused.json())["error"] == (
            "takes: ask for a whole number of takes from 1 to 4."
        )
    theirs = await api.delete(f"/api/generate/{queued['jobId']}", headers=BOB)
    assert theirs.status == 404
    cancelled = await api.delete(f"/api/generate/{queued['jobId']}", headers=ADA)
    body = await cancelled.json()
    assert cancelled.status == 200, body
    documents.check_rest("Cancelled", body)
    assert [s["jobId"] for s in body["takes"]] == [t["jobId"] for t in takes]
    assert all(s["state"] == "failed" for s in body["takes"])
    again = await api.delete(f"/api/generate/{queued['jobId']}", headers=ADA)
    assert again.status == 409
    group = await group_status(api, documents, queued["jobId"])
    assert group["state"] == "failed" and group["finishedAt"] is not None
    assert group["failedReason"].startswith("None of the 3 takes finished.")
    failed = await api.get(f"/api/generate/result/{queued['jobId']}", headers=ADA)
    assert failed.status == 409 and "failed: None of the 3" in (await failed.json())["error"]


async def group_status(api: TestClient, documents: Documents, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/generate/status/{job_id}", headers=ADA)
    body = await response.json()
    assert response.status == 200, body
    documents.check_rest("StatusResponse", body)
    return body["status"]


async def test_widget_takes_arrive_as_one_frame_with_a_card_per_take_and_a_pick_carries_on(
    api: TestClient,
    documents: Documents,
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
) -> None:
    ws = await api.ws_connect(f"/ws?token={TOKEN}&user=ada")
    await asyncio.sleep(0.2)  # let the hub pick the stream position up
    [accepted] = await chat(api, "3 takes of a house beat for 8 seconds")
    assert accepted["type"] == "accepted" and len(accepted["takeJobs"]) == 3
    await run_worker(settings, redis_handle, render_processes=3)
    frames = await frames_until(
        ws, "generation:completed", documents, job_id=accepted["jobId"], timeout=60
    )
    await ws.close()

    group = [f for f in frames if f["data"]["jobId"] == accepted["jobId"]]
    assert [f["event"] for f in group][-1] == "generation:completed"
    assert {f["event"] for f in group[:-1]} == {"generation:progress"}
    percents = [f["data"]["percent"] for f in group[:-1]]
    assert percents == sorted(percents) and max(percents) < 100
    marked = [f for f in frames if "take" in f["data"]]
    assert {f["data"]["take"]["groupId"] for f in marked} == {accepted["jobId"]}
    assert {f["data"]["jobId"] for f in marked} == set(accepted["takeJobs"])
    assert not [f for f in frames if f["event"].startswith("daw:")]  # none loaded until picked

    done = group[-1]["data"]
    result = done["result"]
    assert result["kind"] == "takes" and len(result["takes"]) == 3
    assert [a["label"] for a in done["actions"]] == ["Pick 1", "Pick 2", "Pick 3"]
    assert [a["generationId"] for a in done["actions"]] == [
        t["generationId"] for t in result["takes"]
    ]
    clips = []
    for take in result["takes"]:
        clip = await api.get(str(URL(take["result"]["audioUrl"]).relative()))
        assert clip.status == 200
        clips.append(await clip.read())
        seed = take["seed"]
        assert take["result"]["downloadName"] == f"house_124_Am_{seed}.mp3"
    assert_takes_differ(clips, seconds=result["takes"][0]["result"]["duration"])
    names = [f["name"] for f in result["files"] if f["kind"] == "audio"]
    assert names == [f"house_124_Am_{t['seed']}.mp3" for t in result["takes"]]
    # Polling instead of the WebSocket gets the same result from the group's jobId.
    polled = await group_status(api, documents, accepted["jobId"])
    assert (polled["state"], polled["progress"], polled["stage"]) == ("completed", 100, "Done")
    assert [t["state"] for t in polled["takes"]] == ["completed"] * 3
    assert [t["seed"] for t in polled["result"]["takes"]] == [t["seed"] for t in result["takes"]]
    fetched = await api.get(f"/api/generate/result/{accepted['jobId']}", headers=ADA)
    body = await fetched.json()
    assert fetched.status == 200, body
    documents.check_rest("ResultResponse", body)
    assert body["result"]["kind"] == "takes" and body["completedAt"] == polled["finishedAt"]
    second = body["result"]["takes"][1]["result"]
    clip = await api.get(str(URL(second["audioUrl"]).relative()))
    assert clip.status == 200 and await clip.read() == clips[1]
    records = [await services.queue.status(job) for job in accepted["takeJobs"]]
    assert all(r.state is JobState.COMPLETED for r in records)
    assert_rendered_side_by_side(records)

    # The widget's Pick 2 button: its command, with take 2's generationId.
    pick = done["actions"][1]
    [picked] = await chat(api, pick["command"], generationId=pick["generationId"])
    seed = result["takes"][1]["seed"]
    assert picked["text"].startswith(f"Take 2 is now the clip: house, 124 BPM, seed {seed}.")
    [faster] = await chat(api, "make it faster")
    job = await services.queue.status(faster["jobId"])
    assert job.data["seed"] == seed and job.data["bpm"] > 124
