"""The conversation rules (bot.policy), rich text and its renderers, and the status-edit pace,
as units: the same rules the Discord and Slack tests check against their fake servers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapters.chat_common import EditThrottle, loopback_links_warning
from adapters.cli.richtext import terminal_text
from adapters.daw.richtext import HTML, reply_html
from adapters.discord.render import markdown
from adapters.slack.blocks import mrkdwn
from bot import prefs, replies
from bot.jobs import Origin
from bot.messages import (
    ErrorReply,
    JobAccepted,
    Message,
    Reply,
    ResultReply,
    TextReply,
)
from bot.policy import (
    Incoming,
    Trigger,
    Venue,
    Where,
    converse,
    for_beatbot,
    opens_thread,
    understood,
    where,
)
from bot.richtext import PLAIN, bold, bullets, code, link, para, render, rich
from bot.services import Services

# --- who BeatBot answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "answered"),
    [
        (Incoming("this one slaps 🔥", Venue.DIRECT), True),  # a DM is always for BeatBot
        (Incoming("make a beat", Venue.CHANNEL), False),  # not addressed
        (Incoming("make a beat", Venue.CHANNEL, mentioned=True), True),
        (Incoming("lol", Venue.CHANNEL, mentioned=True), True),  # addressed: gets a nudge
        (Incoming("this one slaps 🔥", Venue.THREAD, bots_thread=True), False),  # chatter
        (Incoming("lol nice one", Venue.THREAD, bots_thread=True), False),
        (Incoming("make it faster", Venue.THREAD, bots_thread=True), True),
        (Incoming("midi", Venue.THREAD, bots_thread=True), True),
        (Incoming("stems", Venue.THREAD, bots_thread=True), True),
        (Incoming("what's this", Venue.THREAD, bots_thread=True, has_audio=True), True),
        (Incoming("make it faster", Venue.THREAD), False),  # someone else's thread
        (Incoming("make it faster", Venue.THREAD, mentioned=True), True),
        (Incoming("make a beat", Venue.DIRECT, from_bot=True), False),  # never itself
    ],
)
def test_who_beatbot_answers(message: Incoming, answered: bool) -> None:
    assert for_beatbot(message) is answered


def test_understood_is_a_request_not_small_talk() -> None:
    assert understood("make it darker") and understood("MIDI") and understood("/help")
    assert not understood("this one slaps 🔥") and not understood("thanks!")


# --- where, and who sees it -------------------------------------------------------------------

ACCEPTED = JobAccepted("j", "g", "On it")
RESULT = ResultReply("j", "g", "Here are the stems.")


@pytest.mark.parametrize(
    ("reply", "trigger", "placement"),
    [
        (TextReply("help"), Trigger.MESSAGE, Where.IN_PLACE),
        (TextReply("help"), Trigger.COMMAND, Where.PRIVATE),
        (TextReply("help"), Trigger.BUTTON, Where.PRIVATE),
        (ErrorReply("no"), Trigger.MESSAGE, Where.IN_PLACE),
        (ErrorReply("no"), Trigger.COMMAND, Where.PRIVATE),
        (ErrorReply("no"), Trigger.BUTTON, Where.PRIVATE),
        (ACCEPTED, Trigger.MESSAGE, Where.JOB),
        (ACCEPTED, Trigger.COMMAND, Where.JOB),
        (RESULT, Trigger.BUTTON, Where.IN_PLACE),  # stems for the whole thread
    ],
)
def test_where_each_reply_goes(reply: Reply, trigger: Trigger, placement: Where) -> None:
    assert where(reply, trigger) is placement


def test_only_a_job_asked_in_a_channel_opens_a_thread() -> None:
    assert opens_thread(Venue.CHANNEL)
    assert not opens_thread(Venue.THREAD) and not opens_thread(Venue.DIRECT)


class RecordingSurface:
    """What `converse` asked a surface to do, in order (a stand-in for a chat platform)."""

    def __init__(self) -> None:
        self.said: list[tuple[str, Any]] = []

    async def in_place(self, reply: Reply) -> None:
        self.said.append(("in place", reply))

    async def privately(self, reply: Reply) -> None:
        self.said.append(("private", reply))

    async def open_job(self) -> Origin:
        self.said.append(("open", None))
        return Origin(platform="test", channel="c", thread="new-thread", message_id="status")

    async def job_status(self, origin: Origin, reply: Reply) -> None:
        self.said.append(("status", (origin.thread, reply)))


async def _converse(services: Services, text: str, trigger: Trigger) -> list[tuple[str, Any]]:
    from bot.assistant import Assistant

    surface = RecordingSurface()
    origin = Origin(platform="test", channel="c", thread="", user="ada")
    await converse(Assistant(services).handle, Message(text, origin), trigger, surface)
    return surface.said


async def test_a_thread_opens_only_for_a_job(services: Services) -> None:
    job = await _converse(services, "make a dark trap beat at 140 for 4 seconds", Trigger.MESSAGE)
    assert [kind for kind, _ in job] == ["open", "status"]
    thread, accepted = job[1][1]
    assert thread == "new-thread" and isinstance(accepted, JobAccepted)
    record = await services.queue.status(accepted.job_id)
    assert record.origin.thread == "new-thread" and record.origin.message_id == "status"
    # The thread remembers the beat: a follow-up there is a refinement of it.
    followed = await services.conversation.last(record.origin.thread_key)
    assert followed is not None and followed.params["bpm"] == 140

    error = await _converse(services, "make a trap beat at 999 bpm", Trigger.MESSAGE)
    assert [kind for kind, _ in error] == ["in place"]  # no thread was opened for it
    assert isinstance(error[0][1], ErrorReply) and "40-240 BPM" in error[0][1].text

    private = await _converse(services, "help", Trigger.COMMAND)
    assert [kind for kind, _ in private] == ["private"]
    bad_button = await _converse(services, "stems", Trigger.BUTTON)
    assert [kind for kind, _ in bad_button] == ["private"]  # "no clip yet" to the presser


# --- rich text --------------------------------------------------------------------------------

SAMPLE = rich(
    para(bold("Genres"), " I know ", code("r&b"), ":"),
    bullets((bold("trap "), "140 <fast>"), "lo-fi"),
    para(link("docs", "https://example.com/a?b=1&c=2"), " and ", link("x", "javascript:alert(1)")),
)


def test_each_surface_writes_rich_text_in_its_own_syntax() -> None:
    assert render(SAMPLE, PLAIN) == (
        "Genres I know r&b:\n• trap 140 <fast>\n• lo-fi\ndocs (https://example.com/a?b=1&c=2) and x"
    )
    assert markdown(SAMPLE).splitlines()[:2] == [
        "**Genres** I know `r&b`:",
        "• **trap** 140 <fast>",
    ]
    assert mrkdwn(SAMPLE).splitlines() == [
        "*Genres* I know `r&amp;b`:",
        "• *trap* 140 &lt;fast&gt;",
        "• lo-fi",
        "<https://example.com/a?b=1&c=2|docs> and x",  # Slack reads & raw in a link
    ]
    html = render(SAMPLE, HTML)
    assert html.startswith("<p><strong>Genres</strong> I know <code>r&amp;b</code>:</p><ul>")
    assert "<li><strong>trap</strong> 140 &lt;fast&gt;</li>" in html
    assert "javascript" not in html  # only http(s) links become links
    assert terminal_text(TextReply.of(SAMPLE)).plain == SAMPLE.plain()


def test_no_surface_gets_another_surfaces_markup() -> None:
    for body in (replies.help_text(), replies.genres_text()):
        reply = TextReply.of(body)
        assert "**" not in reply.text and "**" not in mrkdwn(reply.body)
        assert "**" not in reply_html(reply) and "**" not in terminal_text(reply).plain
        assert "**" in markdown(reply.body)  # Discord's own bold
    assert "<script>" not in reply_html(TextReply("<script>alert(1)</script>"))


def test_the_length_a_beat_really_has() -> None:
    assert replies.clip_length(30, 140) == "31 s (18 bars)"
    assert replies.clip_length(4, 140) == "3 s (2 bars)"
    assert replies.clip_length(1, 60) == "4 s (1 bar)"


def test_settings_in_words() -> None:
    assert prefs.from_words("wav club duration 30") == {
        "format": "wav",
        "quality": "club",
        "duration": "30",
    }
    assert prefs.from_words("duration 9000 polka") == {}


def test_loopback_links_are_warned_about_only_with_a_chat() -> None:
    assert loopback_links_warning("http://127.0.0.1:8765", []) is None
    warning = loopback_links_warning("http://localhost:8765", ["Discord"])
    assert warning is not None and "BEATBOT_STORAGE__PUBLIC_URL" in warning
    assert loopback_links_warning("http://[::1]:8765", ["Slack"]) is not None
    assert loopback_links_warning("https://beats.example.com", ["Discord", "Slack"]) is None


# --- the status message's pace ------------------------------------------------------------------


async def test_throttle_sends_the_first_now_and_the_newest_later() -> None:
    throttle = EditThrottle(0.2)
    sent: list[tuple[str, float]] = []
    start = time.monotonic()

    def edit(label: str):  # -> async callable
        async def send() -> None:
            sent.append((label, time.monotonic() - start))

        return send

    for label in ("Composing", "Rendering drums", "Rendering bass", "Mixing"):
        await throttle.submit("m", edit(label))
    assert [label for label, _ in sent] == ["Composing"]
    await asyncio.sleep(0.3)
    assert [label for label, _ in sent] == ["Composing", "Mixing"]  # the newest, held
    assert sent[1][1] >= 0.19
    await throttle.submit("m", edit("Mastering"))  # within the interval: held
    await throttle.finish("m")  # the job ended: a held stage must not land on the result
    await asyncio.sleep(0.3)
    assert [label for label, _ in sent] == ["Composing", "Mixing"]


async def test_throttle_finish_waits_for_an_edit_in_flight() -> None:
    throttle = EditThrottle(0.05)
    landed: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.2)
        landed.append("progress")

    async def quick() -> None:
        landed.append("first")

    await throttle.submit("m", quick)
    await throttle.submit("m", slow)  # held, then sent after 0.05 s and slow to land
    await asyncio.sleep(0.1)
    await throttle.finish("m")  # returns only once the progress edit has landed
    landed.append("result")
    assert landed == ["first", "progress", "result"]
