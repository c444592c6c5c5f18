"""BeatBot's Discord adapter: `run_discord(services, stop)`, started by `beatbot serve`
when DISCORD_TOKEN is set.

It runs two things side by side until `stop` is set: the discord.py client (mentions, DMs,
thread follow-ups, slash commands, buttons) and the delivery loop that posts job progress
and results from the event stream (its own consumer group, so what finished while the bot
was down is posted when it returns, once).

A token Discord refuses, or the Message Content intent switched off, stops only Discord:
`run_discord` records why (for /healthz and `beatbot doctor`) and raises a `ConfigError`
whose sentence says how to fix it; `serve` prints it and keeps the rest running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import discord
import yarl
from discord.gateway import DiscordWebSocket

from adapters.discord.client import BeatBotClient
from bot import health
from bot.errors import ConfigError
from bot.services import Services

log = logging.getLogger(__name__)

DRAIN_SECONDS = 15.0
PORTAL = "https://discord.com/developers/applications"
BAD_TOKEN = (
    "Discord refused DISCORD_TOKEN (401 Unauthorized): copy the bot token again from "
    f"{PORTAL} -> your app -> Bot -> Reset Token, set DISCORD_TOKEN and restart."
)
NO_MESSAGE_CONTENT = (
    "Discord closed the connection because the Message Content intent is off (4014): turn on "
    f"{PORTAL} -> your app -> Bot -> Privileged Gateway Intents -> Message Content Intent, "
    "then restart."
)


def point_at(api_base: str, gateway_url: str) -> None:
    """Aim discord.py at the configured REST base and gateway (Discord's, or a test fake).

    Both are class attributes in discord.py, so this is process-wide, like the token.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def consumer_name() -> str:
    """Stable across restarts on one host, so a restart picks up its own pending events."""
    return f"discord-{socket.gethostname()}"


async def run_discord(
    services: Services, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """Run the bot until `stop` is set, then close the client and return.

    `ready` (optional) is set once the gateway session is up, for callers that wait on it.
    """
    token = services.secrets.discord_token
    if token is None:
        raise ConfigError("config error: DISCORD_TOKEN is not set, so Discord can't start")
    settings = services.settings.discord
    prefix = services.settings.queue.key_prefix
    point_at(settings.api_base, settings.gateway_url)
    await health.report(services.redis, prefix, "discord", "starting")
    client = BeatBotClient(services, consumer_name())
    client.event(_ready_setter(client, services, ready))
    halt = asyncio.Event()  # ours, so a crash here doesn't stop the caller's other services
    bot = asyncio.create_task(client.start(token.get_secret_value()), name="discord-client")
    delivery = asyncio.create_task(
        client.flow.consumer.run(client.flow.deliver, stop=halt), name="discord-delivery"
    )
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({bot, delivery, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopping}:
            if task.exception() is not None:  # a bad token or a dead Redis: say why
                await _misconfigured(services, task.exception())  # type: ignore[arg-type]
    finally:
        halt.set()
        # Let delivery finish the event in hand (it checks `stop`), so no claimed result
        # is left half-posted; only then close the client it posts through.
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(delivery), DRAIN_SECONDS)
        await client.flow.throttle.close()  # no held progress edit outlives the client
        await client.close()
        for task in (bot, delivery, stopping):
            task.cancel()
        for task in (bot, delivery, stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _misconfigured(services: Services, error: BaseException) -> None:
    """A wrong token or a missing intent is a sentence with the fix, kept for /healthz and
    doctor; anything else is raised as it is."""
    if isinstance(error, discord.LoginFailure):
        sentence = BAD_TOKEN
    elif isinstance(error, discord.PrivilegedIntentsRequired):
        sentence = NO_MESSAGE_CONTENT
    else:
        raise error
    prefix = services.settings.queue.key_prefix
    await health.report(services.redis, prefix, "discord", "failed", sentence)
    raise ConfigError(sentence) from None


def _ready_setter(
    client: discord.Client, services: Services, ready: asyncio.Event | None
):  # -> coroutine function
    async def on_ready() -> None:
        log.info("Discord ready as %s", client.user)
        prefix = services.settings.queue.key_prefix
        await health.report(services.redis, prefix, "discord", "ready")
        if ready is not None:
            ready.set()

    return on_ready
