"""One conversation turn on Discord, and the delivery of job events into the right thread.

The rules (who is addressed, where an answer goes, what is private) are `bot.policy`'s; this
module only says how Discord does each: a reply to the message, an ephemeral interaction
follow-up, a thread opened from the message with a status message in it. Job progress and
results arrive later on the event stream; the Origin of each job names the channel, thread
and status message, so delivery needs no memory of its own and works after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from adapters.chat_common import WORKING, ChatSurface, EditThrottle, StatusBoard
from adapters.discord.buttons import actions_view, command_for
from adapters.discord.render import (
    DEFAULT_UPLOAD_LIMIT,
    chunks,
    markdown,
    reply_text,
    result_message,
    safe,
    status_text,
    thread_name,
)
from bot import prefs
from bot.assistant import Assistant, replies_for_event
from bot.errors import UserError
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
from bot.policy import BotThreads, Incoming, Trigger, Venue, converse, for_beatbot, opens_thread
from bot.replies import asked
from bot.services import Services

log = logging.getLogger(__name__)

PLATFORM = "discord"
NOT_HERE = "I'm not set up to work in this channel."
STALE_BUTTON = "That button no longer does anything."
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
    """Where a turn lives: the channel (parent, or DM) and the thread ('' for none)."""

    channel: str
    thread: str = ""

    @property
    def target(self) -> int:
        """The channel messages are posted in."""
        return int(self.thread or self.channel)

    @classmethod
    def of(cls, channel: Any, channel_id: int | None = None) -> Place:
        if isinstance(channel, discord.Thread):
            return cls(str(channel.parent_id), str(channel.id))
        return cls(str(getattr(channel, "id", None) or channel_id))

    @classmethod
    def from_origin(cls, origin: dict[str, Any]) -> Place:
        return cls(str(origin.get("channel") or ""), str(origin.get("thread") or ""))


def venue_of(guild_id: int | None, channel: Any) -> Venue:
    if guild_id is None:
        return Venue.DIRECT
    return Venue.THREAD if isinstance(channel, discord.Thread) else Venue.CHANNEL


class Flow:
    def __init__(self, client: discord.Client, services: Services, consumer_name: str) -> None:
        self.client = client
        self.services = services
        self.settings = services.settings.discord
        self.assistant = Assistant(services)
        self.throttle = EditThrottle(self.settings.edit_interval)
        self.board = StatusBoard(services, PLATFORM)
        self.threads = BotThreads(services, PLATFORM)
        self.consumer = EventConsumer(
            services.redis,
            services.settings.queue.key_prefix,
            group=PLATFORM,
            consumer_name=consumer_name,
            platform=PLATFORM,
        )

    # --- who may talk to us ---------------------------------------------------------------

    def allowed(self, guild_id: int | None, place: Place) -> bool:
        if guild_id is None:
            return True  # DMs
        if self.settings.allowed_guilds and guild_id not in self.settings.allowed_guilds:
            return False
        channels = self.settings.allowed_channels
        return not channels or int(place.channel) in channels or place.target in channels

    async def incoming(self, message: discord.Message) -> Incoming:
        """What the conversation rules need to know about a Discord message."""
        me = self.client.user
        channel = message.channel
        venue = venue_of(message.guild.id if message.guild else None, channel)
        mentioned = me is not None and me.id in message.raw_mentions
        ours = False
        if venue is Venue.THREAD and not mentioned and isinstance(channel, discord.Thread):
            ours = (me is not None and channel.owner_id == me.id) or await self.threads.has(
                str(channel.parent_id), str(channel.id)
            )
        return Incoming(
            text=_without_mentions(message.content, me.id if me else 0),
            venue=venue,
            mentioned=mentioned,
            bots_thread=ours,
            has_audio=any(_looks_like_audio(a) for a in message.attachments),
            from_bot=message.author.bot or (me is not None and message.author.id == me.id),
        )

    # --- triggers -------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if self.client.user is None or message.author.bot:
            return
        incoming = await self.incoming(message)
        if not for_beatbot(incoming):
            return
        guild_id = message.guild.id if message.guild else None
        place = Place.of(message.channel)
        if not self.allowed(guild_id, place):
            return
        surface = MessageSurface(self, message, incoming)
        try:
            attachments = await self.uploads(message.attachments)
        except UserError as exc:
            await surface.in_place(ErrorReply(exc.message))
            return
        user = str(message.author.id)
        await self.turn(surface, Trigger.MESSAGE, place, incoming.text, user, attachments)

    async def on_button(self, interaction: discord.Interaction, slug: str, gid: str) -> None:
        surface = await InteractionSurface.acknowledge(self, interaction, "")
        try:
            command = command_for(slug, gid)
            if command is None:
                await surface.privately(TextReply(STALE_BUTTON))
                return
            surface.request = command
            place = Place.of(interaction.channel, interaction.channel_id)
            user = str(interaction.user.id)
            await self.turn(surface, Trigger.BUTTON, place, command, user, (), gid)
        finally:
            await surface.close()

    async def on_command(
        self,
        interaction: discord.Interaction,
        text: str,
        files: Sequence[discord.Attachment] = (),
    ) -> None:
        """A slash command as the sentence a person would type, answered by the same rules."""
        surface = await InteractionSurface.acknowledge(self, interaction, text)
        try:
            place = Place.of(interaction.channel, interaction.channel_id)
            if not self.allowed(interaction.guild_id, place):
                await surface.privately(ErrorReply(NOT_HERE))
                return
            try:
                attachments = await self.uploads(files, every=True)
            except UserError as exc:
                await surface.privately(ErrorReply(exc.message))
                return
            user = str(interaction.user.id)
            await self.turn(surface, Trigger.COMMAND, place, text, user, attachments)
        finally:
            await surface.close()

    async def answer_privately(
        self, interaction: discord.Interaction, answer: Callable[[], Awaitable[Reply]]
    ) -> None:
        """A command whose answer is only ever the asker's (history, settings)."""
        surface = await InteractionSurface.acknowledge(self, interaction, "")
        try:
            await surface.privately(await answer())
        finally:
            await surface.close()

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
        surface: Surface,
        trigger: Trigger,
        place: Place,
        text: str,
        user: str,
        attachments: Sequence[Attachment] = (),
        generation_id: str | None = None,
    ) -> None:
        origin = Origin(platform=PLATFORM, channel=place.channel, thread=place.thread, user=user)
        defaults = await prefs.load(self.services, PLATFORM, user)  # /settings
        message = Message(text, origin, tuple(attachments), generation_id, defaults)
        await converse(self.assistant.handle, message, trigger, surface)

    async def post(
        self,
        channel: discord.abc.Messageable,
        reply: Reply,
        place: Place,
        *,
        reference: discord.Message | None = None,
    ) -> discord.Message:
        """Post one reply as new message(s) in `channel`; returns the last one."""
        if isinstance(reply, ResultReply):
            rendered = result_message(reply, self.upload_limit(place))
            return await channel.send(
                rendered.content,
                embed=rendered.embed,  # type: ignore[arg-type]
                files=rendered.discord_files(),
                view=actions_view(reply.actions),  # type: ignore[arg-type]
                reference=reference,  # type: ignore[arg-type]
            )
        parts = list(chunks(reply_text(reply))) or ["…"]
        view = actions_view(getattr(reply, "actions", ()))
        sent: discord.Message | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await channel.send(
                part,
                reference=reference if index == 0 else None,  # type: ignore[arg-type]
                view=view if last else None,  # type: ignore[arg-type]
            )
        assert sent is not None
        return sent

    async def show_accepted(self, origin: Origin, reply: Reply) -> None:
        """The status message now says what the job makes, at 0%."""
        if not isinstance(reply, JobAccepted):
            return
        await self.board.set_header(reply.job_id, reply.text)
        if await self.board.finished(reply.job_id):
            return  # already showing its result
        await self._put(
            Place.from_origin(origin.model_dump()),
            origin.message_id,
            content=status_text(reply.text, 0, "Queued"),
        )

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
        reply = replies_for_event(event.name, event.data)
        place = Place.from_origin(event.origin)
        message_id = str(event.origin.get("message_id") or "")
        if reply is None or not place.channel:
            return
        if isinstance(reply, ProgressReply):
            if message_id and not await self.board.finished(reply.job_id):
                await self.throttle.submit(
                    message_id, lambda: self._progress(place, message_id, reply)
                )
            return
        # Results and failures: exactly once across restarts and redeliveries.
        key = f"result:{getattr(reply, 'job_id', event.id)}"
        if not await self.consumer.once(key):
            return
        try:
            await self.throttle.finish(message_id)
            await self._finish(place, message_id or None, reply)
        except BaseException:
            await asyncio.shield(self.consumer.forget(key))  # let the redelivery try again
            raise

    async def _progress(self, place: Place, message_id: str, reply: ProgressReply) -> None:
        header = await self.board.header(reply.job_id)
        try:
            await self._put(
                place, message_id, content=status_text(header, reply.percent, reply.stage)
            )
        except discord.HTTPException as exc:  # a missed progress edit isn't worth a retry
            log.warning("progress edit failed in %s: %s", place.target, exc.status)

    async def _finish(self, place: Place, message_id: str | None, reply: Reply) -> None:
        """The status message becomes the result (files, embed, buttons) or the failure."""
        try:
            if isinstance(reply, ResultReply):
                rendered = result_message(reply, self.upload_limit(place))
                await self._put(
                    place,
                    message_id,
                    content=rendered.content,
                    embed=rendered.embed,
                    files=rendered.discord_files(),
                    view=actions_view(reply.actions),
                )
            elif isinstance(reply, FailedReply):
                await self._put(place, message_id, content=safe(reply_text(reply)), embed=None)
        except discord.HTTPException:
            log.exception("Discord refused a %s in %s", type(reply).__name__, place.target)
            raise


# --- surfaces: how one request is answered ------------------------------------------------


class Surface(ChatSurface):
    """The answers to one Discord request (see `bot.policy.Surface`)."""

    flow: Flow


class MessageSurface(Surface):
    """A typed message: answers reply to it; a job asked in a channel opens a thread from it."""

    def __init__(self, flow: Flow, message: discord.Message, incoming: Incoming) -> None:
        self.flow = flow
        self.message = message
        self.incoming = incoming

    async def in_place(self, reply: Reply) -> None:
        place = Place.of(self.message.channel)
        await self.flow.post(self.message.channel, reply, place, reference=self.message)

    async def open_job(self) -> Origin:
        channel = self.message.channel
        place = Place.of(channel)
        status: discord.Message | None = None
        if opens_thread(self.incoming.venue) and isinstance(channel, discord.TextChannel):
            try:
                thread = await self.message.create_thread(name=thread_name(self.incoming.text))
                place = Place(str(channel.id), str(thread.id))
                status = await thread.send(WORKING)
            except discord.HTTPException as exc:  # no permission, or threads switched off
                log.info("no thread in %s (%s); replying instead", channel.id, exc.status)
        if status is None:
            status = await self.message.reply(WORKING)
        await self.flow.threads.add(place.channel, place.thread)
        return _origin(place, str(self.message.author.id), status)


class InteractionSurface(Surface):
    """A slash command or a button: acknowledged at once with a private "thinking…" that
    private answers replace; a job's status is posted in the open (in a thread of its own
    when asked in a channel), and the private placeholder is then removed or points there."""

    def __init__(self, flow: Flow, interaction: discord.Interaction, request: str) -> None:
        self.flow = flow
        self.interaction = interaction
        self.request = request
        self.resolved = False  # the private placeholder was answered

    @classmethod
    async def acknowledge(
        cls, flow: Flow, interaction: discord.Interaction, request: str
    ) -> InteractionSurface:
        # Within Discord's 3 s; ephemeral now, because a deferred answer can't change later.
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True, ephemeral=True)
        return cls(flow, interaction, request)

    @property
    def place(self) -> Place:
        return Place.of(self.interaction.channel, self.interaction.channel_id)

    @property
    def channel(self) -> discord.abc.Messageable:
        return self.flow.client.get_partial_messageable(self.place.target)

    async def privately(self, reply: Reply) -> None:
        for part in list(chunks(reply_text(reply))) or ["…"]:
            await self.interaction.followup.send(part, ephemeral=True)
        self.resolved = True

    async def in_place(self, reply: Reply) -> None:
        await self.flow.post(self.channel, reply, self.place)

    async def open_job(self) -> Origin:
        place = self.place
        user = str(self.interaction.user.id)
        venue = venue_of(self.interaction.guild_id, self.interaction.channel)
        channel = self.interaction.channel
        if opens_thread(venue) and isinstance(channel, discord.TextChannel):
            # The thread hangs from a public line saying who asked for what (the command
            # itself was private), as a mention's thread hangs from the mention.
            root = await channel.send(asked(f"<@{user}>", safe(markdown(self.request), 1900)))
            try:
                thread = await root.create_thread(name=thread_name(self.request))
            except discord.HTTPException as exc:
                log.info("no thread in %s (%s); status in the channel", place.target, exc.status)
            else:
                place = Place(place.channel, str(thread.id))
                status = await thread.send(WORKING)
                await self.flow.threads.add(place.channel, place.thread)
                await self.interaction.edit_original_response(content=f"On it in {thread.mention}.")
                self.resolved = True
                return _origin(place, user, status)
        status = await self.channel.send(WORKING)
        await self.flow.threads.add(place.channel, place.thread)
        return _origin(place, user, status)

    async def close(self) -> None:
        """Nothing private was said: take the "thinking…" placeholder away."""
        if self.resolved:
            return
        try:
            await self.interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.info("could not remove a placeholder: %s", exc.status)


def _origin(place: Place, user: str, status: discord.Message) -> Origin:
    return Origin(
        platform=PLATFORM,
        channel=place.channel,
        thread=place.thread,
        user=user,
        message_id=str(status.id),
    )


def _without_mentions(text: str, bot_id: int) -> str:
    return text.replace(f"<@{bot_id}>", "").replace(f"<@!{bot_id}>", "").strip()


def _looks_like_audio(file: discord.Attachment) -> bool:
    kind = file.content_type or ""
    return kind.startswith(("audio/", "video/")) or file.filename.lower().endswith(AUDIO_SUFFIXES)


async def _download(file: discord.Attachment) -> AsyncIterator[bytes]:
    yield await file.read()
