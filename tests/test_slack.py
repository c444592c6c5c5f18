"""The Slack adapter end to end: real slack-bolt/slack-sdk against a fake Slack on 127.0.0.1.

Requests reach `/slack/events` of a real aiohttp server, signed as Slack signs them; jobs run
on the real arq worker and render real audio; everything the bot says is read back from the
fake's record of Web API calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from adapters.slack.app import SlackAdapter, slack_enabled
from adapters.slack.flow import GROUP
from bot import prefs
from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.jobs import JobType, Origin
from bot.services import Services
from engine.audio_io import decode
from tests.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    button_form,
    event_payload,
    mention,
    post_signed,
    slash_form,
)
from tests.workers import run_worker

CHANNEL = "C0MUSIC"
TS = "1699999999.000100"
TS2 = "1699999999.000150"
BEAT = "make a dark trap beat at 140 for 8 seconds"


@dataclass
class Bot:
    adapter: SlackAdapter
    client: TestClient
    services: Services


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def slack_services(
    services: Services,
    fake: FakeSlack,
    *,
    http: bool = True,
    socket: bool = False,
    interval: float = 2.0,
) -> Services:
    secrets = Secrets(
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET) if http else None,
        slack_app_token=SecretStr(APP_TOKEN) if socket else None,
    )
    slack = services.settings.slack.model_copy(
        update={"api_base": fake.api_base, "update_interval": interval}
    )
    settings = services.settings.model_copy(update={"slack": slack})
    return dataclasses.replace(services, settings=settings, secrets=secrets)


@asynccontextmanager
async def running_bot(services: Services, **options: Any) -> AsyncIterator[Bot]:
    """The adapter as `beatbot serve` runs it: routes on an aiohttp app, `run` in a task."""
    adapter = SlackAdapter(services, consumer_name="slack-test")
    app = web.Application()
    adapter.add_routes(app)
    await adapter.consumer.ensure_group()  # before any job publishes, so nothing is missed
    stop = asyncio.Event()
    runner = asyncio.create_task(adapter.run(stop))
    try:
        async with TestClient(TestServer(app)) as client:
            yield Bot(adapter, client, services)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 15)


def status_text(fake: FakeSlack, ts: str, channel: str = CHANNEL) -> str:
    return fake.messages[(channel, ts)]["text"]


def thread_posts(fake: FakeSlack, thread: str) -> list[dict[str, Any]]:
    return [
        c.params for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == thread
    ]


async def total_jobs(services: Services) -> int:
    stats = await services.queue.stats()
    return stats["total"] + stats["completed"] + stats["failed"]


async def mention_and_wait(bot: Bot, fake: FakeSlack, text: str = BEAT, ts: str = TS) -> str:
    """Mention the bot; returns the ts of the status message it posted in the thread."""
    status, _ = await post_signed(bot.client, event_payload(mention(text, ts=ts)))
    assert status == 200
    await bot.adapter.drain()
    return _status_ts(fake, ts)


def _status_ts(fake: FakeSlack, thread: str) -> str:
    """The bot's first message in a thread: its status message."""
    return next(ts for (_, ts), m in fake.messages.items() if m["thread_ts"] == thread)


def tone_wav(seconds: float = 4.0, sr: int = 44100) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    pulse = np.sin(2 * np.pi * 55 * t) * np.exp(-((t % 0.5) * 12))
    audio = (0.1 * (chord + pulse)).astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, np.stack([audio, audio], axis=1), sr, format="WAV")
    return out.getvalue()


def decoded_seconds(data: bytes, name: str, folder: Path) -> float:
    path = folder / name
    path.write_bytes(data)
    return len(decode(path)) / 44100


# --- tests ----------------------------------------------------------------------------------


def test_slack_enabled_needs_bot_token_and_a_way_in() -> None:
    token = SecretStr("xoxb-1")
    assert not slack_enabled(Secrets())
    assert not slack_enabled(Secrets(slack_bot_token=token))
    assert slack_enabled(Secrets(slack_bot_token=token, slack_signing_secret=SecretStr("s")))
    assert slack_enabled(Secrets(slack_bot_token=token, slack_app_token=SecretStr("xapp")))


async def test_slack_mention_replies_in_the_thread(services: Services, fake: FakeSlack) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        status_ts = await mention_and_wait(bot, fake)

    post = thread_posts(fake, TS)[0]
    assert post["channel"] == CHANNEL and post["thread_ts"] == TS
    text = status_text(fake, status_ts)
    assert "trap" in text and "140" in text and "Queued" in text and "▱" in text
    assert len(thread_posts(fake, TS)) == 1  # one status message, edited in place
    assert await total_jobs(services) == 1
    assert all(call.token == BOT_TOKEN for call in fake.calls)


async def test_slack_progress_updates_are_throttled(services: Services, fake: FakeSlack) -> None:
    async with running_bot(slack_services(services, fake, interval=0.6)) as bot:
        status_ts = await mention_and_wait(bot, fake)
        job = await services.jobs.get(await _only_job(services))
        assert job is not None

        async def progress(percent: int) -> None:
            await services.events.publish(
                "generation:progress",
                {
                    "jobId": job.job_id,
                    "generationId": job.generation_id,
                    "percent": percent,
                    "stage": "Mixing",
                    "origin": job.origin.model_dump(),
                },
            )

        for percent in (10, 20, 30, 40, 50):  # a burst: the first now, the newest later
            await progress(percent)
        await fake.wait_for(lambda: "Mixing" in status_text(fake, status_ts), what="first edit")
        await asyncio.sleep(0.3)
        burst = _progress_edits(fake, status_ts)
        await asyncio.sleep(0.4)  # past the interval: the held 50% has gone out
        await progress(60)  # too soon after it: held, then sent
        await fake.wait_for(lambda: "60%" in status_text(fake, status_ts), what="60% edit")

    assert [c.params["text"].splitlines()[-1] for c in burst] == ["▰▱▱▱▱▱▱▱▱▱ 10% · Mixing"]
    edits = _progress_edits(fake, status_ts)
    lines = [c.params["text"].splitlines()[-1] for c in edits]
    assert lines == [
        "▰▱▱▱▱▱▱▱▱▱ 10% · Mixing",
        "▰▰▰▰▰▱▱▱▱▱ 50% · Mixing",  # the newest of the burst, held for the interval
        "▰▰▰▰▰▰▱▱▱▱ 60% · Mixing",
    ]
    assert all(c.params["text"].startswith("On it") for c in edits)
    assert edits[1].params["ts"] == status_ts and len(thread_posts(fake, TS)) == 1


def _progress_edits(fake: FakeSlack, ts: str) -> list[Any]:
    return [
        c
        for c in fake.calls_to("chat.update")
        if c.params["ts"] == ts and "Mixing" in c.params["text"]
    ]


async def _only_job(services: Services) -> str:
    prefix = services.settings.queue.key_prefix
    keys = [k async for k in services.redis.scan_iter(match=f"{prefix}:job:*")]
    assert len(keys) == 1, keys
    return keys[0].decode().rsplit(":", 1)[1]


async def test_slack_finished_beat_is_uploaded_to_the_thread_with_card_and_buttons(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        status_ts = await mention_and_wait(bot, fake)
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: _card(fake, TS), what="result card")

    assert "Done" in status_text(fake, status_ts) and "100%" in status_text(fake, status_ts)
    shared = fake.shared_files()
    assert {f.channel for f in shared} == {CHANNEL} and {f.thread_ts for f in shared} == {TS}
    audio = next(f for f in shared if f.name.endswith(".mp3"))
    assert decoded_seconds(audio.data, audio.name, tmp_path) > 7.5
    image = next(f for f in shared if f.name.endswith(".png"))
    assert image.data.startswith(b"\x89PNG")
    card = _card(fake, TS)
    section, actions = card["blocks"]
    fields = " ".join(f["text"] for f in section["fields"])
    for expected in ("trap", "140", "Seed", "LUFS", "Key"):
        assert expected in fields
    ids = [b["action_id"] for b in actions["elements"]]
    assert len(ids) == len(set(ids)) == 8 and "beatbot:variation" in ids  # with Mute drums/melody
    (upload,) = fake.calls_to("files.completeUploadExternal")
    # The result's sentence is said once, on the card: not in the status or the upload.
    sentence = card["text"]
    assert sentence.startswith("Here's your dark trap beat")
    assert sentence not in status_text(fake, status_ts) and not upload.params.get("initial_comment")
    assert "9 s (5 bars)" in status_text(fake, status_ts)  # the length it really has (whole bars)


def _card(fake: FakeSlack, thread: str) -> dict[str, Any] | None:
    cards = [p for p in thread_posts(fake, thread) if p.get("blocks")]
    return cards[-1] if cards else None


async def test_slack_button_press_makes_a_variation_of_that_beat(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeSlack
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        await mention_and_wait(bot, fake)
        await run_worker(settings, redis_handle)
        card = await fake.wait_for(lambda: _card(fake, TS), what="result card")
        button = next(
            b for b in card["blocks"][1]["elements"] if b["action_id"] == "beatbot:variation"
        )
        card_ts = next(ts for (_, ts), m in fake.messages.items() if m.get("blocks"))
        form = button_form(
            button["action_id"], button["value"], CHANNEL, card_ts, TS, fake.respond_url
        )
        status, _ = await post_signed(bot.client, form)
        assert status == 200
        await bot.adapter.drain()

    first = await services.queue.by_generation(button["value"])
    jobs = [await services.jobs.get(j) for j in await _job_ids(services)]
    second = next(j for j in jobs if j is not None and j.job_id != first.job_id)
    assert second.type is JobType.BEAT
    assert second.data["genre"] == first.data["genre"] and second.data["bpm"] == first.data["bpm"]
    assert second.data["seed"] != first.data["seed"]
    assert second.origin.thread == TS  # its progress and result go to the same thread
    assert "On it" in status_text(fake, second.origin.message_id)
    assert fake.responses == []  # nothing private to say


async def _job_ids(services: Services) -> list[str]:
    prefix = services.settings.queue.key_prefix
    return [
        k.decode().rsplit(":", 1)[1]
        async for k in services.redis.scan_iter(match=f"{prefix}:job:*")
    ]


async def test_slack_slash_command_starts_a_thread(services: Services, fake: FakeSlack) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        form = slash_form("lofi beat 80 bpm @here", response_url=fake.respond_url)
        status, body = await post_signed(bot.client, form)
        assert status == 200 and body == ""
        await bot.adapter.drain()

    root = fake.calls_to("chat.postMessage")[0].params
    assert root.get("thread_ts") is None and "<@U0ADA>" in root["text"]
    assert "@here" not in root["text"]  # echoed text never pings the channel
    root_ts = next(ts for (_, ts), m in fake.messages.items() if m["text"] == root["text"])
    status_ts = _status_ts(fake, root_ts)
    assert "lo-fi" in status_text(fake, status_ts) and "80" in status_text(fake, status_ts)
    assert await total_jobs(services) == 1
    job = await services.jobs.get(await _only_job(services))
    assert job is not None and job.origin.thread == root_ts  # follow-ups there find it
    assert fake.responses == []


async def test_slack_audio_share_in_thread_is_mastered_and_uploaded(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    shared = fake.add_file("my song.wav", tone_wav(), "audio/wav")
    async with running_bot(slack_services(services, fake)) as bot:
        share = {
            **mention("master this for club", ts="1699999999.000200"),
            "thread_ts": TS,  # in a thread people are already talking in
            "files": [{"id": shared.id}],  # only the id: the bot asks files.info
        }
        status, _ = await post_signed(bot.client, event_payload(share))
        assert status == 200
        await bot.adapter.drain()
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: fake.shared_files(), what="mastered upload")
        await fake.wait_for(lambda: _card(fake, TS), what="result card")

    assert fake.calls_to("files.info")[0].params["file"] == shared.id
    assert fake.downloads == [{"file_id": shared.id, "token": BOT_TOKEN}]
    (mastered,) = fake.shared_files()
    assert mastered.thread_ts == TS
    assert abs(decoded_seconds(mastered.data, mastered.name, tmp_path) - 4.0) < 0.1
    fields = " ".join(f["text"] for f in _card(fake, TS)["blocks"][0]["fields"])
    assert "-8.0 LUFS" in fields or "-7.9 LUFS" in fields or "-8.1 LUFS" in fields


async def test_slack_bad_or_stale_signature_is_401_and_starts_nothing(
    services: Services, fake: FakeSlack
) -> None:
    payload = event_payload(mention(BEAT))
    async with running_bot(slack_services(services, fake)) as bot:
        bad, _ = await post_signed(bot.client, payload, secret="not-the-secret")
        stale, _ = await post_signed(bot.client, payload, timestamp=int(time.time()) - 600)
        unsigned, _ = await post_signed(bot.client, payload, signed=False)
        forged_form, _ = await post_signed(bot.client, slash_form(BEAT), secret="nope")
        await bot.adapter.drain()

    assert bad == stale == unsigned == forged_form == 401
    assert fake.calls_to("chat.postMessage") == []
    assert await total_jobs(services) == 0


async def test_slack_retried_event_starts_one_job(services: Services, fake: FakeSlack) -> None:
    payload = event_payload(mention(BEAT))
    # The same message also arrives as message.channels, with its own event id.
    twin = event_payload({**mention(BEAT), "type": "message", "channel_type": "channel"})
    async with running_bot(slack_services(services, fake)) as bot:
        first = await post_signed(bot.client, payload)
        retry = await post_signed(bot.client, payload, retry_num=1)
        again = await post_signed(bot.client, payload, retry_num=2)
        other = await post_signed(bot.client, twin)
        await bot.adapter.drain()

    assert [first[0], retry[0], again[0], other[0]] == [200, 200, 200, 200]
    assert await total_jobs(services) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_slack_restart_mid_job_posts_the_result_once(
    services: Services, settings: Settings, redis_handle: RedisHandle, fake: FakeSlack
) -> None:
    slack = slack_services(services, fake)
    async with running_bot(slack) as bot:
        await mention_and_wait(bot, fake)
    # The bot is down while the job renders and finishes.
    await run_worker(settings, redis_handle)
    assert _card(fake, TS) is None

    async with running_bot(slack):
        await fake.wait_for(lambda: _card(fake, TS), what="result after restart")
        await _caught_up(services)
    posted = len(fake.calls_to("chat.postMessage"))
    uploads = len(fake.calls_to("files.completeUploadExternal"))
    updates = len(fake.calls_to("chat.update"))

    # A crash before acknowledging means the same events come again: nothing is re-posted.
    stream = f"{settings.queue.key_prefix}:events"
    await services.redis.xgroup_setid(stream, GROUP, "0")
    async with running_bot(slack):
        await _caught_up(services)
    assert len(fake.calls_to("chat.postMessage")) == posted
    assert len(fake.calls_to("files.completeUploadExternal")) == uploads == 1
    assert len(fake.calls_to("chat.update")) == updates
    assert len([p for p in thread_posts(fake, TS) if p.get("blocks")]) == 1


async def _caught_up(services: Services, timeout: float = 20.0) -> None:
    """Wait until the slack group has read and acknowledged every event on the stream."""
    stream = f"{services.settings.queue.key_prefix}:events"
    last = await services.events.last_id()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        group = next(g for g in await services.redis.xinfo_groups(stream) if g["name"] == b"slack")
        if group["last-delivered-id"].decode() == last and group["pending"] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the slack consumer did not catch up")


async def test_slack_follow_up_in_a_beatbot_thread_needs_no_mention(
    services: Services, fake: FakeSlack
) -> None:
    def in_thread(text: str, ts: str, thread: str = TS) -> dict[str, Any]:
        return {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": "U0BOB",
            "text": text,
            "ts": ts,
            "thread_ts": thread,
        }

    async with running_bot(slack_services(services, fake)) as bot:
        await mention_and_wait(bot, fake, "make a house beat at 120 for 8 seconds")
        for event in (
            in_thread("lol nice one", "1699999999.000300"),  # people talking: stay quiet
            in_thread("make it faster", "1699999999.000400"),
            in_thread("make a beat", "1699999999.000500", thread="1600000000.000001"),
        ):
            assert (await post_signed(bot.client, event_payload(event)))[0] == 200
        await bot.adapter.drain()

    jobs = [await services.jobs.get(j) for j in await _job_ids(services)]
    bpms = sorted(j.data["bpm"] for j in jobs if j is not None)
    assert len(bpms) == 2 and bpms[0] == 120 and bpms[1] > 120
    assert thread_posts(fake, "1600000000.000001") == []
    assert len(thread_posts(fake, TS)) == 2


async def test_slack_dm_answers_at_top_level_and_errors_are_friendly(
    services: Services, fake: FakeSlack
) -> None:
    dm = {
        "type": "message",
        "channel": "D0ADA",
        "channel_type": "im",
        "user": "U0ADA",
        "text": "make a trap beat at 900 bpm",
        "ts": "1699999999.000600",
    }
    async with running_bot(slack_services(services, fake)) as bot:
        assert (await post_signed(bot.client, event_payload(dm)))[0] == 200
        await bot.adapter.drain()

    (post,) = fake.calls_to("chat.postMessage")  # the answer itself, in place
    assert post.params["channel"] == "D0ADA" and post.params.get("thread_ts") is None
    assert post.params["text"].startswith("⚠️") and "BPM" in post.params["text"]
    assert "Traceback" not in post.params["text"]
    assert fake.calls_to("chat.update") == []
    assert await total_jobs(services) == 0


async def test_slack_socket_mode_receives_events_and_acks(
    services: Services, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack = slack_services(services, fake, http=False, socket=True)
    adapter = SlackAdapter(slack, consumer_name="slack-socket-test")
    app = web.Application()
    adapter.add_routes(app)
    assert not any(r.resource.canonical == "/slack/events" for r in app.router.routes())
    stop = asyncio.Event()
    runner = asyncio.create_task(adapter.run(stop))
    try:
        envelope = await fake.send_envelope(event_payload(mention(BEAT)))
        await fake.wait_for(lambda: any(a.get("envelope_id") == envelope for a in fake.acks))
        await fake.wait_for(lambda: thread_posts(fake, TS), what="thread reply")
        await adapter.drain()
    finally:
        stop.set()
        await asyncio.wait_for(runner, 15)  # returns cleanly once stop is set

    opened = fake.calls_to("apps.connections.open")  # the token check, then the connection
    assert len(opened) == 2 and all(c.token == APP_TOKEN for c in opened)
    assert "On it" in status_text(fake, _status_ts(fake, TS))
    assert await total_jobs(services) == 1
    job = await services.jobs.get(await _only_job(services))
    assert job is not None and job.origin == Origin(
        platform="slack", channel=CHANNEL, thread=TS, user="U0ADA", message_id=job.origin.message_id
    )
    for secret in (BOT_TOKEN, APP_TOKEN):
        assert secret not in caplog.text


async def test_slack_failed_job_says_why_in_the_thread(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    broken = fake.add_file("notes.mp3", b"this is not audio\n" * 200, "audio/mpeg")
    shared = mention("master this", files=[broken.info(fake.base)])
    async with running_bot(slack_services(services, fake)) as bot:
        await post_signed(bot.client, event_payload(shared))
        await bot.adapter.drain()
        status_ts = _status_ts(fake, TS)
        await run_worker(settings, redis_handle)
        await fake.wait_for(lambda: len(thread_posts(fake, TS)) == 2, what="failure post")

    failure = thread_posts(fake, TS)[1]["text"]
    assert failure.startswith("❌") and "notes.mp3" in failure and "Traceback" not in failure
    status = status_text(fake, status_ts)
    assert status.endswith("❌ Failed") and failure not in status  # the sentence once, below
    assert fake.shared_files() == []
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


async def test_slack_a_mention_that_is_not_a_job_answers_in_place(
    services: Services, fake: FakeSlack
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        await post_signed(bot.client, event_payload(mention("help")))
        await post_signed(bot.client, event_payload(mention("make a trap beat at 999 bpm", ts=TS2)))
        await bot.adapter.drain()

    help_, error = (c.params for c in fake.calls_to("chat.postMessage"))
    assert help_.get("thread_ts") is None and error.get("thread_ts") is None  # no thread
    assert help_["text"].startswith("*I make beats from a sentence.*")  # mrkdwn, not **
    assert "**" not in help_["text"] and "\n• “dark trap beat at 140”" in help_["text"]
    assert error["text"].startswith("⚠️") and "40-240 BPM" in error["text"]
    assert fake.calls_to("chat.update") == [] and await total_jobs(services) == 0


async def test_slack_slash_help_errors_history_and_settings_are_private(
    services: Services, fake: FakeSlack
) -> None:
    async with running_bot(slack_services(services, fake)) as bot:
        for text in ("", "genres", "trap at 999 bpm", "history", "settings wav club duration 30"):
            form = slash_form(text, response_url=fake.respond_url)
            assert (await post_signed(bot.client, form))[0] == 200
        await bot.adapter.drain()
        saved = await prefs.load(services, "slack", "U0ADA")

    help_, genres, error, history, settings = (r["text"] for r in fake.responses)
    assert len(fake.ephemeral()) == 5  # every one to the asker only
    assert help_.startswith("*I make beats from a sentence.*") and "**" not in help_
    assert "*r&amp;b*" in genres and "**" not in genres
    assert error.startswith("⚠️") and "40-240 BPM" in error
    assert history.startswith("*Your last beats:*") or "No beats yet" in history
    assert settings == "Your defaults: duration 30, quality club, format wav."
    assert saved == {"duration": "30", "quality": "club", "format": "wav"}
    assert fake.calls_to("chat.postMessage") == [] and await total_jobs(services) == 0


@pytest.mark.parametrize("which", ["bot", "app"])
async def test_slack_invalid_auth_is_one_sentence_in_healthz_and_doctor(
    services: Services,
    redis_handle: RedisHandle,
    fake: FakeSlack,
    capsys: pytest.CaptureFixture[str],
    which: str,
) -> None:
    from adapters.cli.info import adapter_failures, check_chat
    from adapters.cli.service import _chat_task
    from adapters.daw_server import create_app

    slack = slack_services(services, fake, socket=True)
    if which == "bot":
        fake.bot_token = "xoxb-someone-else"
    else:
        slack = dataclasses.replace(
            slack,
            secrets=dataclasses.replace(slack.secrets, slack_app_token=SecretStr("xapp-wrong")),
        )
    adapter = SlackAdapter(slack, consumer_name="slack-test")
    await asyncio.wait_for(_chat_task("Slack", adapter.run(asyncio.Event())), 20)
    printed = capsys.readouterr().err.strip().splitlines()
    token = "SLACK_BOT_TOKEN" if which == "bot" else "SLACK_APP_TOKEN"
    assert len(printed) == 1 and printed[0].startswith(f"Slack stopped: Slack refused {token}")
    assert "invalid_auth" in printed[0] and "restart" in printed[0]
    async with TestClient(TestServer(create_app(slack, "t"))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 200 and body["ok"]
    assert body["slack"]["ok"] is False
    assert body["slack"]["error"] == printed[0].removeprefix("Slack stopped: ")
    failures = adapter_failures(redis_handle, services.settings.queue.key_prefix)
    check = {c.name: c for c in check_chat(slack.secrets, None, failures)}["slack"]
    assert check.status == "missing" and token in check.detail
