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

from adapters.discord.app import run_discord
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


def threads(fake: FakeDiscord) -> list[str]:
    return [c["id"] for c in fake.channels.values() if c["type"] == 11]


def bot_posts(fake: FakeDiscord, channel_id: str) -> list[dict[str, Any]]:
    """Public messages the bot posted in a channel (interaction answers excluded)."""
    return [
        m
        for m in fake.thread_messages(channel_id)
        if m["author"].get("bot") and not m.get("webhook_id")
    ]


async def queued_jobs(services: Services, count: int) -> list[JobRecord]:
    prefix = services.settings.queue.key_prefix

    async def found() -> list[JobRecord]:
        keys = [k async for k in services.redis.scan_iter(match=f"{prefix}:job:*")]
        return [await services.queue.status(k.decode().rsplit(":", 1)[1]) for k in keys]

    async with asyncio.timeout(20):
        while len(jobs := await found()) < count:
            await asyncio.sleep(0.05)
    return sorted(jobs, key=lambda j: j.created_at)


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
    assert labels == [
        "Variation", "Faster", "Slower", "Stems", "Mute drums", "Mute melody", "Master", "MIDI",
    ]  # fmt: skip
    assert all(b["custom_id"].startswith("beatbot:") for b in buttons_of(final))
    assert final.json["allowed_mentions"] == {"parse": []}
    # The status said the length the clip really has: 4 s at 140 BPM is 2 whole bars, 3 s.
    accepted = next(c for c in edits_of(fake, status) if "On it:" in c.json.get("content", ""))
    assert "3 s (2 bars)" in accepted.json["content"]
    assert "3 s" in final.json["content"]  # the result says the same length


async def test_discord_progress_shows_the_stages_of_a_short_job(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    """A 2 s beat renders in about a second: the edit throttle holds the newest stage and
    sends it when the interval is up, so the status moves through rendering, not 0 -> 100."""
    interval = 0.2
    async with running_bot(bot_services(services, fake, edit_interval=interval)):
        _thread, status = await beat_in_thread(fake, "make a house beat for 2 seconds")
        await run_worker(settings, redis_handle)
        await until(lambda: final_edit(fake, status))
    progress = [
        data
        for _, name, data in await services.events.read_since("0", count=1000)
        if name == "generation:progress"
    ]
    edits = [c for c in edits_of(fake, status) if not c.files]
    shown = [c.json["content"].splitlines()[-1] for c in edits if "%" in c.json["content"]]
    percents = [int(line.split("%")[0].split()[-1]) for line in shown]
    assert shown[0].endswith("0% · Queued")
    # Progress within the job, not 0% -> 100%: the first stage at once, then the newest
    # stage each interval (how many depends on how fast this machine renders).
    assert len([p for p in percents if 0 < p < 100]) >= 2, shown
    stages = {str(d["stage"]) for d in progress}
    assert all(line.split(" · ")[1] in stages for line in shown[1:]), shown
    assert percents == sorted(percents), shown  # never backwards
    assert len(shown) - 1 <= len(progress)  # no edit without a stage to show
    progress_edits = edits[1:]
    gaps = [b.at - a.at for a, b in itertools.pairwise(progress_edits)]
    assert all(gap >= interval * 0.9 for gap in gaps), gaps  # one edit per interval at most
    assert len({line for line in shown}) == len(shown), shown  # no edit repeats the last


async def test_discord_slash_beat_lives_in_a_thread_that_follow_ups_work_in(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        synced = fake.of("PUT", r"/applications/\d+/commands$")
        assert {"beat", "stems", "mix", "master", "genres", "help", "history", "settings"} <= {
            c["name"] for c in synced[0].json
        }
        token = await fake.slash("beat", {"genre": "lo-fi", "bpm": 85, "duration": 4})
        callback = await until(lambda: fake.of("POST", rf"/interactions/\d+/{token}/callback"))
        thread_id = await until(lambda: threads(fake) and threads(fake)[0])
        status = await until(lambda: status_message(fake, thread_id))
        await until(
            lambda: any(
                "On it:" in (c.json or {}).get("content", "") for c in edits_of(fake, status)
            )
        )
        # "make it faster" in that thread works as after a mention: no mention needed.
        await fake.say("make it faster", channel_id=thread_id, mention=False)
        first, second = await queued_jobs(services, 2)
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    assert callback[0].json["type"] == 5 and callback[0].json["data"]["flags"] & 64
    root = bot_posts(fake, str(CHANNEL_ID))[0]
    assert root["content"] == f"<@{USER_ID}> asked: make a lo-fi beat at 85 bpm for 4 seconds"
    create = fake.of("POST", r"/threads$")[0]
    assert create.path == f"/channels/{CHANNEL_ID}/messages/{root['id']}/threads"
    pointer = fake.originals[token]  # the private "thinking…" now points at the thread
    assert fake.private(pointer) and f"<#{thread_id}>" in pointer["content"]
    assert (first.data["genre"], first.data["bpm"]) == ("lo-fi", 85)
    assert second.data["genre"] == "lo-fi" and second.data["bpm"] > 85
    assert first.origin.thread == second.origin.thread == thread_id
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
        second = await until(lambda: [m["id"] for m in bot_posts(fake, thread_id)[1:]])
        await until(lambda: edits_of(fake, second[0]))
        await until(lambda: fake.of("DELETE", rf"/webhooks/\d+/{token}/messages/@original"))
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, second[0]))
    assert callback[0].json["type"] == 5 and callback[0].json["data"]["flags"] & 64
    assert float(fields_of(final)["BPM"]) > float(fields_of(first)["BPM"])
    assert fields_of(final)["Genre"] == "boom bap"
    assert token not in fake.originals  # nothing private to say: the placeholder went away


async def test_discord_chatter_in_a_thread_is_left_alone(
    services: Services, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        thread_id, _status = await beat_in_thread(fake, "make a drill beat for 4 seconds")
        await fake.say("this one slaps 🔥", channel_id=thread_id, mention=False)
        await fake.say("lol nice one", channel_id=thread_id, mention=False)
        await fake.say("stems", channel_id=thread_id, mention=False)  # a request: answered
        answer = await until(lambda: bot_posts(fake, thread_id)[1:])
        await asyncio.sleep(0.5)  # anything said to the chatter would be here by now
    assert len(bot_posts(fake, thread_id)) == 2, [m["content"] for m in bot_posts(fake, thread_id)]
    assert "still cooking" in answer[0]["content"]


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
        thread_id = await until(lambda: threads(fake) and threads(fake)[0])
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


async def test_discord_a_mention_that_is_an_error_answers_in_place(
    services: Services, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        asked = await fake.say("make a trap beat at 999 bpm @everyone")
        reply = await until(lambda: bot_posts(fake, str(CHANNEL_ID)))
        await fake.say("help")
        help_ = await until(lambda: bot_posts(fake, str(CHANNEL_ID))[1:])
    text = reply[0]["content"]
    assert text.startswith("⚠️") and "40-240 BPM" in text and "Traceback" not in text
    post = fake.of("POST", rf"/channels/{CHANNEL_ID}/messages$")[0]
    assert str(post.json["message_reference"]["message_id"]) == asked["id"]  # a reply to it
    assert threads(fake) == [] and fake.of("POST", r"/threads$") == []  # no thread for it
    assert "**I make beats from a sentence.**" in help_[0]["content"]  # markdown, in place
    sent = [c for c in fake.calls if c.method in ("POST", "PATCH") and c.json]
    assert all(c.json.get("allowed_mentions") == {"parse": []} for c in sent if "content" in c.json)
    assert not any("Traceback" in str(c.json) for c in sent)


async def test_discord_slash_help_errors_and_settings_are_private(
    services: Services, fake: FakeDiscord
) -> None:
    async with running_bot(bot_services(services, fake)):
        tokens = {
            "help": await fake.slash("help"),
            "genres": await fake.slash("genres"),
            "error": await fake.slash("beat", {"genre": "trap", "bpm": 200, "duration": 900.0}),
            "settings": await fake.slash("settings", {"duration": 5.0, "quality": "club"}),
            "history": await fake.slash("history"),
        }
        answers = {
            name: await until(lambda t=token: fake.originals.get(t, {}).get("content"))
            for name, token in tokens.items()
        }
    for name, token in tokens.items():
        assert fake.private(fake.originals[token]), name  # ephemeral: the asker only
    assert "**I make beats from a sentence.**" in answers["help"]
    assert "**trap**" in answers["genres"] and "**drum and bass**" in answers["genres"]
    assert answers["error"].startswith("⚠️") and "900 s is too long" in answers["error"]
    assert "duration 5" in answers["settings"] and "quality club" in answers["settings"]
    assert "No beats yet" in answers["history"]
    assert bot_posts(fake, str(CHANNEL_ID)) == [] and threads(fake) == []  # nothing public


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


async def test_discord_audio_over_the_limit_attaches_the_mp3_preview_and_links_the_rest(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeDiscord
) -> None:
    limit_mb = 0.4  # a 4 s WAV (about 0.7 MiB) doesn't fit; its MP3 preview does
    async with running_bot(bot_services(services, fake, upload_limit_mb=limit_mb)):
        token = await fake.slash("settings", {"format": "wav"})
        await until(lambda: fake.originals.get(token, {}).get("content"))
        _thread, status = await beat_in_thread(fake, "make a jazz beat for 4 seconds")
        await run_worker(settings, redis_handle)
        final = await until(lambda: final_edit(fake, status))
    names = [name for name, _ in final.files]
    assert not any(name.endswith(".wav") for name in names)
    assert "preview.mp3" in names and any(name.endswith(".png") for name in names)
    preview = next(data for name, data in final.files if name == "preview.mp3")
    assert abs(audio_seconds(preview) - 3.9) < 0.3  # the whole clip plays inline
    content = final.json["content"]
    assert settings.storage.public_url in content and "beat.wav" in content  # the rest: a link
    assert sum(len(data) for _, data in final.files) <= limit_mb * 2**20


async def test_discord_replies_in_channel_when_threads_are_not_allowed(
    services: Services, fake: FakeDiscord
) -> None:
    fake.threads_allowed = False
    async with running_bot(bot_services(services, fake)):
        asked = await fake.say("make a lo-fi beat for 4 seconds")
        reply = await until(lambda: bot_posts(fake, str(CHANNEL_ID)))
        await until(lambda: edits_of(fake, reply[0]["id"]))
    post = fake.of("POST", rf"/channels/{CHANNEL_ID}/messages$")[0]
    assert str(post.json["message_reference"]["message_id"]) == asked["id"]
    assert "On it:" in fake.messages[reply[0]["id"]]["content"]


async def test_discord_settings_shape_the_next_beat(services: Services, fake: FakeDiscord) -> None:
    async with running_bot(bot_services(services, fake)):
        token = await fake.slash("settings", {"duration": 6.0, "quality": "club", "format": "wav"})
        await until(lambda: fake.originals.get(token, {}).get("content"))
        await fake.slash("beat", {"genre": "house"})
        (job,) = await queued_jobs(services, 1)
    data = job.data
    assert (data["genre"], data["format"], data["quality"]) == ("house", "wav", "club")
    assert data["duration"] == 6 and data["target_lufs"] == -8


# --- misconfiguration is loud -------------------------------------------------------------


@pytest.mark.parametrize(
    ("break_it", "needle"),
    [
        (lambda fake: setattr(fake, "token", "someone-elses-token"), "DISCORD_TOKEN"),
        (lambda fake: setattr(fake, "message_content_enabled", False), "Message Content"),
    ],
    ids=["401-on-login", "4014-intent-off"],
)
async def test_discord_misconfiguration_is_one_sentence_in_healthz_and_doctor(
    services: Services,
    redis_handle: RedisHandle,
    fake: FakeDiscord,
    capsys: pytest.CaptureFixture[str],
    break_it: Callable[[FakeDiscord], None],
    needle: str,
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from adapters.cli.info import adapter_failures, check_chat
    from adapters.cli.service import _chat_task
    from adapters.daw_server import create_app

    break_it(fake)
    bot = bot_services(services, fake)
    task = _chat_task("Discord", run_discord(bot, asyncio.Event()))
    await asyncio.wait_for(task, 20)  # it stops on its own, without taking serve down
    printed = capsys.readouterr().err.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("Discord stopped: ")
    assert needle in printed[0] and "restart" in printed[0]
    assert "Traceback" not in printed[0]
    async with TestClient(TestServer(create_app(bot, "t"))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 200 and body["ok"] and body["redis"] == "ok"  # the rest serves
    assert body["discord"]["ok"] is False and body["discord"]["state"] == "failed"
    assert printed[0].removeprefix("Discord stopped: ") == body["discord"]["error"]
    failures = adapter_failures(redis_handle, services.settings.queue.key_prefix)
    check = {c.name: c for c in check_chat(bot.secrets, None, failures)}["discord"]
    assert check.status == "missing" and needle in check.detail


async def test_discord_healthz_says_ok_once_connected(
    services: Services, fake: FakeDiscord
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from adapters.daw_server import create_app

    bot = bot_services(services, fake)
    async with running_bot(bot), TestClient(TestServer(create_app(bot, "t"))) as client:
        body = await (await client.get("/healthz")).json()
    assert body["discord"]["ok"] is True and body["discord"]["state"] == "ready"
    assert "slack" not in body  # not configured: not reported


async def test_serve_warns_when_chat_links_point_at_loopback(
    services: Services, fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiohttp import web

    from adapters.cli.service import _start_chat_adapters

    bot = bot_services(services, fake)
    assert bot.settings.storage.public_url.startswith("http://127.0.0.1")
    stop = asyncio.Event()
    tasks = _start_chat_adapters(bot, web.Application(), stop)
    await fake.wait_ready()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    warning = [line for line in capsys.readouterr().err.splitlines() if "Warning" in line]
    assert len(warning) == 1 and "links posted in Discord point at http://127.0.0.1" in warning[0]
    assert "BEATBOT_STORAGE__PUBLIC_URL" in warning[0]
