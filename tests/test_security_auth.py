"""Who gets in: the API token on /api and /ws, Slack's signature window, and no secret in logs."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from adapters.daw_server import create_app
from adapters.slack.app import SlackAdapter
from bot.config import Secrets
from bot.services import Services
from tests.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_payload,
    mention,
    post_signed,
)

TOKEN = "sEcReT-api-token-0123456789abcdef"
WRONG_HEADERS: list[dict[str, str]] = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": TOKEN},  # no scheme
    {"Authorization": f"Basic {base64.b64encode(TOKEN.encode()).decode()}"},
    {"Authorization": f"Token {TOKEN}"},
    {"Authorization": f"Bearer{TOKEN}"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},  # a prefix
    {"Authorization": f"Bearer {TOKEN}x"},  # the token plus one
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": f"Bearer {TOKEN[:8]}"},
    {"Authorization": f"Bearer {TOKEN} {TOKEN}"},
    {"Authorization": "Bearer " + "A" * 8000},
    {"Authorization": "Bearer wrong", "X-Token": TOKEN},
    {"X-Api-Key": TOKEN},
    {"Cookie": f"token={TOKEN}"},
    {"X-Authorization": f"Bearer {TOKEN}"},
    {"Proxy-Authorization": f"Bearer {TOKEN}"},
]
WRONG_QUERIES = ["", "?token=", f"?token={TOKEN[:-1]}", f"?access_token={TOKEN}", f"?Token={TOKEN}"]


async def test_security_api_and_ws_refuse_every_wrong_token(
    services: Services, aiohttp_client: Callable[..., Any]
) -> None:
    api: TestClient = await aiohttp_client(create_app(services, TOKEN))
    for headers in WRONG_HEADERS:
        for query in WRONG_QUERIES[:2]:
            for method, path in (("GET", "/api/generate/queue/stats"), ("POST", "/api/chat")):
                response = await api.request(
                    method, path + query, headers=headers, json={"text": "help", "token": TOKEN}
                )
                payload = await response.json()
                assert response.status == 401, (headers, query, path, payload)
                assert payload["success"] is False and "API token" in payload["error"]
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await api.ws_connect("/ws" + query, headers=headers)
            assert refused.value.status == 401, headers
    for query in WRONG_QUERIES:
        assert (await api.get("/api/history" + query)).status == 401, query
    # The right token in the places that are documented works.
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert (await api.get("/api/generate/queue/stats", headers=good)).status == 200
    assert (await api.get(f"/api/generate/queue/stats?token={TOKEN}")).status == 200
    ws = await api.ws_connect(f"/ws?token={TOKEN}")
    await ws.close()


async def _raw(server: TestServer, lines: list[bytes]) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(b"\r\n".join(lines) + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_security_tokens_with_odd_bytes_are_401_not_500(
    services: Services, aiohttp_server: Callable[..., Any]
) -> None:
    server = await aiohttp_server(create_app(services, TOKEN))
    token = TOKEN.encode()
    cases = [
        [b"GET /api/generate/queue/stats HTTP/1.1", b"Authorization: Bearer \xff\xfe"],
        [b"GET /api/generate/queue/stats HTTP/1.1", b"Authorization: Bearer " + token + b"\xff"],
        [b"GET /api/generate/queue/stats HTTP/1.1", b"Authorization: Bearer \xc3\xa9t\xc3\xa9"],
        [b"GET /api/generate/queue/stats?token=%FF%FE HTTP/1.1"],
        [b"GET /api/generate/queue/stats?token=" + token + b"%00 HTTP/1.1"],
        [b"GET /api/generate/queue/stats?token=%C3%A9 HTTP/1.1"],
        [b"GET /ws?token=%FF HTTP/1.1", b"Upgrade: websocket", b"Connection: Upgrade"],
        [b"GET /ws HTTP/1.1", b"Authorization: Bearer \xff", b"Upgrade: websocket"],
    ]
    for lines in cases:
        status, body = await _raw(server, lines)
        assert status == 401, (lines, status, body[:200])


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (6 * 60, 401),  # six minutes old: outside Slack's five-minute replay window
        (-6 * 60, 401),  # six minutes in the future
        (10**10, 401),
        (4 * 60, 200),  # four minutes old: Slack's clock may lag; still inside the window
    ],
)
async def test_security_slack_signature_replay_window(
    services: Services, age: int, expected: int
) -> None:
    async with FakeSlack() as fake:
        slack = services.settings.slack.model_copy(update={"api_base": fake.api_base})
        secrets = Secrets(
            slack_bot_token=SecretStr("xoxb-test"),
            slack_signing_secret=SecretStr("fake-signing-secret"),
        )
        bot_services = dataclasses.replace(
            services,
            settings=services.settings.model_copy(update={"slack": slack}),
            secrets=secrets,
        )
        adapter = SlackAdapter(bot_services, consumer_name="slack-security")
        app = web.Application()
        adapter.add_routes(app)
        async with TestClient(TestServer(app)) as client:
            payload = event_payload(mention("help"))
            status, _ = await post_signed(client, payload, timestamp=int(time.time()) - age)
            assert status == expected
            for garbage in ("-1", "0", "99999999999"):
                response = await client.post(
                    "/slack/events",
                    data=b"{}",
                    headers={
                        "Content-Type": "application/json",
                        "X-Slack-Request-Timestamp": garbage,
                        "X-Slack-Signature": "v0=" + "0" * 64,
                    },
                )
                assert response.status == 401, garbage


async def test_security_no_secret_reaches_the_logs(
    services: Services,
    aiohttp_client: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A flow with every secret set: good and bad API calls, a Slack mention answered through
    the real slack-sdk (DEBUG logs on), an internal error; the logs never show a secret."""
    caplog.set_level(logging.DEBUG)
    bot_token, signing_secret = BOT_TOKEN, SIGNING_SECRET  # what the fake Slack accepts
    signing_key = services.store._key
    async with FakeSlack() as fake:
        slack = services.settings.slack.model_copy(update={"api_base": fake.api_base})
        secrets = Secrets(
            slack_bot_token=SecretStr(bot_token),
            slack_signing_secret=SecretStr(signing_secret),
            slack_app_token=SecretStr(APP_TOKEN),
            discord_token=SecretStr("SeCrEt.discord.token.789"),
            api_token=SecretStr(TOKEN),
        )
        svc = dataclasses.replace(
            services,
            settings=services.settings.model_copy(update={"slack": slack}),
            secrets=secrets,
        )
        api: TestClient = await aiohttp_client(create_app(svc, TOKEN))
        good = {"Authorization": f"Bearer {TOKEN}"}
        await api.post("/api/generate/beat", json={"genre": "trap", "duration": 4}, headers=good)
        await api.post("/api/chat", json={"text": "make a lofi beat"}, headers=good)
        await api.get("/api/generate/queue/stats", headers={"Authorization": f"Bearer {TOKEN}x"})
        await api.get(f"/api/history?token={TOKEN[:-1]}")
        await api.get(f"/files/uploads/x/y.wav?exp=1&sig={TOKEN}")
        adapter = SlackAdapter(svc, consumer_name="slack-logs")
        app = web.Application()
        adapter.add_routes(app)
        await adapter.consumer.ensure_group()
        stop = asyncio.Event()
        runner = asyncio.create_task(adapter.run(stop))
        try:
            async with TestClient(TestServer(app)) as client:
                await post_signed(client, event_payload(mention("help")), secret=signing_secret)
                await post_signed(client, event_payload(mention("hi")), secret="wrong")
                await adapter.drain()
        finally:
            stop.set()
            await asyncio.wait_for(runner, 15)
        assert fake.calls_to("chat.postMessage"), "the Slack flow did not run"
    assert TOKEN not in repr(secrets) and BOT_TOKEN not in str(svc)

    # `beatbot serve` runs without an access log (run_site: access_log=None); the test server
    # has one, and it prints request lines, where the widget's ?token= would show.
    records = [r for r in caplog.records if r.name != "aiohttp.access"]
    texts = []
    for record in records:
        texts.append(record.getMessage())
        texts.append(str(record.args))
        texts.append(record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(repr(record.exc_info[1]))
    logged = "\n".join(texts)
    assert len(records) > 5, "nothing was logged; the check would prove nothing"
    for name, secret in {
        "API token": TOKEN,
        "API token prefix": TOKEN[:-1],
        "Slack bot token": bot_token,
        "Slack signing secret": signing_secret,
        "Slack app token": APP_TOKEN,
        "Discord token": "SeCrEt.discord.token.789",
        "signing key": signing_key.hex(),
        "signing key (raw)": signing_key.decode("latin-1"),
    }.items():
        assert secret not in logged, f"the {name} appears in the logs"


@pytest.mark.parametrize("stamp", ["", "abc", "1e9", pytest.param("9" * 400, id="400-digits")])
async def test_security_slack_non_numeric_timestamp_is_401(services: Services, stamp: str) -> None:
    async with FakeSlack() as fake:
        slack = services.settings.slack.model_copy(update={"api_base": fake.api_base})
        secrets = Secrets(
            slack_bot_token=SecretStr("xoxb-test"),
            slack_signing_secret=SecretStr("fake-signing-secret"),
        )
        bot_services = dataclasses.replace(
            services,
            settings=services.settings.model_copy(update={"slack": slack}),
            secrets=secrets,
        )
        app = web.Application()
        SlackAdapter(bot_services, consumer_name="slack-security").add_routes(app)
        async with TestClient(TestServer(app)) as client:
            response = await client.post(
                "/slack/events",
                data=b"{}",
                headers={
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": "v0=" + "0" * 64,
                },
            )
            assert response.status == 401
