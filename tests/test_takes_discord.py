"""Several takes on Discord: the real discord.py client against the fake Discord, a real
Redis, the real worker with three render processes, the posted audio measured."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState
from bot.services import Services
from tests.fake_discord import USER_ID, FakeDiscord
from tests.takes_measure import assert_rendered_side_by_side, assert_takes_differ
from tests.test_discord import (  # noqa: F401
    beat_in_thread,
    bot_services,
    buttons_of,
    fake,
    fields_of,
    final_edit,
    queued_jobs,
    running_bot,
    until,
)
from tests.workers import run_worker


def said(server: FakeDiscord, words: str) -> dict[str, Any] | None:
    """The first message (or follow-up) the bot sent with these words in it."""
    for call in server.calls:
        content = (call.json or {}).get("content") if isinstance(call.json, dict) else None
        if call.method in ("POST", "PATCH") and content and words in content:
            return call.json
    return None


async def test_discord_takes_post_one_message_with_a_clip_and_a_pick_button_each(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeDiscord,  # noqa: F811
) -> None:
    async with running_bot(bot_services(services, fake)):
        thread_id, status = await beat_in_thread(fake, "3 takes of a house beat for 8 seconds")
        takes = await queued_jobs(services, 3)
        assert (await services.limits.usage(str(USER_ID))).used == pytest.approx(3 * 8)
        # Take 3's request goes bad before it runs: the engine refuses it with a sentence.
        await services.jobs.update(takes[2].job_id, data={**takes[2].data, "key": "H#"})
        await run_worker(settings, redis_handle, render_processes=3)
        final = await until(lambda: final_edit(fake, status), timeout=60)
        pick = next(b for b in buttons_of(final) if b["label"] == "Pick 2")
        token = await fake.click(pick["custom_id"], status, thread_id)
        await until(lambda: said(fake, "Take 2 is now the clip"))
        await fake.say("make it faster", channel_id=thread_id, mention=False)
        jobs = await queued_jobs(services, 4)

    records = [await services.queue.status(t.job_id) for t in takes]
    assert [r.state for r in records] == [JobState.COMPLETED] * 2 + [JobState.FAILED]
    assert_rendered_side_by_side(records[:2])
    # One message: the takes that were made, a pick button each, and the one that failed.
    assert final.json["content"].startswith("2 takes of your")
    assert "Take 3 failed: I don't know the key 'H#'" in final.json["content"]
    mp3s = [(name, data) for name, data in final.files if name.endswith(".mp3")]
    assert [name for name, _ in mp3s] == ["take1-beat.mp3", "take2-beat.mp3"]
    assert_takes_differ([data for _, data in mp3s], seconds=records[0].result["duration"])
    assert [b["label"] for b in buttons_of(final)] == ["Pick 1", "Pick 2"]
    assert fields_of(final)["Genre"] == "house"
    assert (await services.limits.usage(str(USER_ID))).used == pytest.approx(2 * 8 + 8)
    # Pick 2, then "make it faster": the new beat is take 2's, faster.
    picked = said(fake, "Take 2 is now the clip")
    assert picked is not None and f"seed {records[1].data['seed']}" in picked["content"]
    assert token
    faster = jobs[-1]
    assert faster.data["seed"] == records[1].data["seed"]
    assert faster.data["bpm"] > records[1].data["bpm"]
