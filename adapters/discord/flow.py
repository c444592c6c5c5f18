"""One conversation turn on Discord, and the delivery of job events into the right thread.

A turn: post a status message where the answer belongs (a new thread, the thread it came
from, or a reply), ask the assistant, and edit that status message with what comes back.
Job progress and results arrive later on the event stream; the Origin of each job names
the channel, thread and status message, so delivery needs no memory of its own and works
after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from adapters.chat_common import EditThrottle
from adapters.discord import prefs
from adapters.discord.buttons import actions_view, command_for
from adapters.discord.render import (
    DEFAULT_UPLOAD_LIMIT,
    chunks,
    result_message,
    safe,
    status_text,
    thread_name,
)
from bot.assistant import Assistant, replies_for_event
from bot.errors import APOLOGY, UserError
from bot.events import Event, EventConsumer
from bot.jobs import Origin
from bot.messages import (
    Attachment,
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.services import Services

log = logging.getLogger(__name__)

WORKING = "🎛️ On it…"
AUDIO_SUFFIXES = (
    ".wav",
    ".mp3",
    ".flac",
    ".ogg",
    ".oga",
    ".m4a",
    ".aac",
    ".aif",
    ".aiff",
    ".opus",
    ".webm",
    ".mp4",
)


@dataclass(frozen=True)
class Place:
    """Where a turn lives: the channel (parent, or DM) and the thread ('' for replies)."""

    channel: str
    thread: str = ""

    @property
    def target(self) -> int:
        """The channel the status message is in."""
        return int(self.thread or self.channel)

    @classmethod
    def of(cls, channel: Any, channel_id: int | None = None) -> Place:
        if isinstance(channel, discord.Thread):
            return cls(str(channel.parent_id), str(channel.id))
        return cls(str(getattr(channel, "id", None) or channel_id))

    @classmethod
    def from_origin(cls, origin: dict[str, Any]) -> Place:
        return cls(str(origin.get("channel") or ""), str(origin.get("thread") or ""))


class Flow:
    def __init__(self, client: discord.Client, services: Services, consumer_name: str) -> None:
        self.client = client
        self.services = services
        self.settings = services.settings.discord
        self.assistant = Assistant(services)
        self.throttle = EditThrottle(self.settings.edit_interval)
        self.headers: dict[str, str] = {}  # status message id -> "On it: a dark trap beat…"
        self.finished: set[str] = set()  # status messages already showing a result
        self.consumer = EventConsumer(
            services.redis,
            services.settings.queue.key_prefix,
            group="discord",
            consumer_name=consumer_name,
            platform="discord",
        )

    # --- who may talk to us ---------------------------------------------------------------

    def allowed(self, guild_id: int | None, place: Place) -> bool:
        if guild_id is None:
            return True  # DMs
        if self.settings.allowed_guilds and guild_id not in self.settings.allowed_guilds:
            return False
        channels = self.settings.allowed_channels
        return not channels or int(place.channel) in channels or place.target in channels

    def addressed(self, message: discord.Message) -> bool:
        """A mention, a DM, or any message in a thread BeatBot opened."""
        me = self.client.user
        if me is None or message.author.bot:
            return False
        if message.guild is None or me.id in message.raw_mentions:
            return True
        channel = message.channel
        return isinstance(channel, discord.Thread) and channel.owner_id == me.id

    # --- triggers -------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if not self.addressed(message):
            return
        guild_id = message.guild.id if message.guild else None
        if not self.allowed(guild_id, Place.of(message.channel)):
            return
        text = _without_mentions(message.content, self.client.user.id if self.client.user else 0)
        try:
            attachments = await self.uploads(message.attachments)
        except UserError as exc:
            await message.reply(safe(exc.message))
            return
        place, status = await self._open(message, text)
        await self.turn(place, str(status.id), text, str(message.author.id), attachments)

    async def _open(self, message: discord.Message, text: str) -> tuple[Place, discord.Message]:
        """Post the status message: in a new thread named from the prompt when we can."""
        channel = message.channel
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name(text or "beat"))
                return Place(str(channel.id), str(thread.id)), await thread.send(WORKING)
            except discord.HTTPException as exc:  # no permission, or threads switched off
                log.info("no thread in %s (%s); replying instead", channel.id, exc.status)
        return Place.of(channel), await message.reply(WORKING)

    async def on_button(self, interaction: discord.Interaction, slug: str, gid: str) -> None:
        await interaction.response.defer()  # acknowledge within 3 s; the answer follows
        command = command_for(slug, gid)
        if command is None:
            await interaction.followup.send("That button no longer does anything.", ephemeral=True)
            return
        place = Place.of(interaction.channel, interaction.channel_id)
        status = await self.client.get_partial_messageable(place.target).send(WORKING)
        await self.turn(place, str(status.id), command, str(interaction.user.id), (), gid)

    async def on_slash(
        self,
        interaction: discord.Interaction,
        text: str,
        files: Sequence[discord.Attachment] = (),
    ) -> None:
        """A slash command as a chat message: deferred at once, answered by follow-ups."""
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        place = Place.of(interaction.channel, interaction.channel_id)
        if not self.allowed(interaction.guild_id, place):
            await interaction.followup.send("I'm not set up to work in this channel.")
            return
        try:
            attachments = await self.uploads(files, every=True)
        except UserError as exc:
            await interaction.followup.send(safe(exc.message))
            return
        status = await interaction.followup.send(WORKING, wait=True)
        await self.turn(place, str(status.id), text, str(interaction.user.id), attachments)

    async def uploads(
        self, files: Sequence[discord.Attachment], *, every: bool = False
    ) -> list[Attachment]:
        """Audio attachments saved by the store (too big or empty: UserError)."""
        saved = []
        for file in files:
            if not (every or _looks_like_audio(file)):
                continue
            upload = await self.services.store.save_upload(
                _download(file), file.filename, size_hint=file.size
            )
            saved.append(Attachment(upload.file_id, file.filename))
        return saved

    # --- one turn -------------------------------------------------------------------------

    async def turn(
        self,
        place: Place,
        status_id: str,
        text: str,
        user: str,
        attachments: Sequence[Attachment] = (),
        generation_id: str | None = None,
    ) -> None:
        origin = Origin(
            platform="discord",
            channel=place.channel,
            thread=place.thread,
            user=user,
            message_id=status_id,
        )
        defaults = await prefs.load(self.services, user)  # /settings
        message = Message(text, origin, tuple(attachments), generation_id, defaults)
        target: str | None = status_id
        async for reply in self.assistant.handle(message):
            await self.show(place, target, reply)
            target = None  # a second reply gets its own message

    async def show(self, place: Place, message_id: str | None, reply: Reply) -> None:
        """Render one Reply by editing the status message (or posting when there is none)."""
        try:
            await self._show(place, message_id, reply)
        except discord.HTTPException:
            log.exception("Discord refused a %s in %s", type(reply).__name__, place.target)
            raise

    async def _show(self, place: Place, message_id: str | None, reply: Reply) -> None:
        if isinstance(reply, JobAccepted):
            if message_id:
                self.headers[message_id] = reply.text
                if message_id not in self.finished:
                    self.throttle.due(message_id)
                    await self._put(place, message_id, content=status_text(reply.text, 0, "Queued"))
        elif isinstance(reply, ProgressReply):
            await self._progress(place, message_id, reply)
        elif isinstance(reply, ResultReply):
            await self._result(place, message_id, reply)
        elif isinstance(reply, FailedReply):
            self._finish(message_id)
            await self._put(place, message_id, content=safe(f"✗ {reply.text}"), embed=None)
        elif isinstance(reply, ErrorReply):
            await self._put(place, message_id, content=safe(f"⚠️ {reply.text}"))
        elif isinstance(reply, TextReply):
            parts = list(chunks(reply.text)) or [APOLOGY]
            view = actions_view(reply.actions)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                await self._put(
                    place,
                    message_id if index == 0 else None,
                    content=part,
                    view=view if last else None,
                )

    async def _progress(self, place: Place, message_id: str | None, reply: ProgressReply) -> None:
        if not message_id or message_id in self.finished or not self.throttle.due(message_id):
            return
        header = self.headers.get(message_id)
        await self._put(place, message_id, content=status_text(header, reply.percent, reply.stage))

    async def _result(self, place: Place, message_id: str | None, reply: ResultReply) -> None:
        self._finish(message_id)
        rendered = result_message(reply, self.upload_limit(place))
        await self._put(
            place,
            message_id,
            content=rendered.content,
            embed=rendered.embed,
            files=rendered.discord_files(),
            view=actions_view(reply.actions),
        )

    def _finish(self, message_id: str | None) -> None:
        if message_id:
            self.finished.add(message_id)
            self.throttle.done(message_id)
            self.headers.pop(message_id, None)

    async def _put(
        self,
        place: Place,
        message_id: str | None,
        *,
        files: list[discord.File] | None = None,
        **fields: Any,
    ) -> None:
        """Edit the status message in place; post a new one if it is gone (or there is none)."""
        channel = self.client.get_partial_messageable(place.target)
        if message_id:
            try:
                if files is not None:
                    fields["attachments"] = files
                await channel.get_partial_message(int(message_id)).edit(**fields)
                return
            except discord.NotFound:
                fields.pop("attachments", None)
                for file in files or ():
                    file.reset()
        if fields.get("view") is None:
            fields.pop("view", None)
        await channel.send(files=files or [], **fields)

    def upload_limit(self, place: Place) -> int:
        """The channel's upload limit (10 MiB unless boosted), capped by config."""
        channel = self.client.get_channel(place.target) or self.client.get_channel(
            int(place.channel)
        )
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT
        cap = self.settings.upload_limit_mb
        return min(limit, int(cap * 2**20)) if cap > 0 else limit

    # --- delivery from the event stream ---------------------------------------------------

    async def deliver(self, event: Event) -> None:
        reply = replies_for_event(event.name, event.data, self.services.store)
        place = Place.from_origin(event.origin)
        if reply is None or not place.channel:
            return
        message_id = str(event.origin.get("message_id") or "") or None
        if isinstance(reply, ProgressReply):
            await self._progress(place, message_id, reply)
            return
        # Results and failures: exactly once across restarts and redeliveries.
        key = f"result:{getattr(reply, 'job_id', event.id)}"
        if not await self.consumer.once(key):
            return
        try:
            await self.show(place, message_id, reply)
        except BaseException:
            await asyncio.shield(self.consumer.forget(key))  # let the redelivery try again
            raise


def _without_mentions(text: str, bot_id: int) -> str:
    return text.replace(f"<@{bot_id}>", "").replace(f"<@!{bot_id}>", "").strip()


def _looks_like_audio(file: discord.Attachment) -> bool:
    kind = file.content_type or ""
    return kind.startswith(("audio/", "video/")) or file.filename.lower().endswith(AUDIO_SUFFIXES)


async def _download(file: discord.Attachment) -> AsyncIterator[bytes]:
    yield await file.read()
