"""Several takes through the assistant: real Redis, the real worker with three render
processes, real audio. The surfaces (Discord, Slack, widget/API, terminal) have their own
end-to-end tests; this file covers what they share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.assistant import Assistant, replies_for_event
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.intents import parse
from bot.jobs import JobRecord, JobState, Origin
from bot.messages import ErrorReply, JobAccepted, Message, Reply, ResultReply, TextReply
from bot.queue import CANCELLED
from bot.services import Services
from bot.takes import pick_command, pick_number
from bot.tasks import run_job
from tests.takes_measure import assert_rendered_side_by_side, assert_takes_differ
from tests.workers import run_worker

ASK = "3 takes of a house beat for 8 seconds"


def message(text: str, thread: str = "t1", generation_id: str | None = None) -> Message:
    origin = Origin(platform="cli", channel="terminal", thread=thread, user="ada")
    return Message(text, origin, generation_id=generation_id)


async def say(services: Services, text: str, **kw: Any) -> list[Reply]:
    return [r async for r in Assistant(services).handle(message(text, **kw))]


async def events(services: Services) -> list[tuple[str, dict[str, Any]]]:
    return [(name, data) for _, name, data in await services.events.read_since("0", count=5000)]


async def records(services: Services, accepted: JobAccepted) -> list[JobRecord]:
    return [await services.queue.status(job_id) for job_id in accepted.take_jobs]


@pytest.fixture
async def worker_run(settings: Settings, redis_handle: RedisHandle) -> AsyncIterator[Any]:
    async def run() -> None:
        await run_worker(settings, redis_handle, render_processes=3)

    yield run


@pytest.mark.parametrize(
    ("text", "kind", "takes"),
    [
        ("give me 4 versions", "variation", 4),
        ("3 takes of a drill beat", "generate", 3),
        ("four options of a lofi beat", "generate", 4),
        ("give me a couple of versions", "variation", 2),
        ("make a trap beat", "generate", None),
        ("16 bars of drill", "generate", None),
    ],
)
def test_takes_are_read_from_the_message(text: str, kind: str, takes: int | None) -> None:
    intent = parse(text)
    assert intent.kind == kind
    assert intent.params.get("takes") == takes


def test_picks_are_read_from_words_and_buttons() -> None:
    assert [pick_number(t) for t in ("pick 2", "take two", "I'll take 3", "pick take 4")] == [
        2,
        2,
        3,
        4,
    ]
    assert pick_number("pick a genre") is None and pick_number("take it slower") is None
    assert pick_command("pick-3") == "pick 3" and pick_command("faster") is None


async def test_three_takes_render_side_by_side_post_once_and_pick_two_carries_on(
    services: Services, worker_run: Any
) -> None:
    [accepted] = await say(services, ASK)
    assert isinstance(accepted, JobAccepted) and len(accepted.take_jobs) == 3
    assert "3 takes of a" in accepted.text and "house" in accepted.text
    usage = await services.limits.usage("ada")
    assert usage.used == pytest.approx(3 * 8)  # the quota counts every take
    await worker_run()

    takes = await records(services, accepted)
    assert all(r.state is JobState.COMPLETED for r in takes)
    assert_rendered_side_by_side(takes)
    seeds = [r.data["seed"] for r in takes]
    assert len(set(seeds)) == 3 and seeds == list(range(seeds[0], seeds[0] + 3))
    # A take announced again (a re-run after its worker died) changes nothing: one result.
    for record in takes:
        assert await run_job({"services": services, "job_try": 2}, record.job_id) == record.result
    stream = await events(services)
    finished = [d for n, d in stream if n == "generation:completed" and "take" not in d]
    assert len(finished) == 1 and finished[0]["jobId"] == accepted.job_id  # one result
    assert not [n for n, _ in stream if n.startswith("daw:")]  # nothing loaded before a pick
    group_progress = [
        d["percent"] for n, d in stream if n == "generation:progress" and "take" not in d
    ]
    assert group_progress == sorted(group_progress) and len(group_progress) >= 3
    assert all(0 < p < 100 for p in group_progress)
    # Chats see one result: the takes' own events show nothing.
    shown = [replies_for_event(n, d, services.store) for n, d in stream]
    results = [r for r in shown if isinstance(r, ResultReply)]
    assert len(results) == 1
    result = results[0]
    assert [a.label for a in result.actions] == ["Pick 1", "Pick 2", "Pick 3"]
    assert [a.generation_id for a in result.actions] == [r.generation_id for r in takes]
    audio = [f for f in result.files if f.kind == "audio"]
    assert [f.take for f in audio] == [1, 2, 3]
    assert_takes_differ([f.path for f in audio], seconds=takes[0].result["duration"])

    [picked] = await say(services, "pick 2")
    assert isinstance(picked, TextReply)
    assert picked.text.startswith(f"Take 2 is now the clip: house, 124 BPM, seed {seeds[1]}.")
    state = await services.conversation.last(message("").origin.thread_key)
    assert state is not None and state.generation_id == takes[1].generation_id
    loaded = [d for n, d in await events(services) if n == "daw:audio:loaded"]
    assert [d["generationId"] for d in loaded] == [takes[1].generation_id]

    [faster] = await say(services, "make it faster")
    assert isinstance(faster, JobAccepted)
    follow_up = await services.queue.status(faster.job_id)
    assert follow_up.data["seed"] == seeds[1] and follow_up.data["bpm"] > 124
    assert "take" not in follow_up.data  # an ordinary beat again


async def test_a_pick_button_names_its_take_in_any_thread_state(
    services: Services, worker_run: Any
) -> None:
    [accepted] = await say(services, "2 versions of a drill beat for 8 seconds")
    await worker_run()
    takes = await records(services, accepted)
    [picked] = await say(services, "pick 1", generation_id=takes[0].generation_id)
    assert isinstance(picked, TextReply) and picked.text.startswith("Take 1 is now the clip")
    assert [a.label for a in picked.actions][:3] == ["Variation", "Faster", "Slower"]
    [stems] = await say(services, "stems")
    assert isinstance(stems, JobAccepted)  # the picked take's stems, from its own seed
    job = await services.queue.status(stems.job_id)
    assert job.data["beat"]["seed"] == takes[0].data["seed"]
    assert job.data["generation_id"] == takes[0].generation_id
    [midi] = await say(services, "midi")
    assert isinstance(midi, ResultReply) and midi.generation_id == takes[0].generation_id
    [notes] = [f for f in midi.files if f.kind == "midi"]
    assert notes.path.parent.name == takes[0].generation_id and notes.size > 100


async def test_a_failing_take_is_reported_and_the_others_are_posted(
    services: Services, worker_run: Any
) -> None:
    [accepted] = await say(services, "2 takes of a house beat for 8 seconds")
    broken = await services.queue.status(accepted.take_jobs[1])
    # Take 2's request goes bad before it runs: the engine refuses it with a sentence.
    await services.jobs.update(broken.job_id, data={**broken.data, "key": "H#"})
    await worker_run()

    stream = await events(services)
    [completed] = [d for n, d in stream if n == "generation:completed" and "take" not in d]
    result = replies_for_event("generation:completed", completed, services.store)
    assert isinstance(result, ResultReply)
    assert [a.label for a in result.actions] == ["Pick 1"]
    assert "Take 2 failed: I don't know the key 'H#'" in result.text
    assert len([f for f in result.files if f.kind == "audio"]) == 1
    usage = await services.limits.usage("ada")
    assert usage.used == pytest.approx(8)  # the failed take gave its audio back
    [answer] = await say(services, "pick 2")
    assert isinstance(answer, TextReply) and "Take 2 didn't make it (I don't know" in answer.text
    assert answer.text.endswith("Pick another: 1.")


async def test_cancel_cancels_every_take_and_says_so_once(
    services: Services, worker_run: Any
) -> None:
    [accepted] = await say(services, ASK)
    [status] = await say(services, "status")
    assert isinstance(status, TextReply) and status.text.startswith("Your 3 takes: 3 waiting.")
    [cancelled] = await say(services, "cancel")
    assert isinstance(cancelled, TextReply) and cancelled.text.startswith("Cancelled 3 takes")
    await worker_run()
    takes = await records(services, accepted)
    assert all(r.state is JobState.FAILED and r.error == CANCELLED for r in takes)
    stream = await events(services)
    failed = [d for n, d in stream if n == "generation:failed" and "take" not in d]
    assert len(failed) == 1 and failed[0]["jobId"] == accepted.job_id
    assert failed[0]["error"].startswith("None of the 3 takes finished.")
    assert not [n for n, d in stream if n == "generation:completed"]
    [status] = await say(services, "status")
    assert isinstance(status, TextReply) and status.text.startswith("Your 3 takes: 3 failed.")


async def test_one_take_is_a_beat_and_more_than_four_is_a_sentence(
    services: Services,
) -> None:
    [one] = await say(services, "1 version of a trap beat for 8 seconds")
    assert isinstance(one, JobAccepted) and one.take_jobs == ()
    assert (await services.queue.status(one.job_id)).data.get("take") is None
    [many] = await say(services, "give me 5 versions of a trap beat")
    assert isinstance(many, TextReply)
    assert many.text == (
        "5 takes is more than I make at once; ask for 2 to 4 (e.g. “give me 4 versions”)."
    )
    [none] = await say(services, "pick 2", thread="t-empty")
    assert isinstance(none, TextReply) and none.text.startswith("There are no takes")


async def test_takes_that_do_not_fit_todays_quota_queue_nothing(
    settings: Settings, redis_handle: RedisHandle, redis_client: Any
) -> None:
    tight = load_settings(
        data_dir=settings.data_dir,
        env={
            "BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix,
            "BEATBOT_LIMITS__DAILY_AUDIO_SECONDS": "20",
        },
    )
    services = await Services.open(tight, Secrets.from_env({}), redis_handle, render_processes=1)
    try:
        [refused] = await say(services, ASK)  # 3 x 8 s of audio, 20 s a day
        assert isinstance(refused, ErrorReply)
        assert refused.text.startswith("That needs 24 seconds of audio but you have 20 seconds")
        assert (await services.limits.usage("ada")).used == 0
        assert (await services.queue.stats())["total"] == 0
        [fits] = await say(services, "2 takes of a house beat for 8 seconds")
        assert isinstance(fits, JobAccepted) and len(fits.take_jobs) == 2
    finally:
        await services.close()
