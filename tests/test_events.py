"""Events on a real Redis Stream: order, cap, dedupe, consumer groups, takeover, resume."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio

from bot import keys
from bot.connections import RedisHandle
from bot.errors import InvalidRequest
from bot.events import (
    EVENT_NAMES,
    AudioLoaded,
    Clip,
    Event,
    EventBus,
    EventConsumer,
    GenerationCompleted,
    check_stream_id,
)
from bot.jobs import Origin

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DISCORD = Origin(platform="discord", channel="c1", thread="t1", user="u1", message_id="m1")
SLACK = Origin(platform="slack", channel="C1", thread="171.1", user="U1", message_id="171.1")


def progress(n: int, origin: Origin = DISCORD, gid: str = "gen-1") -> dict[str, object]:
    return {
        "jobId": "job-1",
        "generationId": gid,
        "percent": n,
        "stage": "Mixing",
        "origin": origin.model_dump(),
    }


def completed(gid: str, origin: Origin = DISCORD) -> dict[str, object]:
    return {
        "jobId": "job-1" if gid == "gen-1" else f"job-{gid}",
        "generationId": gid,
        "type": "generate-beat",
        "result": {"audioUrl": "http://127.0.0.1:8765/files/clips/x/beat.mp3", "bpm": 140},
        "origin": origin.model_dump(),
    }


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Recorder:
    """An idempotent handler: the side effect (posting) happens once per stream id."""

    def __init__(self, consumer: EventConsumer) -> None:
        self.consumer = consumer
        self.posted: list[str] = []
        self.calls = 0

    async def __call__(self, event: Event) -> None:
        self.calls += 1
        if await self.consumer.once(event.id):
            self.posted.append(event.id)


async def run_consumer(
    consumer: EventConsumer, handler
) -> tuple[asyncio.Task[None], asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(handler, stop=stop))
    return task, stop


async def stop_consumer(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(task, 5)


def consumer(
    client: redis.asyncio.Redis, prefix: str, group: str, name: str, **kw
) -> EventConsumer:
    kw.setdefault("block_ms", 50)
    return EventConsumer(client, prefix, group, name, **kw)


async def test_published_events_read_back_in_order_with_seed_fields(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix, maxlen=1000)
    ids = [
        await bus.publish(
            "generation:started",
            {
                "jobId": "job-1",
                "generationId": "gen-1",
                "type": "generate-beat",
                "origin": DISCORD.model_dump(),
            },
        )
    ]
    for n in (10, 50, 90):
        ids.append(await bus.publish("generation:progress", progress(n)))
    ids.append(await bus.publish("generation:completed", completed("gen-1")))

    read = await bus.read_since("0")
    assert [entry_id for entry_id, _, _ in read] == ids
    assert [name for _, name, _ in read] == [
        "generation:started",
        *["generation:progress"] * 3,
        "generation:completed",
    ]
    assert [data["percent"] for _, name, data in read if name == "generation:progress"] == [
        10,
        50,
        90,
    ]
    for _, _, data in read:
        assert data["jobId"] == "job-1"
        assert data["generationId"] == "gen-1"
        assert ISO_UTC.match(data["timestamp"]), data["timestamp"]
        assert data["origin"]["platform"] == "discord"
        assert data["origin"]["thread"] == "t1"
    assert read[-1][2]["result"]["bpm"] == 140
    assert await bus.last_id() == ids[-1]
    assert await redis_client.exists(keys.events(key_prefix))


async def test_daw_event_models_give_camel_case_json(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    loaded = AudioLoaded(
        generation_id="gen-7",
        track_id="track-gen-7",
        track_name="trap - 140 BPM",
        clip_id="clip-gen-7",
        clip=Clip(url="http://x/files/a.mp3", duration=8.0, bpm=140, key="Cm"),
        auto_play=True,
    )
    await bus.publish("daw:audio:loaded", loaded)
    await bus.publish("daw:transport:sync", {"bpm": 140})
    await bus.publish("daw:transport:play", {"clipId": "clip-gen-7"})
    (_, n1, d1), (_, n2, d2), (_, n3, d3) = await bus.read_since("0")
    assert (n1, n2, n3) == ("daw:audio:loaded", "daw:transport:sync", "daw:transport:play")
    assert d1["trackId"] == "track-gen-7" and d1["trackName"] == "trap - 140 BPM"
    assert d1["clipId"] == "clip-gen-7" and d1["autoPlay"] is True
    assert d1["clip"] == {"url": "http://x/files/a.mp3", "duration": 8.0, "bpm": 140.0, "key": "Cm"}
    assert d2["bpm"] == 140 and ISO_UTC.match(d2["timestamp"])
    assert d3["clipId"] == "clip-gen-7"
    assert set(EVENT_NAMES) == {
        "generation:started",
        "generation:progress",
        "generation:completed",
        "generation:failed",
        "daw:audio:loaded",
        "daw:transport:sync",
        "daw:transport:play",
    }
    with pytest.raises(ValueError, match="unknown event"):
        await bus.publish("generation:done", {"jobId": "1"})
    with pytest.raises(ValueError, match="generation:failed"):
        await bus.publish("generation:failed", {"jobId": "1", "generationId": "g"})  # no error
    with pytest.raises(ValueError):
        await bus.publish("generation:progress", {**progress(5), "percent": 140})
    with pytest.raises(ValueError):
        await bus.publish(
            "generation:failed", GenerationCompleted(job_id="1", generation_id="g", result={})
        )
    assert await bus.length() == 3


async def test_stream_is_capped(redis_client: redis.asyncio.Redis, key_prefix: str) -> None:
    bus = EventBus(redis_client, key_prefix, maxlen=100)
    ids = [await bus.publish("generation:progress", progress(n % 100)) for n in range(700)]
    length = await bus.length()
    # MAXLEN ~ trims whole radix-tree nodes (100 entries each), so it stays near the cap.
    assert 100 <= length < 250, length
    kept = await bus.read_since("0", count=1000)
    assert kept[-1][0] == ids[-1]
    assert ids[0] not in {entry_id for entry_id, _, _ in kept}


async def test_dedupe_key_publishes_once(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    first = await bus.publish("generation:completed", completed("g1"), dedupe_key="g1:finished")
    again = await bus.publish("generation:completed", completed("g1"), dedupe_key="g1:finished")
    failed = await bus.publish(
        "generation:failed",
        {"jobId": "job-g1", "generationId": "g1", "error": "late failure"},
        dedupe_key="g1:finished",
    )
    other = await bus.publish("generation:completed", completed("g2"), dedupe_key="g2:finished")
    assert first == again == failed
    assert other != first
    names = [(name, data["generationId"]) for _, name, data in await bus.read_since("0")]
    assert names == [("generation:completed", "g1"), ("generation:completed", "g2")]


async def test_dedupe_holds_under_concurrent_publishers(
    redis_handle: RedisHandle, redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    # Four "workers", each with its own connection, finishing the same job 40 times at once.
    clients = [redis_handle.client() for _ in range(4)]
    try:
        buses = [EventBus(c, key_prefix) for c in clients]
        results = await asyncio.gather(
            *(
                buses[i % 4].publish(
                    "generation:completed", completed("race"), dedupe_key="race:finished"
                )
                for i in range(40)
            )
        )
    finally:
        for c in clients:
            await c.aclose()
    assert len(set(results)) == 1
    assert await redis_client.xlen(keys.events(key_prefix)) == 1


async def test_consumer_restart_gets_unacked_then_new_each_once(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    first = consumer(redis_client, key_prefix, "discord", "bot-1")
    assert await first.ensure_group()
    assert not await first.ensure_group()  # kept, not reset

    posted: list[str] = []
    stuck = asyncio.Event()

    async def slow_handler(event: Event) -> None:
        # Posts (idempotently), then hangs before returning: the ack never happens.
        if await first.once(event.id):
            posted.append(event.data["generationId"])
        if event.data["generationId"] == "g2":
            stuck.set()
            await asyncio.sleep(3600)

    for gid in ("g1", "g2", "g3"):
        await bus.publish("generation:completed", completed(gid))
    task, stop = await run_consumer(first, slow_handler)
    await asyncio.wait_for(stuck.wait(), 5)
    task.cancel()  # the bot dies mid-delivery
    with pytest.raises(asyncio.CancelledError):
        await task
    assert posted == ["g1", "g2"]
    assert await first.pending_count() == 2  # g2 (unacked) and g3 (read, never handled)

    # While it is down, another job finishes.
    await bus.publish("generation:completed", completed("g4"))

    restarted = consumer(redis_client, key_prefix, "discord", "bot-1")
    handled: list[str] = []

    async def handler(event: Event) -> None:
        handled.append(event.data["generationId"])
        if await restarted.once(event.id):
            posted.append(event.data["generationId"])

    task, stop = await run_consumer(restarted, handler)
    await until(lambda: len(posted) == 4)
    await bus.publish("generation:completed", completed("g5"))
    await until(lambda: len(posted) == 5)
    await stop_consumer(task, stop)

    assert handled == ["g2", "g3", "g4", "g5"]  # g2 redelivered, the post not repeated
    assert posted == ["g1", "g2", "g3", "g4", "g5"]
    assert await restarted.pending_count() == 0


async def test_new_group_starts_at_the_end_but_keeps_its_place(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    await bus.publish("generation:completed", completed("ancient"))
    slack = consumer(redis_client, key_prefix, "slack", "s-1")
    assert await slack.ensure_group()  # first start: from now on, not from the beginning
    rec = Recorder(slack)
    task, stop = await run_consumer(slack, rec)
    await bus.publish("generation:completed", completed("new"))
    await until(lambda: len(rec.posted) == 1)
    await stop_consumer(task, stop)
    await bus.publish("generation:completed", completed("while-down"))
    task, stop = await run_consumer(consumer(redis_client, key_prefix, "slack", "s-1"), rec)
    await until(lambda: len(rec.posted) == 2)
    await stop_consumer(task, stop)
    names = [
        data["generationId"]
        for entry_id, _, data in await bus.read_since("0")
        if entry_id in rec.posted
    ]
    assert names == ["new", "while-down"]


async def test_each_group_gets_its_own_copy(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    a = consumer(redis_client, key_prefix, "discord", "d-1")
    b = consumer(redis_client, key_prefix, "daw", "w-1")
    await a.ensure_group()
    await b.ensure_group()
    ids = [await bus.publish("generation:completed", completed(f"g{i}")) for i in range(3)]
    ra, rb = Recorder(a), Recorder(b)
    ta, sa = await run_consumer(a, ra)
    tb, sb = await run_consumer(b, rb)
    await until(lambda: len(ra.posted) == 3 and len(rb.posted) == 3)
    await stop_consumer(ta, sa)
    await stop_consumer(tb, sb)
    assert ra.posted == rb.posted == ids


async def test_platform_filter_acks_other_platforms_without_handling(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    discord = consumer(redis_client, key_prefix, "discord", "d-1", platform="discord")
    await discord.ensure_group()
    await bus.publish("generation:progress", progress(10, SLACK, "slack-gen"))
    mine = await bus.publish("generation:progress", progress(20, DISCORD, "discord-gen"))
    await bus.publish("daw:transport:sync", {"bpm": 120})  # no origin: not Discord's
    last = await bus.publish("generation:completed", completed("discord-gen"))
    rec = Recorder(discord)
    task, stop = await run_consumer(discord, rec)
    await until(lambda: len(rec.posted) == 2)
    await until(lambda: _no_pending(discord))
    await stop_consumer(task, stop)
    assert rec.posted == [mine, last]
    assert rec.calls == 2


async def _no_pending(c: EventConsumer) -> bool:
    return await c.pending_count() == 0


async def test_read_since_resumes_after_an_id_and_waits_for_new(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    assert await bus.last_id() == "0-0"
    assert await bus.read_since("0") == []
    a = await bus.publish("generation:progress", progress(10))
    b = await bus.publish("generation:progress", progress(20))
    seen = await bus.read_since("0", count=1)
    assert [entry_id for entry_id, _, _ in seen] == [a]
    c = await bus.publish("generation:progress", progress(30))
    resumed = await bus.read_since(seen[-1][0])
    assert [entry_id for entry_id, _, _ in resumed] == [b, c]

    waiting = asyncio.create_task(bus.read_since(c, block_ms=3000))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    d = await bus.publish("generation:completed", completed("gen-1"))
    got = await asyncio.wait_for(waiting, 3)
    assert [(entry_id, name) for entry_id, name, _ in got] == [(d, "generation:completed")]
    assert await bus.read_since(d, block_ms=50) == []

    assert check_stream_id(" 1718000000000-3 ") == "1718000000000-3"
    for bad in ("abc", "1-2-3", "-1", "1;DEL x", ""):
        with pytest.raises(InvalidRequest, match="not an event id"):
            await bus.read_since(bad)


async def test_idle_entries_of_a_dead_consumer_are_taken_over(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    dead = consumer(redis_client, key_prefix, "discord", "host-a")
    await dead.ensure_group()
    ids = [await bus.publish("generation:completed", completed(f"g{i}")) for i in range(3)]
    # host-a reads the entries and dies without acknowledging: they sit in its pending list.
    taken = await redis_client.xreadgroup(
        "discord", "host-a", {keys.events(key_prefix): ">"}, count=10
    )
    assert len(taken[0][1]) == 3

    heir = consumer(
        redis_client, key_prefix, "discord", "host-b", claim_idle_ms=1000, claim_every=0.1
    )
    rec = Recorder(heir)
    task, stop = await run_consumer(heir, rec)
    await asyncio.sleep(0.3)
    assert rec.posted == []  # not idle long enough yet
    await until(lambda: len(rec.posted) == 3)
    await stop_consumer(task, stop)
    assert rec.posted == ids
    assert await heir.pending_count() == 0


async def test_a_failing_handler_is_retried_then_given_up(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    bus = EventBus(redis_client, key_prefix)
    c = consumer(
        redis_client,
        key_prefix,
        "discord",
        "d-1",
        claim_idle_ms=50,
        claim_every=0.05,
        max_deliveries=3,
    )
    await c.ensure_group()
    flaky = await bus.publish("generation:completed", completed("flaky"))
    broken = await bus.publish("generation:completed", completed("broken"))
    attempts: dict[str, int] = {flaky: 0, broken: 0}
    done: list[str] = []

    async def handler(event: Event) -> None:
        attempts[event.id] += 1
        if event.id == broken or attempts[event.id] < 2:
            raise RuntimeError("chat API down")
        done.append(event.id)

    task, stop = await run_consumer(c, handler)
    await until(lambda: done == [flaky] and attempts[broken] >= 3)
    await until(lambda: _no_pending(c))
    await asyncio.sleep(0.3)
    await stop_consumer(task, stop)
    assert attempts == {flaky: 2, broken: 3}


async def test_once_claims_a_key_one_time_per_group(
    redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    a = consumer(redis_client, key_prefix, "discord", "d-1")
    b = consumer(redis_client, key_prefix, "slack", "s-1")
    results = await asyncio.gather(*(a.once("1-0") for _ in range(20)))
    assert results.count(True) == 1
    assert await b.once("1-0")  # another adapter posts its own copy
    await a.forget("1-0")
    assert await a.once("1-0")
