"""A small fake Discord for tests: the REST routes BeatBot uses plus a gateway WebSocket.

The real discord.py client talks to it on 127.0.0.1. One guild with one text channel, one
bot user and one human. Every REST call is recorded (method, path, JSON body, uploaded
files); tests push gateway events (`say`, `slash`, `click`) and assert on `calls`.
`rate_limit(method, pattern, times)` answers the next matching calls with 429.

Like Discord it refuses a token it doesn't know (401 on login), closes the gateway with 4014
when the bot asks for the Message Content intent and `message_content_enabled` is False, and
keeps an interaction's deferred answer private when the defer was: its first follow-up
replaces the "thinking…" message and inherits its ephemeral flag.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

GUILD_ID = 900_000_000_000_000_001
CHANNEL_ID = 900_000_000_000_000_002
BOT_ID = 900_000_000_000_000_003
APP_ID = BOT_ID
USER_ID = 900_000_000_000_000_004
DM_ID = 900_000_000_000_000_005  # the human's direct messages with the bot
TOKEN = "fake-token"
EPHEMERAL = 64
MESSAGE_CONTENT_INTENT = 1 << 15

BOT_USER = {
    "id": str(BOT_ID),
    "username": "BeatBot",
    "discriminator": "0",
    "avatar": None,
    "global_name": "BeatBot",
    "bot": True,
}
HUMAN = {
    "id": str(USER_ID),
    "username": "ada",
    "discriminator": "0",
    "avatar": None,
    "global_name": "Ada",
}


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200
    at: float = field(default_factory=time.monotonic)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with a bare content type: discord.py compares it exactly to 'application/json'."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FakeDiscord:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.channels: dict[str, dict[str, Any]] = {
            str(CHANNEL_ID): {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "beats",
                "position": 0,
                "permission_overwrites": [],
            },
            str(DM_ID): {"id": str(DM_ID), "type": 1, "recipients": [HUMAN]},
        }
        self.messages: dict[str, dict[str, Any]] = {}
        self.downloads: dict[str, bytes] = {}  # attachment files the bot may fetch
        self.threads_allowed = True
        self.token = TOKEN  # the bot token it accepts
        self.message_content_enabled = True  # the privileged intent, as in the portal
        self.identifies = 0
        self._token_channels: dict[str, str] = {}  # interaction token -> its channel
        self.originals: dict[str, dict[str, Any]] = {}  # interaction token -> its answer
        self._thinking: set[str] = set()  # tokens whose deferred answer is still loading
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._seq = itertools.count(1)
        self._limits: list[list[Any]] = []  # [method, regex, times left]
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 2**20)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/files/{name}", self._download)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/gateway"

    def new_id(self) -> str:
        return str(next(self._ids))

    def rate_limit(self, method: str, pattern: str, times: int = 1, retry_after: float = 0.3):
        self._limits.append([method, re.compile(pattern), times, retry_after])

    async def wait_ready(self, identifies: int = 1, timeout: float = 15) -> None:
        """Until the bot has identified `identifies` times (and got its guild)."""
        async with asyncio.timeout(timeout):
            while self.identifies < identifies:
                await asyncio.sleep(0.02)

    # --- what tests push ------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in list(self._sockets):
            await ws.send_str(frame)

    async def say(
        self,
        content: str,
        *,
        channel_id: int | str = CHANNEL_ID,
        mention: bool = True,
        attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """A human posts a message (with `<@bot>` in front when `mention`)."""
        files = []
        for name, data, content_type in attachments:
            self.downloads[name] = data
            files.append(
                {
                    "id": self.new_id(),
                    "filename": name,
                    "size": len(data),
                    "url": f"{self.url}/files/{name}",
                    "proxy_url": f"{self.url}/files/{name}",
                    "content_type": content_type,
                }
            )
        text = f"<@{BOT_ID}> {content}" if mention else content
        message = self._message(str(channel_id), text, HUMAN, attachments=files)
        message["mentions"] = [BOT_USER] if mention else []
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def slash(self, name: str, options: dict[str, Any] | None = None, **kw: Any) -> str:
        """A human runs `/name`; returns the interaction token."""
        types = {str: 3, int: 4, bool: 5, float: 10}
        opts = [{"name": k, "type": types[type(v)], "value": v} for k, v in (options or {}).items()]
        data = {"id": self.new_id(), "name": name, "type": 1, "options": opts}
        return await self._interaction(2, data, **kw)

    async def click(self, custom_id: str, message_id: str, channel_id: str) -> str:
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interaction(3, data, channel_id=channel_id, message_id=message_id)

    async def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        channel_id: int | str = CHANNEL_ID,
        message_id: str | None = None,
        resolved: dict[str, Any] | None = None,
    ) -> str:
        token = f"tok{self.new_id()}"
        self._token_channels[token] = str(channel_id)
        if resolved:
            data["resolved"] = resolved
        payload = {
            "id": self.new_id(),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "channel": self.channels[str(channel_id)],
            "token": token,
            "version": 1,
            "member": {
                "user": HUMAN,
                "roles": [],
                "joined_at": _now(),
                "permissions": "8",
                "flags": 0,
                "deaf": False,
                "mute": False,
            },
            "app_permissions": "8",
            "locale": "en-US",
            "guild_locale": "en-US",
            "attachment_size_limit": 10 * 2**20,
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
        }
        if message_id is not None:
            payload["message"] = self.messages[message_id]
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    # --- recorded views -------------------------------------------------------------------

    def of(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(pattern, c.path)]

    def thread_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == channel_id]

    # --- HTTP -----------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        call = Call(request.method, request.path.removeprefix("/api/v10"))
        await self._read_body(request, call)
        self.calls.append(call)
        # Interaction callbacks and follow-ups are authorised by their token, not the bot's.
        if (
            not call.path.startswith(("/webhooks/", "/interactions/"))
            and request.headers.get("Authorization") != f"Bot {self.token}"
        ):
            call.status = 401
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for limit in self._limits:
            method, pattern, left, retry_after = limit
            if left > 0 and method == call.method and pattern.search(call.path):
                limit[2] -= 1
                call.status = 429
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                }
                # discord.py treats a 429 without Via as a Cloudflare ban and gives up
                headers = {
                    "Via": "1.1 google",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(retry_after),
                }
                return _json(body, status=429, headers=headers)
        request["call"] = call
        return await handler(request)

    async def _read_body(self, request: web.Request, call: Call) -> None:
        if request.content_type == "application/json":
            call.json = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    call.json = json.loads(await part.text())
                else:
                    call.files.append((part.filename or "", await part.read()))

    async def _download(self, request: web.Request) -> web.Response:
        return web.Response(body=self.downloads[request.match_info["name"]])

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        call: Call = request["call"]
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, call.path)
            if match and method == call.method:
                return await handler(call, *match.groups())
        call.status = 404
        return _json({"message": "Unknown route", "code": 0}, status=404)

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._app_info),
            ("GET", r"/gateway(?:/bot)?", self._gateway_info),
            ("GET", r"/channels/(\d+)", self._channel),
            ("POST", r"/channels/(\d+)/messages", self._create_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._create_thread),
            ("POST", r"/interactions/(\d+)/([\w-]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([\w-]+)", self._followup),
            ("PATCH", r"/webhooks/(\d+)/([\w-]+)/messages/(@original|\d+)", self._edit_webhook),
            ("DELETE", r"/webhooks/(\d+)/([\w-]+)/messages/(@original|\d+)", self._delete_webhook),
            ("PUT", r"/applications/(\d+)/commands", self._commands),
            ("GET", r"/applications/(\d+)/commands", self._commands),
        ]

    async def _me(self, call: Call) -> web.Response:
        return _json(BOT_USER)

    async def _app_info(self, call: Call) -> web.Response:
        return _json(
            {
                "id": str(APP_ID),
                "name": "BeatBot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": HUMAN,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
            }
        )

    async def _gateway_info(self, call: Call) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _channel(self, call: Call, channel_id: str) -> web.Response:
        if channel_id not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        return _json(self.channels[channel_id])

    def _message(
        self, channel_id: str, content: str, author: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        message = {
            "id": self.new_id(),
            "channel_id": channel_id,
            "guild_id": str(GUILD_ID),
            "author": author,
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
        }
        if self.channels.get(channel_id, {}).get("type") == 1:
            del message["guild_id"]  # a DM belongs to no guild
        elif author is HUMAN:
            message["member"] = {
                "roles": [],
                "joined_at": _now(),
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        message.update(extra)
        self.messages[message["id"]] = message
        return message

    def _apply(self, message: dict[str, Any], call: Call) -> dict[str, Any]:
        body = call.json or {}
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else message[key]
        if call.files or "attachments" in body:
            message["attachments"] = [
                {
                    "id": self.new_id(),
                    "filename": name,
                    "size": len(data),
                    "url": f"{self.url}/files/{name}",
                    "proxy_url": f"{self.url}/files/{name}",
                }
                for name, data in call.files
            ]
        return message

    async def _create_message(self, call: Call, channel_id: str) -> web.Response:
        message = self._message(channel_id, "", BOT_USER)
        return _json(self._apply(message, call))

    async def _edit_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        message = self.messages.get(message_id)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        message["edited_timestamp"] = _now()
        return _json(self._apply(message, call))

    async def _create_thread(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        if not self.threads_allowed:
            call.status = 403
            return _json({"message": "Missing Permissions", "code": 50013}, 403)
        thread = {
            "id": self.new_id(),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": channel_id,
            "name": (call.json or {}).get("name", ""),
            "owner_id": str(BOT_ID),
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _now(),
                "locked": False,
            },
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
        }
        self.channels[thread["id"]] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _callback(self, call: Call, interaction_id: str, token: str) -> web.Response:
        body = call.json or {}
        if body.get("type") in (4, 5):  # an answer (or its "thinking…" placeholder) appears
            flags = (body.get("data") or {}).get("flags") or 0
            channel = self._token_channels.get(token, str(CHANNEL_ID))
            original = self._message(channel, "", BOT_USER, flags=flags, webhook_id=str(APP_ID))
            original.update((body.get("data") or {}) if body["type"] == 4 else {})
            self.originals[token] = original
            if body["type"] == 5:
                self._thinking.add(token)
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": False,
                },
                "resource": None,
            }
        )

    async def _followup(self, call: Call, app_id: str, token: str) -> web.Response:
        if token in self._thinking:  # the first follow-up resolves the deferred answer
            self._thinking.discard(token)
            return _json(self._apply(self.originals[token], call))
        channel = self._token_channels.get(token, str(CHANNEL_ID))
        flags = (call.json or {}).get("flags") or 0
        message = self._message(channel, "", BOT_USER, webhook_id=app_id, flags=flags)
        return _json(self._apply(message, call))

    async def _edit_webhook(self, call: Call, app_id: str, token: str, mid: str) -> web.Response:
        if mid == "@original" and token in self.originals:
            self._thinking.discard(token)
            return _json(self._apply(self.originals[token], call))
        message = self.messages.get(mid) or self._message(str(CHANNEL_ID), "", BOT_USER)
        return _json(self._apply(message, call))

    async def _delete_webhook(self, call: Call, app_id: str, token: str, mid: str) -> web.Response:
        message = self.originals.pop(token, None) if mid == "@original" else None
        message = message or self.messages.get(mid)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        self._thinking.discard(token)
        self.messages.pop(message["id"], None)
        message["deleted"] = True
        return web.Response(status=204)

    def private(self, message: dict[str, Any]) -> bool:
        return bool((message.get("flags") or 0) & EPHEMERAL)

    async def _commands(self, call: Call, app_id: str) -> web.Response:
        commands = [
            {
                **c,
                "id": self.new_id(),
                "application_id": app_id,
                "version": "1",
                "default_member_permissions": None,
                "type": c.get("type", 1),
            }
            for c in (call.json or [])
        ]
        return _json(commands)

    # --- gateway --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            op = message["op"]
            if op == 1:
                await ws.send_json({"op": 11})
            elif op == 2:
                intents = int(message["d"].get("intents") or 0)
                if intents & MESSAGE_CONTENT_INTENT and not self.message_content_enabled:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                self._sockets.add(ws)
                await self._ready(ws)
                self.identifies += 1
            elif op == 6:
                self._sockets.add(ws)
                await ws.send_json({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}})
        self._sockets.discard(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": f"session{self.identifies}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
        }
        await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": ready})
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": "8",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
        }
        guild = {
            "id": str(GUILD_ID),
            "name": "Studio",
            "owner_id": str(USER_ID),
            "icon": None,
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "premium_tier": 0,
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "members": [{"user": BOT_USER, "roles": [], "joined_at": _now(), "flags": 0}],
            "channels": [c for c in self.channels.values() if c["type"] == 0],
            "threads": [c for c in self.channels.values() if c["type"] == 11],
            "voice_states": [],
            "presences": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "joined_at": _now(),
        }
        await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": guild})
