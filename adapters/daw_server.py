"""The DAW server: the seed's REST API, WebSocket events, downloads, metrics and the widget.

`create_app(services, api_token)` builds the aiohttp application (tests use it with aiohttp's
test client); `beatbot serve` runs it with `run_site`. Other adapters that need HTTP (Slack's
/slack/events) add their routes to the same app before it starts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web

from adapters.daw import api, live
from adapters.daw.asyncapi import asyncapi_document
from adapters.daw.http import API_TOKEN, bearer_auth, cors_middleware, errors_as_json
from adapters.daw.metrics import CONTENT_TYPE, METRICS, Metrics
from adapters.daw.openapi import openapi_document
from adapters.daw.wire import iso_utc
from bot import health
from bot.assistant import Assistant
from bot.services import Services

WEB_ROOT = Path(__file__).parent / "web"
MAX_JSON_BODY = 1024 * 1024  # JSON bodies are small; uploads stream past this limit


def create_app(services: Services, api_token: str) -> web.Application:
    app = web.Application(
        middlewares=[
            cors_middleware(services.settings.daw.cors_origins),
            errors_as_json,
            bearer_auth,
        ],
        client_max_size=MAX_JSON_BODY,
    )
    app[API_TOKEN] = api_token
    app[api.SERVICES] = services
    app[api.ASSISTANT] = Assistant(services)
    hub = app[live.HUB] = live.EventHub(services)
    meters = app[METRICS] = Metrics(services.jobs)
    hub.observers.append(meters.observe)
    app.add_routes(api.routes)
    app.add_routes(live.routes)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/api/asyncapi.json", asyncapi)
    app.router.add_get("/", widget)
    app.router.add_static("/static/", WEB_ROOT, show_index=False)
    app.on_startup.append(_start_background)
    app.on_shutdown.append(_stop_background)
    return app


async def _start_background(app: web.Application) -> None:
    await app[live.HUB].start()


async def _stop_background(app: web.Application) -> None:
    await app[live.HUB].stop()


async def healthz(request: web.Request) -> web.Response:
    """Liveness for load balancers: 200 when Redis answers, 503 (JSON) when it doesn't."""
    services = request.app[api.SERVICES]
    try:
        await services.redis.ping()
    except Exception:
        return web.json_response({"ok": False, "redis": "unreachable"}, status=503)
    stats = await services.queue.stats()
    return web.json_response({"ok": True, "redis": "ok", "queue": stats, **await _chat(services)})


async def _chat(services: Services) -> dict[str, dict[str, object]]:
    """Each configured chat adapter: {"ok": false, "state": "failed", "error": "..."} when a
    wrong token or a missing Discord intent stopped it (the rest of BeatBot still serves)."""
    prefix = services.settings.queue.key_prefix
    configured = {
        "discord": services.secrets.discord_token is not None,
        "slack": services.secrets.slack_bot_token is not None,
    }
    found = {}
    for platform, on in configured.items():
        if on:
            seen = await health.read(services.redis, prefix, platform)
            state = (seen or health.AdapterHealth("starting")).to_json()
            found[platform] = {**state, "since": iso_utc(state["since"] or None)}
    return found


async def metrics(request: web.Request) -> web.Response:
    services = request.app[api.SERVICES]
    body = await request.app[METRICS].render(
        await services.queue.stats(), len(request.app[live.HUB].clients)
    )
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[api.SERVICES].settings.engine))


async def asyncapi(request: web.Request) -> web.Response:
    return web.json_response(asyncapi_document(request.host))


async def widget(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_ROOT / "index.html", headers={"Cache-Control": "no-cache"})


def api_token_for(services: Services) -> tuple[str, bool]:
    """BEATBOT_API_TOKEN, or one generated and kept in the data dir (so widget links survive
    a restart); the flag says whether it was generated here."""
    configured = services.secrets.api_token
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value(), False
    path = Path(services.settings.storage.data_dir) / "api.token"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip(), True
    token = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token)
    return token, True


async def run_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller stops it with `await runner.cleanup()`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
