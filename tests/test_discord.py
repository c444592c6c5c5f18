"""The Discord adapter end to end: the real discord.py client against a fake Discord
(tests/fake_discord.py) on 127.0.0.1, a real Redis, and the real worker rendering audio."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
import soundfile
from pydantic import SecretStr

from adapters.discord_bot import run_discord
from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.jobs import JobRecord
from bot.services import Services
from tests.fake_discord import CHANNEL_ID, USER_ID, FakeDiscord
from tests.workers import run_worker


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


def bot_services(services: Services, fake: FakeDiscord, **discord: Any) -> Services:
    """The test's services with a token and the discord section aimed at the fake."""
    section = services.settings.discord.model_copy(
        update={
            "api_base": fake.api_base,
            "gateway_url": fake.gateway_url,
            "edit_interval": 0.5,
            "ready_timeout": 0.05,
            **discord,
        }
    )
    settings = services.settings.model_copy(update={"discord": section})
    secrets = Secrets(discord_token=SecretStr("fake-token"))
    return dataclasses.replace(services, settings=settings, secrets=secrets)


@asynccontextmanager
async def running_bot(services: Services) -> AsyncIterator[asyncio.Task[None]]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_discord(services, stop, ready=ready))
    try:
        async with asyncio.timeout(15):
            while not ready.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    async with asyncio.timeout(timeout):
        while not (value := check()):
            await asyncio.sleep(0.05)
    return value


def edits_of(fake: FakeDiscord, message_id: str) -> list[Any]:
    return [c for c in fake.of("PATCH", rf"/messages/{message_id}$") if c.status == 200]


def final_edit(fake: FakeDiscord, message_id: str) -> Any:
    return next((c for c in edits_of(fake, message_id) if c.files), None)


def status_message(fake: FakeDiscord, channel_id: str) -> str | None:
    """The id of the first message the bot posted in a channel."""
    mine = [m for m in fake.thread_messages(channel_id) if m["author"]["id"] != str(USER_ID)]
    return mine[0]["id"] if mine else None


def song_wav(seconds: float, sr: int = 44100) -> bytes:
    """A quiet chord with a pulse: a track to master that is clearly below club level."""
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    pulse = np.sin(2 * np.pi * 55 * t) * np.exp(-((t % 0.5) * 12))
    audio = (0.1 * (chord + pulse)).astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, np.stack([audio, audio], axis=1), sr, format="WAV")
    return out.getvalue()


def audio_seconds(data: bytes) -> float:
    info = soundfile.info(io.BytesIO(data))
    return info.frames / info.samplerate


async def beat_in_thread(fake: FakeDiscord, prompt: str) -> tuple[str, str]:
    """Mention the bot; returns (thread id, status message id) once the job is queued."""
    await fake.say(prompt)
    thread_id = await until(
        lambda: next((c["id"] for c in fake.channels.values() if c["type"] == 11), None)
    )
    status = await until(lambda: status_message(fake, thread_id))
    await until(
        lambda: any("On it:" in (c.json or {}).get("content", "") for c in edits_of(fake, status))
    )
    return thread_id, status


def fields_of(call: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in call.json["embeds"][0]["fields"]}


def buttons_of(call: Any) -> list[dict[str, Any]]:
    return [b for row in call.json["components"] for b in row["components"]]


async def test_discord_mention_opens_thread_and_posts_the_beat(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        thread_id, status = await beat_in_thread(fake, "make a dark trap beat at 140 for 4 s")
        assert "dark trap beat at 140" in fake.channels[thread_id]["name"]
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    fields = fields_of(final)
    assert fields["Genre"] == "trap" and fields["BPM"] == "140" and fields["Mood"] == "dark"
    assert "LUFS" in fields["Loudness"] and fields["Seed"].isdigit()
    mp3 = next(data for name, data in final.files if name.endswith(".mp3"))
    assert abs(audio_seconds(mp3) - float(fields["Duration"].split()[0])) < 0.2
    assert any(name.endswith(".png") for name, _ in final.files)
    labels = [b["label"] for b in buttons_of(final)]
    assert labels == ["Variation", "Faster", "Slower", "Stems", "Master", "MIDI"]
    assert all(b["custom_id"].startswith("beatbot:") for b in buttons_of(final))
    assert final.json["allowed_mentions"] == {"parse": []}


async def test_discord_progress_edits_are_throttled(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    interval = 0.6
    async with running_bot(bot_services(services, fake, edit_interval=interval)):
        _thread, status = await beat_in_thread(fake, "make a house beat for 6 seconds")
        await run_worker(settings, redis_handle)
        await until(lambda: final_edit(fake, status))
    progress = [
        _
        for _, name, _ in await services.events.read_since("0", count=1000)
        if name == "generation:progress"
    ]
    edits = [c for c in edits_of(fake, status) if not c.files]
    bars = [c for c in edits if "%" in c.json.get("content", "")]
    assert 2 <= len(bars) < len(progress) + 1  # accepted line + throttled progress
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]
    assert all(gap >= interval * 0.9 for gap in gaps), gaps
    assert any("· Queued" in c.json["content"] for c in bars)
    assert any(
        c.json["content"].endswith(("Composing", "Rendering", "Mixing", "Mastering"))
        or "% · " in c.json["content"]
        for c in bars[1:]
    )


async def test_discord_slash_beat_is_deferred_then_followed_up(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        synced = fake.of("PUT", r"/applications/\d+/commands$")
        assert {"beat", "stems", "mix", "master", "genres", "help", "history", "settings"} <= {
            c["name"] for c in synced[0].json
        }
        token = await fake.slash("beat", {"genre": "lo-fi", "bpm": 85, "duration": 4})
        callback = await until(lambda: fake.of("POST", rf"/interactions/\d+/{token}/callback"))
        assert callback[0].json["type"] == 5  # deferred "thinking", within the 3 s
        followup = await until(lambda: fake.of("POST", rf"/webhooks/\d+/{token}$"))
        status = next(m["id"] for m in fake.messages.values() if m.get("webhook_id"))
        await until(
            lambda: any(
                "On it:" in (c.json or {}).get("content", "") for c in edits_of(fake, status)
            )
        )
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    assert callback[0].at <= followup[0].at
    fields = fields_of(final)
    assert fields["Genre"] == "lo-fi" and fields["BPM"] == "85"
    assert any(name.endswith(".mp3") for name, _ in final.files)


async def test_discord_button_click_posts_a_variation_in_the_same_thread(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        thread_id, status = await beat_in_thread(fake, "make a boom bap beat for 4 seconds")
        await run_worker(settings, redis_handle)
        first = await until(lambda: final_edit(fake, status))
        faster = next(b for b in buttons_of(first) if b["label"] == "Faster")
    # A restart in between: the button must still work (persistent, id in custom_id).
    async with running_bot(bot_services(services, fake)):
        token = await fake.click(faster["custom_id"], status, thread_id)
        callback = await until(lambda: fake.of("POST", rf"/interactions/\d+/{token}/callback"))
        assert callback[0].json["type"] == 6  # deferred update
        second = await until(
            lambda: [
                m["id"]
                for m in fake.thread_messages(thread_id)
                if m["id"] != status and m["author"].get("bot")
            ]
        )
        await until(lambda: edits_of(fake, second[0]))
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, second[0]))
        # A follow-up in the thread needs no mention.
        await fake.say("make it slower", channel_id=thread_id, mention=False)
        third = await until(
            lambda: [
                m
                for m in fake.thread_messages(thread_id)
                if m["author"].get("bot") and m["id"] not in (status, second[0])
            ]
        )
        await until(
            lambda: any(
                "On it:" in (c.json or {}).get("content", "")
                for c in edits_of(fake, third[0]["id"])
            )
        )
    assert float(fields_of(final)["BPM"]) > float(fields_of(first)["BPM"])
    assert fields_of(final)["Genre"] == "boom bap"


async def test_discord_attachment_is_mastered(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeDiscord,
    tmp_path: Any,
) -> None:
    song = song_wav(seconds=3.0)
    async with running_bot(bot_services(services, fake)):
        await fake.say("master this for club", attachments=[("song.wav", song, "audio/wav")])
        thread_id = await until(
            lambda: next((c["id"] for c in fake.channels.values() if c["type"] == 11), None)
        )
        status = await until(lambda: status_message(fake, thread_id))
        await until(
            lambda: any(
                "Mastering song.wav" in (c.json or {}).get("content", "")
                for c in edits_of(fake, status)
            )
        )
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    audio = next(data for name, data in final.files if name.endswith((".wav", ".mp3", ".flac")))
    assert abs(audio_seconds(audio) - 3.0) < 0.1
    assert abs(float(fields_of(final)["Loudness"].split()[0]) - (-8.0)) <= 0.5


async def test_discord_bad_input_gets_a_friendly_sentence(
    services: Services, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        await fake.say("make a trap beat at 999 bpm @everyone")
        thread_id = await until(
            lambda: next((c["id"] for c in fake.channels.values() if c["type"] == 11), None)
        )
        status = await until(lambda: status_message(fake, thread_id))
        edit = await until(lambda: [c for c in edits_of(fake, status) if "⚠" in c.json["content"]])
        await fake.say("stems", channel_id=thread_id, mention=False)  # nothing made yet
        await until(lambda: len([c for c in fake.calls if "⚠" in str(c.json)]) >= 2)
    text = edit[0].json["content"]
    assert "40-240 BPM" in text and "Traceback" not in text
    assert "@everyone" not in fake.channels[thread_id]["name"]  # echoed prompt can't ping
    sent = [c for c in fake.calls if c.method in ("POST", "PATCH") and c.json]
    assert all(c.json.get("allowed_mentions") == {"parse": []} for c in sent if "content" in c.json)
    assert not any("Traceback" in str(c.json) for c in sent)


async def test_discord_survives_a_429_on_the_final_edit(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake, edit_interval=60)):
        _thread, status = await beat_in_thread(fake, "make a techno beat for 4 seconds")
        fake.rate_limit("PATCH", rf"/messages/{status}$", times=2, retry_after=0.3)
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    limited = [c for c in fake.of("PATCH", rf"/messages/{status}$") if c.status == 429]
    assert len(limited) == 2 and final.at - limited[-1].at >= 0.25
    assert fields_of(final)["Genre"] == "techno"


async def test_discord_restart_mid_job_posts_the_clip_once(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    bot = bot_services(services, fake)
    async with running_bot(bot):
        thread_id, status = await beat_in_thread(fake, "make a drill beat for 4 seconds")
    await run_worker(settings, redis_handle)  # finishes while the bot is down
    assert final_edit(fake, status) is None
    async with running_bot(bot):
        final = await until(lambda: final_edit(fake, status))
        await asyncio.sleep(1.5)  # any duplicate would arrive by now
    async with running_bot(bot):
        await asyncio.sleep(1.0)
    finals = [c for c in edits_of(fake, status) if c.files]
    assert len(finals) == 1 and fields_of(final)["Genre"] == "drill"
    assert final.path == f"/channels/{thread_id}/messages/{status}"


async def test_discord_attachment_over_the_limit_becomes_a_link(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake, upload_limit_mb=0.05)):
        _thread, status = await beat_in_thread(fake, "make a jazz beat for 4 seconds")
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    names = [name for name, _ in final.files]
    assert not any(name.endswith(".mp3") for name in names)
    assert any(name.endswith(".png") for name in names)
    assert settings.storage.public_url in final.json["content"]
    assert sum(len(data) for _, data in final.files) <= 0.05 * 2**20


async def test_discord_replies_in_channel_when_threads_are_not_allowed(
    services: Services, fake: FakeDiscord
) -> None:
    fake.threads_allowed = False
    async with running_bot(bot_services(services, fake)):
        asked = await fake.say("help")
        reply = await until(
            lambda: [m for m in fake.thread_messages(str(CHANNEL_ID)) if m["author"].get("bot")]
        )
        await until(lambda: edits_of(fake, reply[0]["id"]))
    post = fake.of("POST", rf"/channels/{CHANNEL_ID}/messages$")[0]
    assert str(post.json["message_reference"]["message_id"]) == asked["id"]


async def test_discord_slash_genres_and_settings(services: Services, fake: FakeDiscord) -> None:
    async with running_bot(bot_services(services, fake)):
        token = await fake.slash("settings", {"duration": 5.0, "quality": "club"})
        saved = await until(lambda: fake.of("POST", rf"/webhooks/\d+/{token}$"))
        token = await fake.slash("genres")
        status = await until(
            lambda: next(
                (
                    m["id"]
                    for m in fake.messages.values()
                    if m.get("webhook_id") and m["content"] != saved[0].json["content"]
                ),
                None,
            )
        )
        listing = await until(lambda: edits_of(fake, status))
    assert "duration 5" in saved[0].json["content"] and "quality club" in saved[0].json["content"]
    assert saved[0].json["flags"] & 64  # only the person who asked sees their settings
    assert "trap" in listing[0].json["content"] and "drum and bass" in listing[0].json["content"]


async def test_discord_settings_shape_the_next_beat(services: Services, fake: FakeDiscord) -> None:
    async with running_bot(bot_services(services, fake)):
        token = await fake.slash("settings", {"duration": 6.0, "quality": "club", "format": "wav"})
        await until(lambda: fake.of("POST", rf"/webhooks/\d+/{token}$"))
        await fake.slash("beat", {"genre": "house"})
        prefix = services.settings.queue.key_prefix

        async def queued() -> list[JobRecord]:
            found = [k async for k in services.redis.scan_iter(match=f"{prefix}:job:*")]
            return [await services.queue.status(k.decode().rsplit(":", 1)[1]) for k in found]

        jobs: list[JobRecord] = []
        for _ in range(100):
            if jobs := await queued():
                break
            await asyncio.sleep(0.1)
    assert len(jobs) == 1, jobs
    data = jobs[0].data
    assert (data["genre"], data["format"], data["quality"]) == ("house", "wav", "club")
    assert data["duration"] == 6 and data["target_lufs"] == -8
