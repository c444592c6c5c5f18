"""/ws: job and DAW events pushed to connected DAWs as `{"event", "data", "id"}` frames.

One task tails the Redis Stream and fans each event out to the clients it belongs to (the
job's user). Every client has a bounded queue: a client that stops reading is dropped with
close code 1013 instead of stalling everyone else, and can come back with `?since=<id>` to
replay exactly what it missed. A `since` the capped stream already trimmed gets a `stream:gap`
frame before the replay; one newer than the newest event gets a `stream:error` frame and close
code 1008 (it would otherwise mute the socket: every event would look already seen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from adapters.daw.http import HTTPProblem, error, user_of
from adapters.daw.wire import STREAM_ERROR, STREAM_GAP, control_frame, event_frame
from bot.connections import as_text
from bot.errors import InvalidRequest
from bot.events import check_stream_id
from bot.services import Services

log = logging.getLogger(__name__)

CLIENT_QUEUE = 256  # frames a client may fall behind before it is dropped
HEARTBEAT_S = 20.0
Frame = dict[str, Any]


def stream_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def belongs_to(data: dict[str, Any], user: str) -> bool:
    """Events go to the user whose job made them; a DAW never sees another user's clips."""
    return (data.get("origin") or {}).get("user") == user


@dataclass(eq=False)
class Client:
    user: str
    queue: asyncio.Queue[Frame | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=CLIENT_QUEUE)
    )
    dropped: bool = False

    def offer(self, item: Frame) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True  # too slow: its writer closes it; it can resume with ?since=


Observer = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventHub:
    """Tails the event stream once for this server: WebSocket clients and observers (the
    metrics) all see what that one read returns."""

    def __init__(self, services: Services, block_ms: int = 1000) -> None:
        self.services = services
        self.events = services.events
        self.block_ms = block_ms
        self.clients: set[Client] = set()
        self.observers: list[Observer] = []
        self.position = "0-0"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.position = await self.events.last_id()
        self._task = asyncio.create_task(self._tail(), name="ws-event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in list(self.clients):
            client.offer(None)

    async def _tail(self) -> None:
        while True:
            try:
                batch = await self.events.read_since(self.position, block_ms=self.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: keep the server up and try again
                log.warning("event stream read failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for entry_id, name, data in batch:
                self.position = entry_id
                for observe in self.observers:
                    try:
                        await observe(name, data)
                    except Exception:  # a meter must not stop the live feed
                        log.warning("event observer failed on %s", name, exc_info=True)
                receivers = [c for c in self.clients if belongs_to(data, c.user)]
                if not receivers:
                    continue
                try:  # built once for every receiver
                    item = await event_frame(self.services, entry_id, name, data)
                except Exception:  # one odd event must not stop the live feed
                    log.warning("could not build the frame of %s %s", name, entry_id, exc_info=True)
                    continue
                for client in receivers:
                    client.offer(item)


HUB = web.AppKey("event_hub", EventHub)
routes = web.RouteTableDef()


@routes.get("/ws")
async def websocket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    user = user_of(request)
    since = _since(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=64 * 1024)
    if not ws.can_prepare(request).ok:
        return error(
            426,
            "This address is a WebSocket: connect with ws:// (see /api/asyncapi.json).",
            Upgrade="websocket",
        )
    await ws.prepare(request)
    client = Client(user)
    hub.clients.add(client)  # join first, so nothing published during the replay is lost
    try:
        last = None
        if since is not None:
            newest = await hub.events.last_id()
            if stream_order(since) > stream_order(newest):
                await _refuse_future(ws, since, newest)
                return ws
            last = await _replay(ws, hub, client, since)
        tasks = {
            asyncio.create_task(_send_live(ws, client, last)),
            asyncio.create_task(_read_until_closed(ws)),
        }
        # Whichever ends first (the client left, or it was dropped) ends the other.
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    except ConnectionResetError:
        pass
    finally:
        hub.clients.discard(client)
        if not ws.closed:
            await ws.close()
    return ws


def _since(request: web.Request) -> str | None:
    """`?since=`: a stream id, "0" for everything kept; "$" (or none) for only what's new."""
    since = request.query.get("since")
    if since is None:
        return None
    try:
        since = check_stream_id(since)
    except InvalidRequest as exc:
        raise HTTPProblem(400, f"since: {exc.message}") from None
    return None if since == "$" else since


async def _refuse_future(ws: web.WebSocketResponse, since: str, newest: str) -> None:
    """A `since` newer than anything on the stream would mute the socket (every event would
    look already seen): say so in a frame, then close with 1008 (policy violation)."""
    await ws.send_json(
        control_frame(
            STREAM_ERROR,
            error=(
                f"since={since} is newer than the newest event ({newest}); it isn't an id this "
                "server sent. Reconnect without since (only new events) or with since=0 "
                "(everything kept)."
            ),
            newestId=newest,
        )
    )
    await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"since is newer than the stream")


async def _replay(
    ws: web.WebSocketResponse, hub: EventHub, client: Client, since: str
) -> tuple[int, int]:
    """Send what came after `since`, up to where the live feed takes over; first a
    `stream:gap` frame when the capped stream already dropped events after `since`."""
    last = stream_order(since)
    horizon = stream_order(hub.position)
    oldest = await _oldest_id(hub)
    if last != (0, 0) and oldest is not None and stream_order(oldest) > last:
        await ws.send_json(
            control_frame(
                STREAM_GAP,
                since=since,
                firstId=oldest,
                message=(
                    f"Events after {since} were trimmed from the stream (it keeps the newest "
                    f"{hub.events.maxlen}); some of yours may be missing. Replaying from "
                    f"{oldest}; GET /api/generate/jobs and /api/history give the current state."
                ),
            )
        )
    cursor = since
    while True:
        batch = await hub.events.read_since(cursor, count=500)
        if not batch:
            return last
        for entry_id, name, data in batch:
            cursor = entry_id
            if stream_order(entry_id) > horizon:
                return last
            if belongs_to(data, client.user):
                await ws.send_json(await event_frame(hub.services, entry_id, name, data))
            last = stream_order(entry_id)


async def _oldest_id(hub: EventHub) -> str | None:
    oldest = await hub.events.redis.xrange(hub.events.stream, count=1)
    return as_text(oldest[0][0]) if oldest else None


async def _send_live(
    ws: web.WebSocketResponse, client: Client, after: tuple[int, int] | None
) -> None:
    while True:
        item = await client.queue.get()
        if client.dropped:
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow; resume with since")
            return
        if item is None:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
            return
        if after is not None and stream_order(item["id"]) <= after:
            continue  # already sent during the replay
        await ws.send_json(item)


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """Clients only listen; reading keeps pings answered and notices the close."""
    async for _message in ws:
        pass
