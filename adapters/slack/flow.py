"""One conversation turn on Slack, and the delivery of job events into the right thread.

The rules (who is addressed, where an answer goes, what is private) are `bot.policy`'s; this
module only says how Slack does each: a post beside the message, an ephemeral answer through
the command's or button's `response_url`, a thread on the request with one status message
in it. Job progress and results come back through the event stream (consumer group "slack"),
never through memory: the status message's `ts` travels with the job in `Origin.message_id`,
so a restarted bot still posts what finished while it was down, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat_common import WORKING, ChatSurface, EditThrottle, StatusBoard, status_text
from adapters.slack import commands
from adapters.slack.blocks import (
    actions_block,
    command_for,
    files_to_upload,
    has_card,
    mrkdwn,
    reply_text,
    result_blocks,
)
from adapters.slack.files import SharedFiles, api_error
from bot import prefs
from bot.assistant import Assistant, replies_for_event
from bot.errors import UserError
from bot.events import Event, EventConsumer
from bot.jobs import Origin
from bot.messages import (
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

PLATFORM = "slack"
GROUP = "slack"
# Message subtypes a person sends; edits, joins, bot posts and the like are not requests.
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
NOT_IN_CHANNEL = (
    "I can't post in this channel yet. Invite me with `/invite @BeatBot` and try again, "
    "or send me a DM."
)
STALE_BUTTON = "That button no longer does anything."


def venue_of(channel: str, channel_type: str | None, thread: str | None) -> Venue:
    """A DM ("im", or a D… channel id) is direct; a thread is a thread; the rest is a channel."""
    if channel_type == "im" or (channel_type is None and channel.startswith("D")):
        return Venue.DIRECT
    return Venue.THREAD if thread else Venue.CHANNEL


class Flow:
    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        files: SharedFiles,
        consumer_name: str,
    ) -> None:
        self.services = services
        self.client = client
        self.files = files
        self.assistant = Assistant(services)
        self.throttle = EditThrottle(services.settings.slack.update_interval)
        self.board = StatusBoard(services, PLATFORM)
        self.threads = BotThreads(services, PLATFORM)
        self.consumer = EventConsumer(
            services.redis,
            services.settings.queue.key_prefix,
            group=GROUP,
            consumer_name=consumer_name,
            platform=PLATFORM,
        )

    # --- triggers ---------------------------------------------------------------------------

    async def on_event(
        self,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        *,
        mentioned: bool = False,
        bot_user: str | None = None,
    ) -> None:
        """A mention, a DM, or a message in a channel BeatBot is in."""
        # A retry (x-slack-retry-num) repeats the event_id: it must never start a second job.
        event_id = body.get("event_id")
        if event_id and not await self.consumer.once(f"event:{event_id}"):
            return
        if event.get("subtype") not in PERSON_SUBTYPES:
            return
        channel, ts = str(event["channel"]), str(event["ts"])
        thread = str(event.get("thread_ts") or "")
        text = str(event.get("text") or "")
        venue = venue_of(channel, event.get("channel_type"), thread)
        if not mentioned and venue is not Venue.DIRECT and bot_user and f"<@{bot_user}>" in text:
            return  # app_mention brings this one
        ours = venue is Venue.THREAD and not mentioned and await self.threads.has(channel, thread)
        incoming = Incoming(
            text=text,
            venue=venue,
            mentioned=mentioned,
            bots_thread=ours,
            has_audio=bool(event.get("files")),
            from_bot=bool(event.get("bot_id")),
        )
        if not for_beatbot(incoming):
            return
        # A mention arrives twice (app_mention and message.channels): answer it once.
        if not await self.consumer.once(f"message:{channel}:{ts}"):
            return
        user = str(event.get("user") or "")
        surface = MessageSurface(self, channel, ts, thread, venue, user)
        try:
            attachments = await self.files.attachments(list(event.get("files") or ()))
        except UserError as exc:
            await surface.in_place(ErrorReply(exc.message))
            return
        origin = Origin(platform=PLATFORM, channel=channel, thread=thread, user=user)
        await self.turn(surface, Trigger.MESSAGE, origin, text, attachments)

    async def on_command(self, command: Mapping[str, Any], respond: Any) -> None:
        channel, user = str(command["channel_id"]), str(command["user_id"])
        read = commands.read(self.services, user, str(command.get("text") or ""))
        surface = InteractionSurface(self, respond, channel, "", user, read.request)
        if read.answer is not None:
            await surface.privately(await read.answer())
            return
        origin = Origin(platform=PLATFORM, channel=channel, thread="", user=user)
        await self.turn(surface, Trigger.COMMAND, origin, read.request)

    async def on_button(
        self, body: Mapping[str, Any], action: Mapping[str, Any], respond: Any
    ) -> None:
        generation_id = str(action.get("value") or "")
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id"))
        ts = str(message.get("ts") or container.get("message_ts") or "")
        thread = str(message.get("thread_ts") or container.get("thread_ts") or "")
        if not thread and venue_of(channel, None, "") is not Venue.DIRECT:
            thread = ts  # a card at the top of a channel: its thread is the place to answer
        user = str((body.get("user") or {}).get("id") or "")
        command = command_for(str(action.get("action_id")), generation_id)
        surface = InteractionSurface(self, respond, channel, thread, user, command or "")
        if command is None:
            await surface.privately(TextReply(STALE_BUTTON))
            return
        origin = Origin(platform=PLATFORM, channel=channel, thread=thread, user=user)
        await self.turn(surface, Trigger.BUTTON, origin, command, generation_id=generation_id)

    async def turn(
        self,
        surface: Surface,
        trigger: Trigger,
        origin: Origin,
        text: str,
        attachments: Iterable[Any] = (),
        *,
        generation_id: str | None = None,
    ) -> None:
        defaults = await prefs.load(self.services, PLATFORM, origin.user)  # /beat settings
        message = Message(text, origin, tuple(attachments), generation_id, defaults)
        await converse(self.assistant.handle, message, trigger, surface)

    # --- posting ----------------------------------------------------------------------------

    async def post(self, channel: str, thread: str, text: str, **extra: Any) -> str:
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread or None, text=text, **extra
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, text: str) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=text)

    async def post_reply(self, channel: str, thread: str, reply: Reply) -> None:
        """One reply as new posts: words, or a result's files and card (its sentence once)."""
        if isinstance(reply, ResultReply):
            await self.upload_files(channel, thread, reply)
            await self.post_card(channel, thread, reply)
            return
        actions = getattr(reply, "actions", ())
        blocks = None
        if actions:
            section = {"type": "section", "text": {"type": "mrkdwn", "text": reply_text(reply)}}
            blocks = [section, actions_block(actions, actions[0].generation_id)]
        await self.post(channel, thread, reply_text(reply), blocks=blocks)

    async def upload_files(self, channel: str, thread: str, reply: ResultReply) -> None:
        uploads = []
        for file in files_to_upload(reply.files):
            try:
                data = await asyncio.to_thread(file.path.read_bytes)
            except FileNotFoundError:
                continue  # pruned since; the card still says what it was
            # Several takes' files are all beat.mp3: each is named after its take.
            name = f"take{file.take}-{file.path.name}" if file.take else file.path.name
            uploads.append({"file": data, "filename": name, "title": file.title})
        if uploads:
            # Without a card (stems, MIDI) the sentence rides along with the files, once.
            comment = None if has_card(reply) else mrkdwn(reply.text)
            await self.client.files_upload_v2(
                file_uploads=uploads,
                channel=channel,
                thread_ts=thread or None,
                initial_comment=comment,
            )

    async def post_card(self, channel: str, thread: str, reply: ResultReply) -> None:
        if not has_card(reply) and files_to_upload(reply.files):
            return
        await self.post(channel, thread, mrkdwn(reply.text), blocks=result_blocks(reply))

    async def open_status(self, channel: str, thread: str) -> Origin:
        """Post a job's status message; a channel BeatBot isn't in is a sentence."""
        try:
            ts = await self.post(channel, thread, WORKING)
        except SlackApiError as exc:
            if api_error(exc) in ("not_in_channel", "channel_not_found"):
                raise UserError(NOT_IN_CHANNEL) from None
            raise
        await self.threads.add(channel, thread)
        return Origin(platform=PLATFORM, channel=channel, thread=thread, message_id=ts)

    async def show_accepted(self, origin: Origin, reply: Reply) -> None:
        """The status message now says what the job makes, at 0%."""
        if not isinstance(reply, JobAccepted):
            return
        await self.board.set_header(reply.job_id, reply.text)
        if await self.board.finished(reply.job_id):
            return
        await self.update(
            origin.channel, origin.message_id, await self._status(reply.job_id, 0, "Queued")
        )

    async def _status(self, job_id: str, percent: int, stage: str) -> str:
        header = await self.board.header(job_id) or "Working on it…"
        return mrkdwn(status_text(header, percent, stage))

    # --- job events from the stream ---------------------------------------------------------

    async def handle_event(self, event: Event) -> None:
        """One job event: edit the status message, or post the result exactly once."""
        origin = Origin.model_validate(event.origin)
        reply = replies_for_event(event.name, event.data, self.services.store)
        if reply is None or not origin.channel:
            return
        if isinstance(reply, ProgressReply):
            if origin.message_id and not await self.board.finished(reply.job_id):
                await self.throttle.submit(origin.message_id, lambda: self._progress(origin, reply))
        elif isinstance(reply, ResultReply):
            await self._finish(origin, reply, "✅ Done")
            where = (origin.channel, origin.thread)
            await self._once(f"{reply.job_id}:files", self.upload_files(*where, reply))
            await self._once(f"{reply.job_id}:card", self.post_card(*where, reply))
        elif isinstance(reply, FailedReply):
            await self._finish(origin, reply, "❌ Failed")
            post = self.post(origin.channel, origin.thread, reply_text(reply))
            await self._once(f"{reply.job_id}:failed", post)

    async def _progress(self, origin: Origin, reply: ProgressReply) -> None:
        try:
            await self.update(
                origin.channel,
                origin.message_id,
                await self._status(reply.job_id, reply.percent, reply.stage),
            )
        except SlackApiError as exc:  # a missed progress edit isn't worth a retry
            log.warning("progress edit failed: %s", api_error(exc))

    async def _finish(self, origin: Origin, reply: ResultReply | FailedReply, stage: str) -> None:
        """The status message ends at 100% (or says it failed); the sentence is posted below."""
        await self.throttle.finish(origin.message_id)
        if origin.message_id:
            percent = 100 if isinstance(reply, ResultReply) else 0
            text = await self._status(reply.job_id, percent, stage)
            await self._once(
                f"{reply.job_id}:status", self.update(origin.channel, origin.message_id, text)
            )

    async def _once(self, key: str, work: Awaitable[Any]) -> None:
        """Do a side effect once per key across retries and restarts; a failure frees the key
        so the redelivered event tries again."""
        if not await self.consumer.once(f"result:{key}"):
            _close(work)
            return
        try:
            await work
        except BaseException:
            await self.consumer.forget(f"result:{key}")
            raise


# --- surfaces: how one request is answered ------------------------------------------------


class Surface(ChatSurface):
    """The answers to one Slack request (see `bot.policy.Surface`)."""

    flow: Flow
    channel: str
    thread: str  # where answers in place go ('' for the top of the channel or DM)

    async def in_place(self, reply: Reply) -> None:
        await self.flow.post_reply(self.channel, self.thread, reply)


class MessageSurface(Surface):
    """A typed message: answers go beside it; a job asked in a channel opens its thread."""

    def __init__(
        self, flow: Flow, channel: str, ts: str, thread: str, venue: Venue, user: str
    ) -> None:
        self.flow, self.channel, self.ts, self.thread = flow, channel, ts, thread
        self.venue, self.user = venue, user

    async def open_job(self) -> Origin:
        thread = self.ts if opens_thread(self.venue) else self.thread
        origin = await self.flow.open_status(self.channel, thread)
        return origin.model_copy(update={"user": self.user})


class InteractionSurface(Surface):
    """`/beat` or a button: private answers through `response_url` (ephemeral); a job's
    status in the open, in a thread hung from a line saying who asked when in a channel."""

    def __init__(
        self, flow: Flow, respond: Any, channel: str, thread: str, user: str, request: str
    ) -> None:
        self.flow, self.respond, self.channel, self.thread = flow, respond, channel, thread
        self.user, self.request = user, request

    async def privately(self, reply: Reply) -> None:
        await self.respond(
            text=reply_text(reply), response_type="ephemeral", replace_original=False
        )

    async def open_job(self) -> Origin:
        thread = self.thread
        if not thread and opens_thread(venue_of(self.channel, None, "")):
            line = asked(f"<@{self.user}>", mrkdwn(self.request))
            try:
                thread = await self.flow.post(self.channel, "", line)
            except SlackApiError as exc:
                if api_error(exc) in ("not_in_channel", "channel_not_found"):
                    raise UserError(NOT_IN_CHANNEL) from None
                raise
        origin = await self.flow.open_status(self.channel, thread)
        return origin.model_copy(update={"user": self.user})


def _close(work: Awaitable[Any]) -> None:
    close = getattr(work, "close", None)
    if close is not None:
        close()  # an un-awaited coroutine would warn
