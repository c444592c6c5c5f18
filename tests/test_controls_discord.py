"""Issue 22 on Discord, end to end (real discord.py against tests/fake_discord.py, a real Redis,
the real worker): "extend it by 2 bars" in a beat's thread posts a clip 2 bars longer that
says so, and the "Mute drums" button under it posts the beat again without drums."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.connections import RedisHandle
from bot.services import Services
from tests.fake_discord import FakeDiscord
from tests.test_discord import (
    audio_seconds,
    beat_in_thread,
    bot_posts,
    bot_services,
    buttons_of,
    final_edit,
    running_bot,
    until,
)
from tests.workers import run_worker

BAR_SECONDS = 4 * 60 / 90


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


def clip_of(call: object) -> float:
    [(_, data)] = [(n, d) for n, d in call.files if n.endswith(".mp3")]  # type: ignore[attr-defined]
    return audio_seconds(data)


async def test_discord_extend_then_mute_drums_in_the_beats_thread(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        thread_id, status = await beat_in_thread(fake, "boom bap at 90 bpm for 8 seconds")
        await run_worker(settings, redis_handle)
        first = await until(lambda: final_edit(fake, status))

        await fake.say("extend it by 2 bars", channel_id=thread_id, mention=False)
        [second] = await until(lambda: [m["id"] for m in bot_posts(fake, thread_id)[1:]])
        await run_worker(settings, redis_handle)
        extended = await until(lambda: final_edit(fake, second))

        mute = next(b for b in buttons_of(extended) if b["label"] == "Mute drums")
        await fake.click(mute["custom_id"], second, thread_id)
        third = await until(lambda: [m["id"] for m in bot_posts(fake, thread_id)[2:]])
        await run_worker(settings, redis_handle)
        muted = await until(lambda: final_edit(fake, third[0]))

    assert clip_of(extended) - clip_of(first) == pytest.approx(2 * BAR_SECONDS, abs=0.05)
    assert "Extended by 2 bars to 13 s (5 bars)." in extended.json["content"]
    assert "Stems" in [b["label"] for b in buttons_of(extended)]
    # the muted beat is the extended one without drums: as long, and its card says so
    assert clip_of(muted) == pytest.approx(clip_of(extended), abs=0.05)
    assert "No drums." in muted.json["content"]
    labels = [b["label"] for b in buttons_of(muted)]
    assert "Drums back" in labels and "Mute drums" not in labels and "Mute melody" in labels
