"""The conversation rules every surface shares: who BeatBot answers, where, and who sees it.

Discord, Slack, the widget and the terminal differ in how they post; they must not differ in
what BeatBot does. So the rules live here, as plain values, and adapters only translate:

- **For BeatBot?** A mention, a DM (the widget and the terminal are DMs too), or, in a thread
  BeatBot started a job in, a request it understands or a shared audio file. People talking
  to each other in that thread ("this one slaps 🔥") are left alone.
- **Where?** A job lives in a thread: asked in a channel, it opens one; asked in a thread or a
  DM, it stays there. Everything else answers in place, and no thread opens for it.
- **Who sees it?** Help, errors, settings and history answering a slash command or a button
  are private to the person who asked (both platforms have ephemeral answers for those).
  A typed message is answered where it was typed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot import keys
from bot.intents import parse
from bot.jobs import Origin
from bot.messages import ErrorReply, JobAccepted, Message, Reply, TextReply
from bot.services import Services

# "midi" is answered without the parser (it is a file request, not a musical intent).
MIDI_REQUESTS = frozenset({"midi", "the midi", "send midi", "midi file"})


class Trigger(StrEnum):
    MESSAGE = "message"  # typed text: a mention, a DM, a thread follow-up, widget, terminal
    COMMAND = "command"  # a slash command
    BUTTON = "button"  # a button under a beat


class Venue(StrEnum):
    DIRECT = "direct"  # only the person and BeatBot: a DM, the widget, the terminal
    CHANNEL = "channel"  # a shared channel, outside any thread
    THREAD = "thread"  # a thread in a shared channel


class Where(StrEnum):
    IN_PLACE = "in place"  # beside the request, visible to whoever sees the request
    PRIVATE = "private"  # only the person who asked sees it
    JOB = "job"  # the job's status message, in the thread the job lives in


@dataclass(frozen=True)
class Incoming:
    """What a surface knows about a message before BeatBot reads it."""

    text: str
    venue: Venue
    mentioned: bool = False  # @BeatBot is in it
    bots_thread: bool = False  # posted in a thread BeatBot started a job in
    has_audio: bool = False  # it shares an audio file
    from_bot: bool = False  # a bot (BeatBot itself included) wrote it


def understood(text: str) -> bool:
    """A request BeatBot knows how to answer (not small talk)."""
    stripped = text.strip()
    return stripped.lower() in MIDI_REQUESTS or parse(stripped).kind != "unknown"


def for_beatbot(message: Incoming) -> bool:
    """Whether BeatBot answers this message at all."""
    if message.from_bot:
        return False
    if message.mentioned or message.venue is Venue.DIRECT:
        return True
    if message.venue is Venue.THREAD and message.bots_thread:
        return message.has_audio or understood(message.text)
    return False


def where(reply: Reply, trigger: Trigger) -> Where:
    """Where one reply goes."""
    if isinstance(reply, JobAccepted):
        return Where.JOB
    if isinstance(reply, TextReply | ErrorReply):
        return Where.IN_PLACE if trigger is Trigger.MESSAGE else Where.PRIVATE
    return Where.IN_PLACE  # a result or failure that needed no job: everyone in the thread


def opens_thread(venue: Venue) -> bool:
    """A job asked for in a channel gets a thread of its own; elsewhere it stays put."""
    return venue is Venue.CHANNEL


def private(trigger: Trigger) -> bool:
    """Answers that are only for the asker (help, settings, history, errors) are private when
    the request was a slash command or a button; a typed message is answered in place."""
    return trigger is not Trigger.MESSAGE


# --- one turn ---------------------------------------------------------------------------


class Surface(Protocol):
    """One request's answers on one platform: the adapter implements the three ways to
    answer and the way to open a job's place; `converse` decides which to use."""

    async def in_place(self, reply: Reply) -> None: ...

    async def privately(self, reply: Reply) -> None: ...

    async def open_job(self) -> Origin:
        """Open where the job lives (a thread and a status message) and return its Origin,
        whose `message_id` is the status message that progress edits."""
        ...

    async def job_status(self, origin: Origin, reply: Reply) -> None: ...


async def converse(
    handle: Callable[[Message], AsyncIterator[Reply]],
    message: Message,
    trigger: Trigger,
    surface: Surface,
) -> None:
    """Ask the assistant (`handle`, e.g. `Assistant.handle`) and put each reply where the
    rules say. The job's place opens only if the assistant really queues a job."""
    opened: Origin | None = None

    async def place_job() -> Origin:
        nonlocal opened
        opened = await surface.open_job()
        return opened

    asked = dataclasses.replace(message, place_job=place_job)
    async for reply in handle(asked):
        placement = where(reply, trigger)
        if placement is Where.JOB and opened is not None:
            await surface.job_status(opened, reply)
        elif placement is Where.PRIVATE:
            await surface.privately(reply)
        else:
            await surface.in_place(reply)


# --- threads BeatBot answers in without a mention -----------------------------------------


class BotThreads:
    """Threads BeatBot started a job in, remembered in Redis for the conversation's life, so
    follow-ups there need no mention on every platform (and after a restart)."""

    def __init__(self, services: Services, platform: str) -> None:
        self.redis = services.redis
        self.prefix = services.settings.queue.key_prefix
        self.ttl = services.settings.limits.conversation_ttl
        self.platform = platform

    async def add(self, channel: str, thread: str) -> None:
        if thread:
            key = keys.chat_thread(self.platform, self.prefix, channel, thread)
            await self.redis.set(key, "1", ex=self.ttl)

    async def has(self, channel: str, thread: str) -> bool:
        key = keys.chat_thread(self.platform, self.prefix, channel, thread)
        return bool(thread) and bool(await self.redis.exists(key))
