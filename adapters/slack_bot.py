"""BeatBot as a Slack app: mentions, DMs, thread follow-ups, `/beat`, audio shares, buttons.

The adapter only translates. Slack input becomes a `Message` for the assistant; each `Reply`
becomes a Slack post. Job progress and results come back through the event stream (consumer
group "slack"), never through memory, so a restarted bot still posts what finished while it
was down, and buttons keep working because their value carries the generation id.

Per request there is one status message in the thread: it is posted before the assistant
runs, so its `ts` travels with the job in `Origin.message_id` and every progress event knows
which message to `chat.update`.

HTTP mode mounts POST /slack/events on the serve port (bolt verifies signature and timestamp);
Socket Mode connects out with the app token when `SLACK_APP_TOKEN` is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat_common import EditThrottle, neutralise_mentions, progress_line
from bot import keys
from bot.assistant import Assistant, actions_for, replies_for_event
from bot.config import Secrets
from bot.errors import APOLOGY, BadAudio, ConfigError, UserError
from bot.events import Event, EventConsumer
from bot.intents import parse
from bot.jobs import Origin
from bot.messages import (
    Action,
    Attachment,
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    OutputFile,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.services import Services
from bot.store import Upload

log = logging.getLogger(__name__)

GROUP = "slack"
EVENTS_PATH = "/slack/events"
ACTION_PREFIX = "beatbot:"
THINKING = "🎛️ Listening…"
DOWNLOAD_CHUNK = 64 * 1024
MAX_FILES = 10
# Message subtypes a person sends; edits, joins, bot posts and the like are not requests.
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
AUDIO_FILETYPES = {"mp3", "wav", "flac", "aiff", "aif", "ogg", "m4a", "aac", "opus", "wma"}
NOT_AUDIO = (
    "I can only work with audio files (WAV, MP3, FLAC, AIFF, OGG, M4A). "
    "Share a track and say what to do, e.g. “master this for club”."
)
NOT_IN_CHANNEL = (
    "I can't post in this channel yet. Invite me with `/invite @BeatBot` and try again, "
    "or send me a DM."
)


def slack_enabled(secrets: Secrets) -> bool:
    """A bot token plus a way in: a signing secret (HTTP) or an app token (Socket Mode)."""
    return secrets.slack_bot_token is not None and (
        secrets.slack_signing_secret is not None or secrets.slack_app_token is not None
    )


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


# --- Block Kit ------------------------------------------------------------------------------


def action_id(action: Action) -> str:
    """One action_id per command ("beatbot:variation"), so Slack keeps them apart."""
    return ACTION_PREFIX + re.sub(r"[^a-z0-9]+", "-", action.label.lower()).strip("-")


def command_for(action_id_: str, generation_id: str) -> str | None:
    """The command behind a pressed button; computed, not stored, so it survives restarts."""
    for action in actions_for(generation_id):
        if action_id(action) == action_id_:
            return action.command
    return None


def _detail_fields(details: Mapping[str, Any]) -> list[dict[str, str]]:
    after = details.get("after")
    lufs = details.get("lufs", after.get("lufs") if isinstance(after, Mapping) else None)
    rows = [
        ("Genre", details.get("genre")),
        ("BPM", f"{details['bpm']:g}" if isinstance(details.get("bpm"), int | float) else None),
        ("Key", details.get("key")),
        ("Seed", details.get("seed")),
        ("Loudness", f"{lufs:.1f} LUFS" if isinstance(lufs, int | float) else None),
        ("Length", f"{details['duration']:.0f} s" if details.get("duration") else None),
    ]
    return [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in rows if value]


def result_blocks(reply: ResultReply) -> list[dict[str, Any]]:
    """The result card: a section with the beat's numbers, then one button per next step."""
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": neutralise_mentions(reply.text)[:2900]},
    }
    fields = _detail_fields(reply.details)
    if fields:
        section["fields"] = fields
    blocks = [section]
    if reply.actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"beatbot-actions-{reply.generation_id[:8]}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action_id(action),
                        "text": {"type": "plain_text", "text": action.label},
                        "value": action.generation_id,
                    }
                    for action in reply.actions
                ],
            }
        )
    return blocks


def has_card(reply: ResultReply) -> bool:
    """A beat or master gets a card with its numbers; stems or MIDI are just the files."""
    return bool(reply.actions or _detail_fields(reply.details))


def files_to_upload(files: Sequence[OutputFile]) -> list[OutputFile]:
    """A beat or master: the audio and its waveform. Stems or MIDI: those files."""
    main = [f for f in files if f.kind == "audio"]
    if main:
        return main + [f for f in files if f.kind == "image"]
    return [f for f in files if f.kind != "preview"]


def _is_audio(info: Mapping[str, Any]) -> bool:
    mimetype = str(info.get("mimetype") or "")
    filetype = str(info.get("filetype") or "").lower()
    return mimetype.startswith("audio/") or filetype in AUDIO_FILETYPES


# --- the adapter ------------------------------------------------------------------------------


class SlackAdapter:
    def __init__(self, services: Services, *, consumer_name: str | None = None) -> None:
        token = _reveal(services.secrets.slack_bot_token)
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set; the Slack adapter can't start.")
        self.services = services
        self.prefix = services.settings.queue.key_prefix
        self._token = token
        self._signing_secret = _reveal(services.secrets.slack_signing_secret)
        self._app_token = _reveal(services.secrets.slack_app_token)
        self.client = AsyncWebClient(token=token, base_url=services.settings.slack.api_base)
        # Busy threads hit chat.update limits; wait as Slack asks instead of dropping the post.
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.app = AsyncApp(
            name="beatbot",
            client=self.client,
            # Without a secret HTTP isn't mounted; Socket Mode needs none (bolt skips the check).
            signing_secret=self._signing_secret or "",
        )
        self.assistant = Assistant(services)
        self.consumer = EventConsumer(
            services.redis,
            self.prefix,
            group=GROUP,
            consumer_name=consumer_name or f"slack-{socket.gethostname()}",
            platform="slack",
        )
        self.throttle = EditThrottle(services.settings.slack.update_interval)
        self._tasks: set[asyncio.Task[None]] = set()
        self._register()

    # --- wiring ----------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command("/beat")(self._on_command)
        self.app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)

    def add_routes(self, app: web.Application) -> None:
        """Mount POST /slack/events (events, slash command and buttons share one URL)."""
        if not self._signing_secret:
            log.warning("SLACK_SIGNING_SECRET is not set, so %s is not served", EVENTS_PATH)
            return
        app.router.add_post(EVENTS_PATH, self._http)

    async def _http(self, request: web.Request) -> web.Response:
        # bolt parses the timestamp with int() and trips over garbage: refuse it here, as
        # Slack itself never sends anything but a small whole number.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return web.Response(status=401, text="invalid request")
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver job events to Slack (and hold the Socket Mode connection) until `stop`."""
        await self.consumer.ensure_group()
        handler = await self._connect_socket_mode()
        try:
            await self.consumer.run(self.handle_event, stop=stop)
        finally:
            if handler is not None:
                await handler.close_async()
            await self.drain()

    async def _connect_socket_mode(self) -> AsyncSocketModeHandler | None:
        if not self._app_token:
            return None
        # The handler's client is our AsyncWebClient, so apps.connections.open uses api_base.
        handler = AsyncSocketModeHandler(self.app, self._app_token, web_client=self.client)
        try:
            await handler.connect_async()
        except SlackApiError as exc:
            log.error("Slack Socket Mode could not connect: %s", _api_error(exc))
            await handler.close_async()
            return None
        log.info("Slack Socket Mode connected")
        return handler

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for requests still being answered (tests use it; shutdown gives them time)."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    def _spawn(self, work: Awaitable[None]) -> None:
        """Answer after the ack: Slack wants its 200 within 3 s, a reply may take longer."""
        task = asyncio.ensure_future(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Awaitable[None]) -> None:
        try:
            await work
        except SlackApiError as exc:
            log.error("Slack refused a call while answering: %s", _api_error(exc))
        except Exception:
            log.exception("could not answer a Slack request")

    # --- Slack listeners (bolt acks events itself; commands and buttons ack first) ---------

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        self._spawn(self._incoming(body, event, mentioned=True))

    async def _on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]
    ) -> None:
        self._spawn(self._incoming(body, event, bot_user=context.get("bot_user_id")))

    async def _on_command(
        self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        self._spawn(self._slash(command, respond))

    async def _on_action(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        self._spawn(self._button(body, action))

    # --- turning Slack input into Messages -----------------------------------------------

    async def _incoming(
        self,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        *,
        mentioned: bool = False,
        bot_user: str | None = None,
    ) -> None:
        # A retry (x-slack-retry-num) repeats the event_id: it must never start a second job.
        event_id = body.get("event_id")
        if event_id and not await self.consumer.once(f"event:{event_id}"):
            return
        if event.get("subtype") not in PERSON_SUBTYPES or event.get("bot_id"):
            return
        if not mentioned and not await self._for_us(event, bot_user):
            return
        channel, ts = str(event["channel"]), str(event["ts"])
        # A mention arrives twice (app_mention and message.channels): answer it once.
        if not await self.consumer.once(f"message:{channel}:{ts}"):
            return
        origin = Origin(
            platform="slack",
            channel=channel,
            thread=_reply_thread(event),
            user=str(event.get("user") or ""),
        )
        await self._converse(origin, str(event.get("text") or ""), files=event.get("files") or ())

    async def _for_us(self, event: Mapping[str, Any], bot_user: str | None) -> bool:
        """A DM, or a follow-up in a thread BeatBot answers in (not chatter between people)."""
        text = str(event.get("text") or "")
        is_dm = event.get("channel_type") == "im"
        if is_dm:
            return True
        if bot_user and f"<@{bot_user}>" in text:
            return False  # app_mention brings this one
        thread = event.get("thread_ts")
        if not thread or not await self._is_our_thread(str(event["channel"]), str(thread)):
            return False
        return bool(event.get("files")) or parse(text).kind != "unknown"

    async def _slash(self, command: Mapping[str, Any], respond: Any) -> None:
        text = str(command.get("text") or "").strip() or "help"
        channel, user = str(command["channel_id"]), str(command["user_id"])
        try:
            root = await self._post(channel, "", f"<@{user}> asked: {neutralise_mentions(text)}")
        except SlackApiError as exc:
            if _api_error(exc) not in ("not_in_channel", "channel_not_found"):
                raise
            await respond(text=NOT_IN_CHANNEL, response_type="ephemeral")
            return
        await self._converse(
            Origin(platform="slack", channel=channel, thread=root, user=user), text
        )

    async def _button(self, body: Mapping[str, Any], action: Mapping[str, Any]) -> None:
        generation_id = str(action.get("value") or "")
        command = command_for(str(action.get("action_id")), generation_id)
        if command is None:
            return
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id"))
        ts = str(message.get("ts") or container.get("message_ts") or "")
        thread = message.get("thread_ts") or container.get("thread_ts")
        origin = Origin(
            platform="slack",
            channel=channel,
            thread=str(thread or ("" if channel.startswith("D") else ts)),
            user=str((body.get("user") or {}).get("id") or ""),
        )
        await self._converse(origin, command, generation_id=generation_id)

    async def _converse(
        self,
        origin: Origin,
        text: str,
        *,
        files: Iterable[Mapping[str, Any]] = (),
        generation_id: str | None = None,
    ) -> None:
        """Post the status message, then let the assistant answer into it."""
        status_ts = await self._post(origin.channel, origin.thread, THINKING)
        origin = origin.model_copy(update={"message_id": status_ts})
        try:
            await self._remember_thread(origin)
            attachments = await self._attachments(list(files))
            message = Message(text, origin, attachments, generation_id)
            first = True
            async for reply in self.assistant.handle(message):
                await self._show(origin, reply, first=first)
                first = False
        except UserError as exc:
            await self._show(origin, ErrorReply(exc.message), first=True)
        except Exception:
            # Never leave "Listening…" behind: the person gets the apology, the log the details.
            log.exception("could not answer a Slack message")
            await self._show(origin, ErrorReply(APOLOGY), first=True)

    # --- files shared with us --------------------------------------------------------------

    async def _attachments(self, files: list[Mapping[str, Any]]) -> tuple[Attachment, ...]:
        saved = []
        for file in files[:MAX_FILES]:
            info = file
            if not (file.get("url_private_download") or file.get("url_private")):
                info = await self._file_info(str(file.get("id")))
            if _is_audio(info):
                upload = await self._download(info)
                saved.append(Attachment(upload.file_id, upload.original_name))
        if files and not saved:
            raise BadAudio(NOT_AUDIO)
        return tuple(saved)

    async def _file_info(self, file_id: str) -> Mapping[str, Any]:
        """Events may carry only a file id ("check_file_info"): ask files.info for the rest."""
        try:
            response = await self.client.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("files.info failed for %s: %s", file_id, _api_error(exc))
            raise UserError("I can't see that file. Share it again in this thread?") from None
        return response["file"]

    async def _download(self, info: Mapping[str, Any]) -> Upload:
        try:
            return await self._fetch(info)
        except (aiohttp.ClientError, TimeoutError):
            log.warning("Slack file download failed", exc_info=True)
            raise UserError(
                f"I couldn't download {info.get('name') or 'that file'} from Slack. "
                "Try sharing it again in a minute?"
            ) from None

    async def _fetch(self, info: Mapping[str, Any]) -> Upload:
        name = str(info.get("name") or "upload")
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not self._trusted_url(url):
            log.warning("not sending the bot token to %s", urlparse(url).hostname)
            raise UserError(f"I couldn't fetch {name} from Slack. Try uploading it again?")
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=300, sock_connect=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, headers=headers) as response,
        ):
            if response.status != 200 or response.content_type == "text/html":
                # Slack answers a missing files:read scope with its login page.
                log.warning("Slack file download answered HTTP %s", response.status)
                raise UserError(
                    f"I couldn't download {name} from Slack (the app may lack the files:read "
                    "scope). Try again, or ask the workspace admin to reinstall BeatBot."
                )
            size = info.get("size")
            return await self.services.store.save_upload(
                response.content.iter_chunked(DOWNLOAD_CHUNK),
                name,
                size_hint=int(size) if isinstance(size, int) else None,
            )

    def _trusted_url(self, url: str) -> bool:
        """The bot token goes only to Slack (or to the configured API host, e.g. a test fake)."""
        parsed = urlparse(url)
        host = parsed.hostname or ""
        api_host = urlparse(self.services.settings.slack.api_base).hostname
        if host == api_host:
            return True
        return parsed.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))

    # --- showing Replies -------------------------------------------------------------------

    async def _show(self, origin: Origin, reply: Reply, *, first: bool) -> None:
        """The first reply takes over the status message; later ones are new posts."""

        async def say(text: str) -> None:
            if first:
                await self._update(origin, text)
            else:
                await self._post(origin.channel, origin.thread, text)

        if isinstance(reply, TextReply):
            await say(neutralise_mentions(reply.text))
        elif isinstance(reply, ErrorReply):
            await say(f"⚠️ {neutralise_mentions(reply.text)}")
        elif isinstance(reply, JobAccepted):
            header = neutralise_mentions(reply.text)
            ttl = self.services.settings.limits.conversation_ttl
            await self.services.redis.set(
                keys.chat_status("slack", self.prefix, reply.job_id), header, ex=ttl
            )
            await say(f"{header}\n{progress_line(0, 'Queued')}")
        elif isinstance(reply, ResultReply):
            await say(f"✅ {neutralise_mentions(reply.text)}")
            await self._upload_files(origin, reply)
            await self._post_card(origin, reply)
        elif isinstance(reply, FailedReply):
            await say(f"❌ {neutralise_mentions(reply.text)}")
        elif isinstance(reply, ProgressReply):
            await say(progress_line(reply.percent, reply.stage))

    async def _upload_files(self, origin: Origin, reply: ResultReply) -> None:
        uploads = []
        for file in files_to_upload(reply.files):
            try:
                data = await asyncio.to_thread(file.path.read_bytes)
            except FileNotFoundError:
                continue  # pruned since; the card still says what it was
            uploads.append({"file": data, "filename": file.path.name, "title": file.title})
        if uploads:
            # Without a card (stems, MIDI) the summary rides along with the files.
            comment = None if has_card(reply) else neutralise_mentions(reply.text)
            await self.client.files_upload_v2(
                file_uploads=uploads,
                channel=origin.channel,
                thread_ts=origin.thread or None,
                initial_comment=comment,
            )

    async def _post_card(self, origin: Origin, reply: ResultReply) -> None:
        if not has_card(reply) and files_to_upload(reply.files):
            return
        await self.client.chat_postMessage(
            channel=origin.channel,
            thread_ts=origin.thread or None,
            text=neutralise_mentions(reply.text),
            blocks=result_blocks(reply),
        )

    async def _post(self, channel: str, thread: str, text: str) -> str:
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread or None, text=text
        )
        return str(response["ts"])

    async def _update(self, origin: Origin, text: str) -> None:
        await self.client.chat_update(channel=origin.channel, ts=origin.message_id, text=text)

    async def _remember_thread(self, origin: Origin) -> None:
        if origin.thread:
            ttl = self.services.settings.limits.conversation_ttl
            await self.services.redis.set(
                keys.chat_thread("slack", self.prefix, origin.channel, origin.thread), "1", ex=ttl
            )

    async def _is_our_thread(self, channel: str, thread: str) -> bool:
        return bool(
            await self.services.redis.exists(
                keys.chat_thread("slack", self.prefix, channel, thread)
            )
        )

    # --- job events from the stream --------------------------------------------------------

    async def handle_event(self, event: Event) -> None:
        """One job event: edit the status message, or post the result exactly once."""
        origin = Origin.model_validate(event.origin)
        reply = replies_for_event(event.name, event.data, self.services.store)
        if reply is None or not origin.channel:
            return
        if isinstance(reply, ProgressReply):
            await self._progress(origin, reply)
        elif isinstance(reply, ResultReply):
            await self._finish(origin, reply, f"✅ {progress_line(100, 'Done')}")
            await self._once(f"{reply.job_id}:files", self._upload_files(origin, reply))
            await self._once(f"{reply.job_id}:card", self._post_card(origin, reply))
        elif isinstance(reply, FailedReply):
            text = f"❌ {neutralise_mentions(reply.text)}"
            await self._finish(origin, reply, text)
            post = self._post(origin.channel, origin.thread, text)
            await self._once(f"{reply.job_id}:failed", post)

    async def _progress(self, origin: Origin, reply: ProgressReply) -> None:
        if not origin.message_id or not self.throttle.due(reply.job_id):
            return
        # Replayed after a restart, an old progress event must not overwrite "Done".
        record = await self.services.jobs.get(reply.job_id)
        if record is not None and record.finished:
            return
        header = await self._status_header(reply.job_id)
        try:
            await self._update(origin, f"{header}\n{progress_line(reply.percent, reply.stage)}")
        except SlackApiError as exc:  # a missed progress edit isn't worth a retry
            log.warning("progress edit failed: %s", _api_error(exc))

    async def _finish(self, origin: Origin, reply: ResultReply | FailedReply, line: str) -> None:
        self.throttle.done(reply.job_id)
        if origin.message_id:
            header = await self._status_header(reply.job_id)
            await self._once(f"{reply.job_id}:status", self._update(origin, f"{header}\n{line}"))

    async def _status_header(self, job_id: str) -> str:
        raw = await self.services.redis.get(keys.chat_status("slack", self.prefix, job_id))
        return raw.decode() if isinstance(raw, bytes) else (raw or "Working on it…")

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


def _reply_thread(event: Mapping[str, Any]) -> str:
    """Channels: answer in the message's thread. DMs: top level is one conversation."""
    if event.get("thread_ts"):
        return str(event["thread_ts"])
    return "" if event.get("channel_type") == "im" else str(event["ts"])


def _api_error(exc: SlackApiError) -> str:
    """The error code only: a Slack response never goes to the log whole."""
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:
        return "unknown"


def _close(work: Awaitable[Any]) -> None:
    close = getattr(work, "close", None)
    if close is not None:
        close()  # an un-awaited coroutine would warn
