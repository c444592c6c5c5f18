"""The slack-bolt app: listeners, the HTTP route, Socket Mode, and the start-up check.

HTTP mode mounts POST /slack/events on the serve port (bolt verifies signature and timestamp);
Socket Mode connects out with the app token when `SLACK_APP_TOKEN` is set. A token Slack
refuses stops only Slack: `run` records why (for /healthz and `beatbot doctor`) and raises a
`ConfigError` whose sentence says how to fix it; `serve` prints it and keeps the rest running.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import ACTION_PREFIX
from adapters.slack.files import SharedFiles, api_error
from adapters.slack.flow import Flow
from bot import health
from bot.config import Secrets
from bot.errors import ConfigError
from bot.services import Services

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
APPS = "https://api.slack.com/apps"
# What Slack says when a token is wrong, revoked or for a removed app.
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"}


def bad_bot_token(code: str) -> str:
    return (
        f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token (xoxb-...) "
        f"from {APPS} -> your app -> OAuth & Permissions (reinstall the app if it was "
        "removed), set SLACK_BOT_TOKEN and restart."
    )


def bad_app_token(code: str) -> str:
    return (
        f"Slack refused SLACK_APP_TOKEN ({code}): generate an app-level token (xapp-...) with "
        f"connections:write at {APPS} -> your app -> Basic Information -> App-Level Tokens, "
        "set SLACK_APP_TOKEN and restart."
    )


def slack_enabled(secrets: Secrets) -> bool:
    """A bot token plus a way in: a signing secret (HTTP) or an app token (Socket Mode)."""
    return secrets.slack_bot_token is not None and (
        secrets.slack_signing_secret is not None or secrets.slack_app_token is not None
    )


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


class SlackAdapter:
    def __init__(self, services: Services, *, consumer_name: str | None = None) -> None:
        token = _reveal(services.secrets.slack_bot_token)
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set; the Slack adapter can't start.")
        self.services = services
        self.prefix = services.settings.queue.key_prefix
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
        self.flow = Flow(
            services,
            self.client,
            SharedFiles(services, self.client, token),
            consumer_name or f"slack-{socket.gethostname()}",
        )
        self.consumer = self.flow.consumer
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
        await health.report(self.services.redis, self.prefix, "slack", "starting")
        await self._check_token()
        await self.consumer.ensure_group()
        handler = await self._connect_socket_mode()
        await health.report(self.services.redis, self.prefix, "slack", "ready")
        try:
            await self.consumer.run(self.flow.handle_event, stop=stop)
        finally:
            if handler is not None:
                await handler.close_async()
            await self.drain()
            await self.flow.throttle.close()

    async def _check_token(self) -> None:
        """auth.test at start: a wrong bot token is said now, not at the first mention."""
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            code = api_error(exc)
            if code not in AUTH_ERRORS:
                raise
            await self._failed(bad_bot_token(code))

    async def _connect_socket_mode(self) -> AsyncSocketModeHandler | None:
        if not self._app_token:
            return None
        try:  # the handler retries a refused token forever, quietly: ask once, out loud
            await self.client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            code = api_error(exc)
            if code not in AUTH_ERRORS:
                raise
            await self._failed(bad_app_token(code))
        # The handler's client is our AsyncWebClient, so apps.connections.open uses api_base.
        handler = AsyncSocketModeHandler(self.app, self._app_token, web_client=self.client)
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        return handler

    async def _failed(self, sentence: str) -> None:
        await health.report(self.services.redis, self.prefix, "slack", "failed", sentence)
        raise ConfigError(sentence)

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
            log.error("Slack refused a call while answering: %s", api_error(exc))
        except Exception:
            log.exception("could not answer a Slack request")

    # --- Slack listeners (bolt acks events itself; commands and buttons ack first) ---------

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        self._spawn(self.flow.on_event(body, event, mentioned=True))

    async def _on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]
    ) -> None:
        self._spawn(self.flow.on_event(body, event, bot_user=context.get("bot_user_id")))

    async def _on_command(
        self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        self._spawn(self.flow.on_command(command, respond))

    async def _on_action(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Any,
    ) -> None:
        await ack()
        self._spawn(self.flow.on_button(body, action, respond))
