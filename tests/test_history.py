"""Per-user generation history and generation records on a real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio

from bot import keys
from bot.config import Settings
from bot.history import Generations, History


def entry(n: int) -> dict[str, object]:
    return {
        "generationId": f"gen-{n}",
        "jobId": f"job-{n}",
        "type": "generate-beat",
        "params": {"genre": "trap", "bpm": 140 + n, "key": "Cm", "seed": 1000 + n},
        "seed": 1000 + n,
        "audioUrl": f"http://127.0.0.1:8765/files/clips/gen-{n}/beat.mp3?exp=1&sig=x",
        "summary": f"beat {n}",
    }


async def test_history_is_newest_first_and_capped(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    history = History(redis_client, key_prefix, size=5)
    before = int(time.time() * 1000)
    for n in range(8):
        assert await history.add("ana", entry(n))
    listed = await history.list("ana")
    assert [e["generationId"] for e in listed] == ["gen-7", "gen-6", "gen-5", "gen-4", "gen-3"]
    assert listed[0]["params"]["seed"] == 1007 and listed[0]["jobId"] == "job-7"
    assert listed[0]["createdAt"] >= before
    assert [e["generationId"] for e in await history.list("ana", limit=2)] == ["gen-7", "gen-6"]
    # What fell off the end is really gone, not just hidden.
    assert await history.get("ana", "gen-2") is None
    assert await redis_client.hlen(keys.history_entries(key_prefix, "ana")) == 5
    assert (await history.get("ana", "gen-5"))["summary"] == "beat 5"
    assert await history.list("ben") == []

    default = History(redis_client, key_prefix, settings.limits.history_size)
    assert default.size == 50


async def test_adding_a_generation_twice_keeps_one_entry(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    history = History(redis_client, key_prefix, size=5)
    results = await asyncio.gather(*(history.add("ana", entry(1)) for _ in range(10)))
    assert results.count(True) == 1
    await history.add("ana", entry(2))
    assert [e["generationId"] for e in await history.list("ana")] == ["gen-2", "gen-1"]
    with pytest.raises(ValueError):
        await history.add("ana", {"jobId": "x"})
    await history.clear("ana")
    assert await history.list("ana") == []


async def test_generation_records(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    records = Generations(redis_client, key_prefix, settings.storage.retention_days)
    await records.save("gen-1", {"jobId": "job-1", "files": ["beat.mp3"], "bpm": 140})
    assert await records.get("gen-1") == {"jobId": "job-1", "files": ["beat.mp3"], "bpm": 140}
    assert await records.get("gen-2") is None
    ttl = await redis_client.ttl(keys.generation(key_prefix, "gen-1"))
    assert 29 * 86400 < ttl <= 30 * 86400
