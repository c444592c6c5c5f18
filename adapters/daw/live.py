"""/ws: job and DAW events pushed to connected DAWs as `{"event", "data", "id"}` frames.

One task tails the Redis Stream and fans each event out to the clients it belongs to (the
job's user). Every client has a bounded queue: a client that stops reading is dropped with
close code 1013 instead of stalling everyone else, and can come back with `?since=<id>` to
replay exactly what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from adapters.daw.http import HTTPProblem, user_of
from adapters.daw.schemas import actions_json, public_files
from bot.assistant import actions_for
from bot.errors import InvalidRequest
from bot.events import EventBus, check_stream_id
from bot.links import with_links
from bot.store import ClipStore

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


def frame(entry_id: str, name: str, data: dict[str, Any]) -> Frame:
    """The WebSocket frame: no origin (chat ids) or server paths; a finished beat carries
    the same buttons a chat shows."""
    public = {k: v for k, v in data.items() if k != "origin"}
    result = public.get("result")
    if isinstance(result, dict) and "files" in result:
        public["result"] = {**result, "files": public_files(result["files"])}
    if name == "generation:completed" and isinstance(result, dict) and result.get("kind") == "beat":
        public["actions"] = actions_json(actions_for(str(data.get("generationId", ""))))
    return {"event": name, "data": public, "id": entry_id}


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

    def __init__(self, events: EventBus, store: ClipStore, block_ms: int = 1000) -> None:
        self.events = events
        self.store = store  # signs the links in each frame, for this server's address
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
                data = with_links(data, self.store)
                for observe in self.observers:
                    try:
                        await observe(name, data)
                    except Exception:  # a meter must not stop the live feed
                        log.warning("event observer failed on %s", name, exc_info=True)
                for client in list(self.clients):
                    if belongs_to(data, client.user):
                        client.offer(frame(entry_id, name, data))


HUB = web.AppKey("event_hub", EventHub)
routes = web.RouteTableDef()


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    user = user_of(request)
    since = request.query.get("since")
    if since is not None:
        try:
            since = check_stream_id(since)
        except InvalidRequest as exc:
            raise HTTPProblem(400, f"since: {exc.message}") from None
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=64 * 1024)
    await ws.prepare(request)
    client = Client(user)
    hub.clients.add(client)  # join first, so nothing published during the replay is lost
    try:
        last = await _replay(ws, hub, client, since) if since else None
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


async def _replay(
    ws: web.WebSocketResponse, hub: EventHub, client: Client, since: str
) -> tuple[int, int]:
    """Send what came after `since`, up to where the live feed takes over."""
    last = stream_order(since)
    horizon = stream_order(hub.position)
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
                await ws.send_json(frame(entry_id, name, with_links(data, hub.store)))
            last = stream_order(entry_id)


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
