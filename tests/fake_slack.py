"""A small fake Slack for tests: the Web API, file upload/download, Socket Mode and the
`response_url` webhooks of slash commands and buttons.

The real slack-sdk / slack-bolt clients talk to it over HTTP on 127.0.0.1 (point
`AsyncWebClient(base_url=fake.api_base)` at it). Every call is recorded in `calls`, so a test
asserts what the bot did per API method, as bolt-python's own mock Web API server does. A
token it doesn't know gets `invalid_auth`, as from Slack; what the bot sends to a
`response_url` (`fake.respond_url`) is kept in `responses`.

Also here: helpers that send correctly (or incorrectly) signed requests to `/slack/events`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
BOT_USER = "UBEATBOT"
TEAM = "T0FAKE"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class FakeFile:
    id: str
    name: str
    data: bytes
    mimetype: str = "application/octet-stream"
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None
    shared: bool = False

    def info(self, base: str) -> dict[str, Any]:
        filetype = self.name.rpartition(".")[2].lower()
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": filetype,
            "size": len(self.data),
            "url_private": f"{base}/files-pri/{self.id}/{self.name}",
            "url_private_download": f"{base}/files-pri/{self.id}/download/{self.name}",
        }


@dataclass
class FakeSlack:
    """Run with `async with FakeSlack() as slack:`; `slack.api_base` is the Web API URL."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FakeFile] = field(default_factory=dict)
    downloads: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    bot_token: str = BOT_TOKEN  # the bot token it accepts
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    base: str = ""
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{tail:.*}", self._download)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/respond/{name}", self._respond)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/"

    @property
    def respond_url(self) -> str:
        """A `response_url` for slash commands and buttons, answered here."""
        return f"{self.base}/respond/{uuid.uuid4().hex[:8]}"

    def ephemeral(self) -> list[dict[str, Any]]:
        return [r for r in self.responses if r.get("response_type") == "ephemeral"]

    # --- what tests look at ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def shared_files(self) -> list[FakeFile]:
        return [f for f in self.files.values() if f.shared]

    def add_file(self, name: str, data: bytes, mimetype: str) -> FakeFile:
        """A file a person shared in Slack, downloadable with the bot token."""
        file = FakeFile(id=f"F{uuid.uuid4().hex[:10].upper()}", name=name, data=data)
        file.mimetype = mimetype
        self.files[file.id] = file
        return file

    async def wait_for(
        self, condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}"
        )

    # --- Web API -------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = _bearer(request) or params.get("token")
        self.calls.append(Call(method, params, token))
        expected = APP_TOKEN if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(await handler(params))

    async def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "beatbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "BBEATBOT",
            "is_enterprise_install": False,
        }

    async def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = f"1700000000.{next(self._ts):06d}"
        message = {
            "ts": ts,
            "text": params.get("text", ""),
            "thread_ts": params.get("thread_ts"),
            "blocks": _json(params.get("blocks")),
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    async def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params.get("channel"), params.get("ts"))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key]["text"] = params.get("text", "")
        return {"ok": True, "channel": key[0], "ts": key[1], "text": params.get("text", "")}

    async def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file = FakeFile(id=f"F{uuid.uuid4().hex[:10].upper()}", name=params["filename"], data=b"")
        self.files[file.id] = file
        return {"ok": True, "upload_url": f"{self.base}/upload/{file.id}", "file_id": file.id}

    async def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in _json(params.get("files")) or []:
            file = self.files.get(item["id"])
            if file is None or not file.data:
                return {"ok": False, "error": "file_not_found"}
            file.title = item.get("title") or file.name
            file.channel = params.get("channel_id")
            file.thread_ts = params.get("thread_ts")
            file.shared = True
            done.append(file.info(self.base))
        return {"ok": True, "files": done}

    async def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self.files.get(params.get("file", ""))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": file.info(self.base)}

    async def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}

    async def _respond(self, request: web.Request) -> web.Response:
        """What Slack does with a `response_url` post: show it (ephemeral: to the asker only)."""
        payload = await request.json()
        payload["url"] = str(request.url)
        self.responses.append(payload)
        return web.Response(text="ok")

    # --- files ---------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="unknown upload")
        file.data = await request.read()
        self.calls.append(Call("upload", {"file_id": file.id, "size": len(file.data)}, None))
        return web.Response(text=f"OK - {len(file.data)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file = self.files.get(request.match_info["file_id"])
        token = _bearer(request)
        self.downloads.append({"file_id": request.match_info["file_id"], "token": token})
        if token != BOT_TOKEN:  # Slack answers a missing token with its login page
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        if file is None:
            return web.Response(status=404)
        return web.Response(body=file.data, content_type=file.mimetype)

    # --- Socket Mode -----------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {}})
        self._connected.set()
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
        self.sockets.remove(ws)
        return ws

    async def send_envelope(self, payload: dict[str, Any], kind: str = "events_api") -> str:
        """Push one Socket Mode envelope to the connected app; returns its envelope_id."""
        await asyncio.wait_for(self._connected.wait(), 10)
        envelope_id = uuid.uuid4().hex
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": payload,
            }
        )
        return envelope_id


async def _params(request: web.Request) -> dict[str, Any]:
    """slack-sdk sends query params, form fields or JSON depending on the method."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        raw = await request.read()
        if request.content_type == "application/json":
            params.update(json.loads(raw or b"{}"))
        else:
            params.update(dict(parse_qsl(raw.decode(), keep_blank_values=True)))
    return params


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- signed requests to /slack/events -------------------------------------------------------


def event_payload(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API `event_callback` envelope around one event."""
    return {
        "token": "legacy-unused",
        "team_id": TEAM,
        "api_app_id": "A0BEATBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


def mention(text: str, channel: str = "C0MUSIC", ts: str = "1699999999.000100", **extra: Any):
    return {
        "type": "app_mention",
        "user": "U0ADA",
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **extra,
    }


def slash_form(
    text: str,
    channel: str = "C0MUSIC",
    user: str = "U0ADA",
    response_url: str = "https://hooks.slack.com/commands/fake",
) -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": TEAM,
            "channel_id": channel,
            "user_id": user,
            "command": "/beat",
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "api_app_id": "A0BEATBOT",
        }
    )


def button_form(
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None,
    response_url: str = "https://hooks.slack.com/actions/fake",
) -> str:
    """A `block_actions` payload as Slack posts it: form field `payload` holding JSON."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": "U0ADA", "team_id": TEAM},
        "api_app_id": "A0BEATBOT",
        "trigger_id": "4.5.6",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "channel": {"id": channel, "name": "music"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "text": "card"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "beatbot-actions",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


async def post_signed(
    client: TestClient,
    body: dict[str, Any] | str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    signed: bool = True,
) -> tuple[int, str]:
    """POST to /slack/events as Slack does: JSON for events, a form for commands/buttons."""
    if isinstance(body, dict):
        text, content_type = json.dumps(body), "application/json"
    else:
        text, content_type = body, "application/x-www-form-urlencoded"
    headers = signed_headers(text, secret=secret, timestamp=timestamp, content_type=content_type)
    if not signed:
        headers = {"Content-Type": content_type}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    response = await client.post("/slack/events", data=text.encode(), headers=headers)
    return response.status, await response.text()
