"""Several takes on Slack: real slack-bolt/slack-sdk against the fake Slack, a real Redis, the
real worker with three render processes, the uploaded audio measured."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState
from bot.services import Services
from tests.fake_slack import FakeSlack, button_form, event_payload, post_signed
from tests.takes_measure import assert_rendered_side_by_side, assert_takes_differ
from tests.test_slack import (  # noqa: F401
    CHANNEL,
    TS,
    fake,
    mention_and_wait,
    running_bot,
    slack_services,
    thread_posts,
)
from tests.workers import run_worker


def in_thread(text: str, ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "U0ADA",
        "text": text,
        "ts": ts,
        "thread_ts": TS,
    }


def takes_card(slack: FakeSlack) -> dict[str, Any] | None:
    cards = [p for p in thread_posts(slack, TS) if "Take 1" in str(p.get("blocks"))]
    return cards[-1] if cards else None


def said(slack: FakeSlack, words: str) -> str | None:
    texts = [str(p.get("text")) for p in thread_posts(slack, TS)]
    texts += [str(r.get("text")) for r in slack.responses]
    return next((t for t in texts if words in t), None)


async def test_slack_takes_post_one_card_with_a_pick_button_per_take(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeSlack,  # noqa: F811
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        await mention_and_wait(bot, fake, "3 takes of a drill beat for 8 seconds")
        state = await services.conversation.last(("slack", CHANNEL, TS))
        assert state is not None and state.takes
        group = await services.queue.takes.get(state.takes)
        assert group is not None
        assert (await services.limits.usage("U0ADA")).used == pytest.approx(3 * 8)
        await run_worker(settings, redis_handle, render_processes=3)
        card = await fake.wait_for(lambda: takes_card(fake), what="takes card")
        sections = card["blocks"][1:]
        buttons = [s["accessory"] for s in sections]
        card_ts = next(ts for (_, ts), m in fake.messages.items() if m.get("blocks"))
        pick = buttons[1]
        form = button_form(pick["action_id"], pick["value"], CHANNEL, card_ts, TS, fake.respond_url)
        assert (await post_signed(bot.client, form))[0] == 200
        await bot.adapter.drain()
        event = event_payload(in_thread("make it faster", "1699999999.000400"))
        assert (await post_signed(bot.client, event))[0] == 200
        await bot.adapter.drain()

    records = [await services.queue.status(t.job_id) for t in group.takes]
    assert all(r.state is JobState.COMPLETED for r in records)
    assert_rendered_side_by_side(records)
    assert len([p for p in thread_posts(fake, TS) if "takes of your" in str(p.get("text"))]) == 1
    assert [b["text"]["text"] for b in buttons] == ["Pick 1", "Pick 2", "Pick 3"]
    assert [b["action_id"] for b in buttons] == [
        "beatbot:pick-1",
        "beatbot:pick-2",
        "beatbot:pick-3",
    ]
    assert [b["value"] for b in buttons] == [r.generation_id for r in records]
    seeds = [r.data["seed"] for r in records]
    assert [s["text"]["text"].split(" · ")[1] for s in sections] == [f"seed {s}" for s in seeds]
    clips = sorted(
        (f for f in fake.shared_files() if f.name.endswith(".mp3")), key=lambda f: f.name
    )
    assert [f.name for f in clips] == ["take1-beat.mp3", "take2-beat.mp3", "take3-beat.mp3"]
    assert_takes_differ([f.data for f in clips], seconds=records[0].result["duration"])

    picked = said(fake, "Take 2 is now the clip")
    assert picked is not None and f"seed {seeds[1]}" in picked
    jobs = await services.jobs.in_flight(services.queue.queue_name, "U0ADA")
    [faster] = [j for j in jobs if j.job_id not in {r.job_id for r in records}]
    assert faster.data["seed"] == seeds[1] and faster.data["bpm"] > records[1].data["bpm"]
