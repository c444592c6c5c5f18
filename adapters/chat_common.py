"""What every chat adapter (Discord, Slack) does the same way: the status message's text, the
pace of its edits, where its header lives, and whether the links it posts can be opened.

Adapters differ in how they post and edit; how a progress line reads and how often a status
message may change are the same everywhere, so they live here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlparse

from bot import keys
from bot.jobs import Origin
from bot.messages import Reply
from bot.services import Services

log = logging.getLogger(__name__)

BAR_CELLS = 10
WORKING = "🎛️ On it…"


def progress_bar(percent: int) -> str:
    """A text progress bar that renders in any chat client: ▰▰▰▰▱▱▱▱▱▱ 40%."""
    percent = max(0, min(100, int(percent)))
    filled = round(percent * BAR_CELLS / 100)
    return f"{'▰' * filled}{'▱' * (BAR_CELLS - filled)} {percent}%"


def progress_line(percent: int, stage: str) -> str:
    return f"{progress_bar(percent)} · {stage}"


def status_text(header: str | None, percent: int, stage: str) -> str:
    """A job's status message: what it is making, then how far it got (plain text)."""
    line = progress_line(percent, stage)
    return f"{header}\n{line}" if header else line


def neutralise_mentions(text: str) -> str:
    """Echoed user text must never ping anyone: break @everyone/@here and <@id> mentions."""
    return (
        text.replace("@everyone", "@\u200beveryone")
        .replace("@here", "@\u200bhere")
        .replace("<@", "<@\u200b")
        .replace("<!", "<!\u200b")
    )


class ShowsStatus(Protocol):
    async def show_accepted(self, origin: Origin, reply: Reply) -> None: ...


class ChatSurface:
    """One request's answers on a chat platform (`bot.policy.Surface`): subclasses say how to
    answer in place and open a job's place; a typed message has no private way back, so its
    private answers go in place, and a job's status goes through the platform's flow."""

    flow: ShowsStatus

    async def in_place(self, reply: Reply) -> None:
        raise NotImplementedError

    async def privately(self, reply: Reply) -> None:
        await self.in_place(reply)

    async def open_job(self) -> Origin:
        raise NotImplementedError

    async def job_status(self, origin: Origin, reply: Reply) -> None:
        await self.flow.show_accepted(origin, reply)


class EditThrottle:
    """At most one progress edit per `interval` seconds per status message, without losing
    the latest word: an edit that comes too soon is held and sent when the interval is up
    (only the newest held one), so a short job still shows its stages. `finish` drops a held
    edit and waits for one in flight, so progress never lands on top of a result.
    A platform's 429 is handled by its client library's own retry.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, Callable[[], Awaitable[None]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._sending: dict[str, asyncio.Future[None]] = {}

    async def submit(self, key: str, edit: Callable[[], Awaitable[None]]) -> None:
        """Send `edit` now if the message may change now, else hold it for later."""
        now = self.clock()
        last = self._last.get(key)
        if key not in self._timers and (last is None or now - last >= self.interval):
            self._last[key] = now
            try:
                await edit()
            finally:  # the interval runs from when the edit landed, however slow it was
                self._last[key] = self.clock()
            return
        self._held[key] = edit  # a newer stage replaces an older one still waiting
        if key not in self._timers:
            delay = max(0.0, (last or now) + self.interval - now)
            self._timers[key] = asyncio.create_task(self._trailing(key, delay))

    async def _trailing(self, key: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            edit = self._held.pop(key, None)
            if edit is None:
                return
            sending = self._sending[key] = asyncio.ensure_future(edit())
            try:
                await asyncio.shield(sending)  # `finish` waits for it rather than cutting it
            except Exception:  # a missed progress edit isn't worth more than a log line
                log.warning("a held progress edit failed", exc_info=True)
            finally:
                self._sending.pop(key, None)
                self._last[key] = self.clock()
        finally:
            if self._timers.get(key) is asyncio.current_task():
                del self._timers[key]

    async def finish(self, key: str) -> None:
        """The job ended: no more progress edits for this message."""
        self._held.pop(key, None)
        self._last.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        sending = self._sending.pop(key, None)
        if sending is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await sending

    async def close(self) -> None:
        for key in list(self._timers):
            await self.finish(key)


class StatusBoard:
    """What each job's status message says above its progress bar ("On it: a dark trap beat
    …"), in Redis so progress edits keep it after a restart and in any process."""

    def __init__(self, services: Services, platform: str) -> None:
        self.services = services
        self.platform = platform
        self.prefix = services.settings.queue.key_prefix

    async def set_header(self, job_id: str, header: str) -> None:
        ttl = self.services.settings.limits.conversation_ttl
        await self.services.redis.set(
            keys.chat_status(self.platform, self.prefix, job_id), header, ex=ttl
        )

    async def header(self, job_id: str) -> str | None:
        raw = await self.services.redis.get(keys.chat_status(self.platform, self.prefix, job_id))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def finished(self, job_id: str) -> bool:
        """A replayed progress event must not overwrite a finished job's status."""
        record = await self.services.jobs.get(job_id)
        if record is None:  # several takes: the status message is their group's
            return await self.services.queue.takes.finished(job_id)
        return record.finished


def loopback_links_warning(public_url: str, platforms: list[str]) -> str | None:
    """One sentence when the links posted in chat point at this machine only."""
    if not platforms:
        return None
    host = urlparse(public_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return None
    return (
        f"Warning: links posted in {' and '.join(platforms)} point at {public_url}, which only "
        "this machine can open. Set BEATBOT_STORAGE__PUBLIC_URL (storage.public_url) to an "
        "address people there can reach, e.g. https://beatbot.example.com."
    )
