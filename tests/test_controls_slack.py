"""Issue 22 on Slack, end to end (the real adapter against tests/fake_slack.py, a real Redis,
the real worker): "extend it by 2 bars" in a beat's thread uploads a clip 2 bars longer with
a card that says so, and its "Mute drums" button makes the beat again without drums."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.connections import RedisHandle
from bot.services import Services
from tests.fake_slack import FakeSlack, button_form, event_payload, post_signed
from tests.test_slack import (
    CHANNEL,
    TS,
    decoded_seconds,
    mention_and_wait,
    running_bot,
    slack_services,
    thread_posts,
)
from tests.workers import run_worker

BAR_SECONDS = 4 * 60 / 90


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def cards(fake: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in thread_posts(fake, TS) if p.get("blocks")]


def card_ts(fake: FakeSlack, text: str) -> str:
    return next(ts for (_, ts), m in fake.messages.items() if m.get("blocks") and text in m["text"])


def clips(fake: FakeSlack, folder: Path) -> list[float]:
    """The seconds of every MP3 shared in the thread, in order."""
    shared = [f for f in fake.shared_files() if f.name.endswith(".mp3")]
    return [decoded_seconds(f.data, f"{i}-{f.name}", folder) for i, f in enumerate(shared)]


async def test_slack_extend_then_mute_drums_in_the_beats_thread(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        await mention_and_wait(bot, fake, "boom bap at 90 bpm for 8 seconds")
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: len(cards(fake)) == 1, what="first card")
        follow_up = {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": "U0BOB",
            "text": "extend it by 2 bars",
            "ts": "1699999999.000400",
            "thread_ts": TS,
        }
        assert (await post_signed(bot.client, event_payload(follow_up)))[0] == 200
        await bot.adapter.drain()
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: len(cards(fake)) == 2, what="extended card")
        extended = cards(fake)[1]
        mute = next(
            b for b in extended["blocks"][1]["elements"] if b["text"]["text"] == "Mute drums"
        )
        form = button_form(
            mute["action_id"],
            mute["value"],
            CHANNEL,
            card_ts(fake, "Extended by"),
            TS,
            fake.respond_url,
        )
        assert (await post_signed(bot.client, form))[0] == 200
        await bot.adapter.drain()
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: len(cards(fake)) == 3, what="muted card")

    first, longer, muted = clips(fake, tmp_path)
    assert longer - first == pytest.approx(2 * BAR_SECONDS, abs=0.05)
    assert muted == pytest.approx(longer, abs=0.05)
    assert "Extended by 2 bars to 13 s (5 bars)." in extended["text"]
    last = cards(fake)[2]
    assert "No drums." in last["text"] and "Extended by" not in last["text"]
    labels = [b["text"]["text"] for b in last["blocks"][1]["elements"]]
    assert "Drums back" in labels and "Mute melody" in labels and "Stems" in labels
    assert "beatbot:drums-back" in [b["action_id"] for b in last["blocks"][1]["elements"]]
