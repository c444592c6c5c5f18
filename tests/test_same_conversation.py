"""One conversation, every surface: the same script through Discord, Slack, the widget's
/api/chat and `beatbot chat`, with the same outcome at each step (bot.policy's rules).

The script: a new request, a follow-up, chatter, a button, an error, help and a slash command.
Discord and Slack are the real discord.py / slack-bolt clients against the fakes in tests/;
the widget is the real aiohttp app; the terminal is the real `beatbot chat` process.

The widget and the terminal are one person talking to BeatBot, like a DM: every answer there
is the asker's alone, and the conversation is its own thread. So "private" and "in place"
are the same outcome there, and chatter in someone's thread only exists on Discord and Slack
(in a DM, chatter is talked to, on every surface).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobRecord
from bot.policy import Where
from bot.replies import EXAMPLE_PROMPTS
from bot.services import Services
from tests.fake_discord import CHANNEL_ID, DM_ID, FakeDiscord
from tests.fake_slack import (
    FakeSlack,
    button_form,
    event_payload,
    mention,
    post_signed,
    slash_form,
)
from tests.workers import run_worker

NEW = "make a dark trap beat at 140 for 2 seconds"
FOLLOW_UP = "make it faster"
CHATTER = "this one slaps 🔥"
ERROR = "make a trap beat at 999 bpm"
HELP = "help"
HELP_FIRST_LINE = "I make beats from a sentence."
NUDGE = "I make beats. Try “"


@dataclass(frozen=True)
class Outcome:
    """What a person sees after one step."""

    where: Where | None  # None: BeatBot stayed quiet
    text: str = ""  # the words as the surface shows them


# The rules, step by step (bot.policy): what every surface must do.
EXPECTED: dict[str, Where | None] = {
    "new request": Where.JOB,  # a job: in a thread (opened for it in a channel)
    "follow-up": Where.JOB,  # in that thread, no mention needed
    "chatter in the thread": None,  # people talking to each other: left alone
    "chatter in a DM": Where.IN_PLACE,  # said to BeatBot: a nudge
    "button": Where.JOB,  # "Faster" under the beat: a job in the same thread
    "error": Where.IN_PLACE,  # no thread for it
    "help": Where.IN_PLACE,
    "slash command": Where.PRIVATE,  # help from /help: the asker's only
}
ONE_TO_ONE = {"chatter in the thread"}  # steps that don't exist where only one person talks


def assert_same_conversation(seen: dict[str, Outcome], *, one_to_one: bool) -> None:
    for step, expected in EXPECTED.items():
        if one_to_one and step in ONE_TO_ONE:
            continue
        outcome = seen[step]
        if one_to_one and expected is Where.PRIVATE:
            expected = Where.IN_PLACE  # everything here is the asker's alone
        assert outcome.where is expected, (step, outcome)
    assert seen["error"].text.count("40-240 BPM") == 1, seen["error"]
    assert HELP_FIRST_LINE in seen["help"].text and HELP_FIRST_LINE in seen["slash command"].text
    assert NUDGE in seen["chatter in a DM"].text
    assert any(prompt in seen["chatter in a DM"].text for prompt in EXAMPLE_PROMPTS)


async def beats(services: Services, count: int) -> list[JobRecord]:
    """The beats queued so far (waits for `count`), oldest first."""
    prefix = services.settings.queue.key_prefix
    async with asyncio.timeout(20):
        while True:
            found = [k async for k in services.redis.scan_iter(match=f"{prefix}:job:*")]
            if len(found) >= count:
                break
            await asyncio.sleep(0.05)
    jobs = [await services.queue.status(k.decode().rsplit(":", 1)[1]) for k in found]
    return sorted(jobs, key=lambda j: j.created_at)


async def assert_jobs_follow_the_conversation(services: Services) -> None:
    new, faster, button = await beats(services, 3)
    assert (new.data["genre"], new.data["bpm"]) == ("trap", 140)
    assert faster.data["genre"] == "trap" and faster.data["bpm"] > 140  # acts on the beat
    assert button.data["bpm"] > 140
    assert new.origin.thread_key == faster.origin.thread_key == button.origin.thread_key


async def settle(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := check()):
            await asyncio.sleep(0.05)
    return value


async def quiet(seconds: float = 0.6) -> None:
    """Long enough for any answer to arrive (every answer here takes a few milliseconds)."""
    await asyncio.sleep(seconds)


# --- the surfaces, each driven through the script -------------------------------------------


async def discord_conversation(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> dict[str, Outcome]:
    from tests.test_discord import (
        bot_services,
        buttons_of,
        edits_of,
        final_edit,
        running_bot,
        threads,
    )

    fake = FakeDiscord()
    await fake.start()
    seen: dict[str, Outcome] = {}

    def posted(channel: str | int) -> list[dict[str, Any]]:
        """Public messages BeatBot posted in a channel (interaction answers are not)."""
        return [
            m
            for m in fake.thread_messages(str(channel))
            if m["author"].get("bot") and not m.get("webhook_id")
        ]

    async def answer(channel: str | int, before: int) -> Outcome:
        await quiet()
        new = posted(channel)[before:]
        return Outcome(Where.IN_PLACE, new[0]["content"]) if new else Outcome(None)

    async def job(channel: str, before: int) -> Outcome:
        status = (await settle(lambda: posted(channel)[before:]))[0]["id"]
        accepted = await settle(
            lambda: [c for c in edits_of(fake, status) if "On it:" in c.json.get("content", "")]
        )
        return Outcome(Where.JOB, accepted[0].json["content"])

    try:
        async with running_bot(bot_services(services, fake)):
            await fake.say(NEW)
            thread = await settle(lambda: threads(fake) and threads(fake)[0])
            seen["new request"] = await job(thread, 0)
            await fake.say(FOLLOW_UP, channel_id=thread, mention=False)
            seen["follow-up"] = await job(thread, 1)
            await fake.say(CHATTER, channel_id=thread, mention=False)
            seen["chatter in the thread"] = await answer(thread, 2)
            await fake.say(CHATTER, channel_id=DM_ID, mention=False)
            seen["chatter in a DM"] = await answer(DM_ID, 0)
            # Discord sends a click with the message that holds the button: a finished beat.
            await run_worker(settings, redis_handle)
            result = await settle(lambda: final_edit(fake, posted(thread)[0]["id"]), 30)
            faster = next(b for b in buttons_of(result) if b["label"] == "Faster")
            token = await fake.click(faster["custom_id"], posted(thread)[0]["id"], thread)
            seen["button"] = await job(thread, 2)
            await settle(lambda: token not in fake.originals)  # nothing private was said
            await fake.say(ERROR)
            seen["error"] = await answer(CHANNEL_ID, 0)
            await fake.say(HELP)
            seen["help"] = await answer(CHANNEL_ID, 1)
            token = await fake.slash("help")
            text = await settle(lambda: fake.originals.get(token, {}).get("content"))
            private = fake.private(fake.originals[token])
            seen["slash command"] = Outcome(Where.PRIVATE if private else Where.IN_PLACE, text)
            assert threads(fake) == [thread]  # only the job opened a thread
    finally:
        await fake.close()
    # Discord's own markdown makes **…** bold there (and nowhere else).
    assert f"**{HELP_FIRST_LINE}**" in seen["help"].text
    return seen


async def slack_conversation(services: Services) -> dict[str, Outcome]:
    from tests.test_slack import CHANNEL, TS, running_bot, slack_services

    seen: dict[str, Outcome] = {}
    async with FakeSlack() as fake, running_bot(slack_services(services, fake)) as bot:

        async def send(payload: Any) -> None:
            assert (await post_signed(bot.client, payload))[0] == 200
            await bot.adapter.drain()

        def message(text: str, ts: str, channel: str = CHANNEL, **extra: Any) -> dict[str, Any]:
            return {"type": "message", "channel": channel, "user": "U0ADA", "text": text, "ts": ts}

        def in_thread(text: str, ts: str) -> dict[str, Any]:
            return {**message(text, ts), "channel_type": "channel", "thread_ts": TS}

        def posted(channel: str, thread: str | None) -> list[dict[str, Any]]:
            return [
                m
                for (ch, _), m in fake.messages.items()
                if ch == channel and m["thread_ts"] == thread
            ]

        def job(before: int) -> Outcome:
            new = posted(CHANNEL, TS)[before:]
            if not new:
                return Outcome(None)
            return Outcome(
                Where.JOB if "On it:" in new[0]["text"] else Where.IN_PLACE, new[0]["text"]
            )

        def answer(channel: str, before: int) -> Outcome:
            new = posted(channel, None)[before:]
            return Outcome(Where.IN_PLACE, new[0]["text"]) if new else Outcome(None)

        await send(event_payload(mention(NEW, ts=TS)))
        seen["new request"] = job(0)
        await send(event_payload(in_thread(FOLLOW_UP, "1699999999.000200")))
        seen["follow-up"] = job(1)
        await send(event_payload(in_thread(CHATTER, "1699999999.000300")))
        await quiet()
        seen["chatter in the thread"] = job(2)
        await send(
            event_payload({**message(CHATTER, "1699999999.000400", "D0ADA"), "channel_type": "im"})
        )
        seen["chatter in a DM"] = answer("D0ADA", 0)
        gid = (await beats(services, 1))[0].generation_id
        card = next(ts for (_, ts), m in fake.messages.items() if m["thread_ts"] == TS)
        await send(button_form("beatbot:faster", gid, CHANNEL, card, TS, fake.respond_url))
        seen["button"] = job(2)
        await send(event_payload(mention(ERROR, ts="1699999999.000500")))
        seen["error"] = answer(CHANNEL, 0)
        await send(event_payload(mention(HELP, ts="1699999999.000600")))
        seen["help"] = answer(CHANNEL, 1)
        assert fake.responses == []  # nothing so far was private
        await send(slash_form(HELP, response_url=fake.respond_url))
        (said,) = fake.responses
        private = said.get("response_type") == "ephemeral"
        seen["slash command"] = Outcome(Where.PRIVATE if private else Where.IN_PLACE, said["text"])
    for outcome in seen.values():
        assert "**" not in outcome.text  # Slack's bold is *…*
    assert seen["help"].text.startswith(f"*{HELP_FIRST_LINE}*")
    return seen


async def widget_conversation(services: Services) -> dict[str, Outcome]:
    from adapters.daw_server import create_app

    auth = {"Authorization": "Bearer widget-token"}
    seen: dict[str, Outcome] = {}
    async with TestClient(TestServer(create_app(services, "widget-token"))) as client:

        async def say(text: str, **extra: Any) -> Outcome:
            body = {"text": text, "thread": "studio", **extra}
            response = await client.post("/api/chat", json=body, headers=auth)
            assert response.status == 200
            replies = (await response.json())["replies"]
            for reply in replies:
                assert "**" not in reply["text"] and reply["html"]  # plain text, and HTML
            if not replies:
                return Outcome(None)
            where = Where.JOB if replies[0]["type"] == "accepted" else Where.IN_PLACE
            return Outcome(where, "\n".join(r["html"] for r in replies))

        seen["new request"] = await say(NEW)
        seen["follow-up"] = await say(FOLLOW_UP)
        seen["chatter in a DM"] = await say(CHATTER)
        gid = (await beats(services, 1))[0].generation_id
        seen["button"] = await say("make it faster", generationId=gid)  # its Faster button
        seen["error"] = await say(ERROR)
        seen["help"] = await say(HELP)
        seen["slash command"] = await say("/help")
    assert f"<p><strong>{HELP_FIRST_LINE}</strong>" in seen["help"].text
    return seen


async def terminal_conversation(services: Services, tmp_path: Path) -> dict[str, Outcome]:
    """`beatbot chat` as a person pipes it: its own Redis and worker, every job finished."""
    from tests.test_cli_service import ROOT, env_for

    script = [NEW, FOLLOW_UP, CHATTER, "make it faster", ERROR, HELP, "/help"]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "adapters.cli", "chat", "--user", "ada"],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env=env_for(tmp_path / "data"),
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in out + done.stderr and "**" not in out, out
    assert len(re.findall(r"^✓ ", out, re.M)) == 3, out  # every job finished
    jobs = [int(bpm) for bpm in re.findall(r"^On it: a dark trap beat at (\d+) BPM", out, re.M)]
    assert len(jobs) == 3 and jobs[0] == 140 and min(jobs[1:]) > 140, out

    def answer(pattern: str, index: int = 0) -> Outcome:
        found = re.findall(pattern, out, re.M | re.S)
        return Outcome(Where.IN_PLACE, found[index]) if len(found) > index else Outcome(None)

    help_ = rf"^({re.escape(HELP_FIRST_LINE)}.*?“cancel”\.)$"
    return {
        "new request": Outcome(Where.JOB),
        "follow-up": Outcome(Where.JOB),
        "button": Outcome(Where.JOB),  # the terminal's buttons are the commands it suggests
        "chatter in a DM": answer(rf"^({re.escape(NUDGE)}.*)$"),
        "error": answer(r"^! (.*)$"),
        "help": answer(help_),
        "slash command": answer(help_, 1),
    }


SURFACES: dict[str, Callable[..., Awaitable[dict[str, Outcome]]]] = {
    "discord": discord_conversation,
    "slack": slack_conversation,
    "widget": widget_conversation,
    "terminal": terminal_conversation,
}


@pytest.mark.parametrize("surface", list(SURFACES))
async def test_the_same_conversation_on_every_surface(
    surface: str,
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
) -> None:
    if surface == "terminal":
        seen = await terminal_conversation(services, tmp_path)
    elif surface == "discord":
        seen = await discord_conversation(services, settings, redis_handle)
        await assert_jobs_follow_the_conversation(services)
    else:
        seen = await SURFACES[surface](services)
        await assert_jobs_follow_the_conversation(services)
    assert_same_conversation(seen, one_to_one=surface in ("widget", "terminal"))
