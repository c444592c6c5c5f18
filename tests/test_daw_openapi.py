"""/api/openapi.json and /api/asyncapi.json describe the server that serves them.

- every route the server has is documented with its methods, and nothing else is;
- request limits and choices come from the validators' own sources (config, genre table);
- `{}` and `{"genre": "house", "duration": 8}` are valid by the document and accepted by the
  server, whose 202 echoes the beat as it will be made;
- schemathesis, from the served document, finds no 5xx, no undocumented status, content type
  or header, no response that breaks its schema and no schema-valid request the server
  refuses (no worker runs: queued jobs just wait, so the run stays quick).
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from redis.asyncio import Redis

from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.events import EVENT_NAMES
from bot.requests import KEY_NAMES, MAX_SEED
from bot.services import Services
from engine.compose import bars_for
from engine.genres import GENRE_NAMES, MOODS
from tests.daw_schemas import fetch_documents

TOKEN = "openapi-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Served but not API: the widget page and its files.
NOT_API = {"/", "/static"}


def documented_route(resource: web.AbstractResource) -> str:
    """aiohttp's route pattern as OpenAPI writes it: {job_id:[0-9a-f]{1,64}} -> {jobId}."""
    path = resource.canonical
    path = re.sub(r"\{job_id(:[^{}]*(\{[^{}]*\}[^{}]*)*)?\}", "{jobId}", path)
    return re.sub(r"\{(\w+):[^{}]*\}", r"{\1}", path)


async def open_custom(
    settings: Settings, redis_handle: RedisHandle, **env: str
) -> tuple[Services, Settings]:
    custom = load_settings(
        data_dir=settings.data_dir,
        env={"BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix, **env},
    )
    services = await Services.open(custom, Secrets.from_env({}), redis_handle, render_processes=1)
    return services, custom


async def test_daw_openapi_documents_every_route_and_method_the_server_has(
    services: Services, aiohttp_client: Callable[..., Any]
) -> None:
    app = create_app(services, TOKEN)
    api: TestClient = await aiohttp_client(app)
    document = await (await api.get("/api/openapi.json", headers=AUTH)).json()
    validate(document)
    served: dict[str, set[str]] = {}
    for route in app.router.routes():
        path = documented_route(route.resource)
        if path in NOT_API or route.method in ("HEAD", "*"):
            continue
        served.setdefault(path, set()).add(route.method.lower())
    documented = {path: set(ops) for path, ops in document["paths"].items()}
    assert documented == served
    for path in ("/ws", "/files/{path}", "/healthz", "/metrics", "/api/generate/jobs"):
        assert path in documented, path
    ws_params = {p["name"] for p in document["paths"]["/ws"]["get"]["parameters"]}
    assert {"since", "user", "x-user-id"} <= ws_params
    files = document["paths"]["/files/{path}"]["get"]
    assert "Content-Range" in files["responses"]["206"]["headers"]
    assert any(p["name"] == "Range" and p["in"] == "header" for p in files["parameters"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"] == {**schemes["token"], "type": "apiKey", "in": "query"}
    assert {"bearer": []} in document["security"] and {"token": []} in document["security"]
    # Typed status, result and history objects, with ISO timestamps.
    schemas = document["components"]["schemas"]
    assert schemas["JobStatus"]["properties"]["result"]["anyOf"][0]["$ref"].endswith("JobResult")
    assert schemas["JobStatus"]["properties"]["createdAt"]["format"] == "date-time"
    assert schemas["HistoryEntry"]["properties"]["createdAt"]["format"] == "date-time"
    results = schemas["ResultResponse"]["properties"]["result"]["anyOf"]
    assert [r["$ref"].rsplit("/", 1)[1] for r in results] == ["JobResult", "TakesResult"]


async def test_daw_openapi_request_limits_follow_the_validators_and_config(
    settings: Settings,
    redis_handle: RedisHandle,
    redis_client: Redis,
    aiohttp_client: Callable[..., Any],
) -> None:
    services, custom = await open_custom(
        settings, redis_handle, BEATBOT_ENGINE__MAX_BPM="200", BEATBOT_ENGINE__MAX_DURATION="90"
    )
    try:
        api: TestClient = await aiohttp_client(create_app(services, TOKEN))
        document = await (await api.get("/api/openapi.json", headers=AUTH)).json()
        beat = document["components"]["schemas"]["BeatRequest"]
        props = beat["properties"]
        assert "required" not in beat  # {} is a beat
        assert props["genre"]["enum"] == list(GENRE_NAMES)
        assert props["key"]["enum"] == list(KEY_NAMES) and "F#m" in KEY_NAMES
        assert props["mood"]["enum"] == list(MOODS)
        assert (props["bpm"]["minimum"], props["bpm"]["maximum"]) == (40, 200)
        assert (props["duration"]["minimum"], props["duration"]["maximum"]) == (1, 90)
        assert props["quality"]["enum"] == ["streaming", "cd", "club"]
        assert props["mixProfile"]["enum"] == ["balanced", "bass-heavy", "bright", "warm"]
        assert props["format"]["enum"] == ["wav", "flac", "mp3"]
        seed = props["seed"]["anyOf"][0]
        assert (seed["type"], seed["minimum"], seed["maximum"]) == ("integer", 0, MAX_SEED)
        assert props["duration"]["default"] == custom.engine.default_duration
        master = document["components"]["schemas"]["MasterRequest"]
        assert master["required"] == ["trackId"] and "targetLoudness" in master["properties"]
        mix = document["components"]["schemas"]["MixRequest"]["properties"]["trackIds"]
        assert (mix["minItems"], mix["maxItems"]) == (2, 16)

        # What the document calls valid, the server accepts; just past a limit, it refuses.
        request_schema = Draft202012Validator(
            {"$ref": "#/components/schemas/BeatRequest", **document}
        )
        for body in ({}, {"genre": "house", "duration": 8}):
            assert request_schema.is_valid(body)
            response = await api.post("/api/generate/beat", json=body, headers=AUTH)
            queued = await response.json()
            assert response.status == 202, queued
            bars = bars_for(queued["duration"], queued["bpm"])
            assert queued["bars"] == bars and queued["seed"] >= 0
            assert queued["duration"] == round(bars * 240 / queued["bpm"], 3)
        assert (queued["genre"], queued["bpm"], queued["key"]) == ("house", 124, "Am")
        assert queued["bars"] == 4 and queued["duration"] == 7.742  # 8 s asked, 4 bars made
        for body in ({"bpm": 201}, {"duration": 91}, {"genre": "polka"}, {"key": "H"}):
            assert not request_schema.is_valid(body)
            response = await api.post("/api/generate/beat", json=body, headers=AUTH)
            assert response.status == 400, body
    finally:
        await services.close()


async def test_daw_asyncapi_describes_every_event_the_stream_carries(
    services: Services, aiohttp_client: Callable[..., Any]
) -> None:
    api: TestClient = await aiohttp_client(create_app(services, TOKEN))
    document = await (await api.get("/api/asyncapi.json", headers=AUTH)).json()
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["events"]["address"] == "/ws"
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert names == {*EVENT_NAMES, "stream:gap", "stream:error"}
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # The openapi document carries the same result schema frames use.
    documents = await fetch_documents(api, TOKEN)
    documents.check_frame(
        {
            "event": "daw:transport:sync",
            "data": {"bpm": 140, "timestamp": "2025-10-16T12:00:00.000Z"},
            "id": "1-0",
        }
    )
    for bad in (
        {"event": "daw:transport:sync", "data": {"bpm": 140, "timestamp": 1}, "id": "1-0"},
        {"event": "daw:transport:sync", "data": {"bpm": 140}, "id": "1-0"},
        {"event": "nope", "data": {}, "id": "1-0"},
    ):
        try:
            documents.check_frame(bad)
        except AssertionError:
            continue
        raise AssertionError(f"{bad} passed as a frame")


SCHEMATHESIS_CONFIG = """
[[operations]]
include-path = "/api/files"
# Generated bytes are not audio (415) and may be empty (400); both answers are right.
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "413", "415", "429"]

[[operations]]
include-path = "/api/generate/extend"
# How many bars a beat can take depends on that beat (its tempo and length): past the
# longest beat we make is a 422 the document can't rule out.
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "422", "429"]
"""


async def test_daw_schemathesis_finds_the_server_true_to_its_document(
    settings: Settings,
    redis_handle: RedisHandle,
    redis_client: Redis,
    aiohttp_server: Callable[..., Any],
    tmp_path: Path,
) -> None:
    # Limits high enough that fuzzing tests the API, not the rate limiter.
    services, _custom = await open_custom(
        settings,
        redis_handle,
        BEATBOT_LIMITS__REQUESTS_PER_MINUTE="1000000",
        BEATBOT_LIMITS__DAILY_AUDIO_SECONDS="1000000000",
    )
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    try:
        server = await aiohttp_server(create_app(services, TOKEN))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            str(server.make_url("/api/openapi.json")),
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            # The server also takes what people type ("lofi", "140bpm", "c minor"), which the
            # document doesn't list, so rejecting all undocumented input is not its contract.
            "--exclude-checks",
            "negative_data_rejection",
            "--exclude-path",
            "/ws",  # a WebSocket: tests/test_daw_ws.py checks every frame against the document
            "--max-examples",
            "20",
            "--generation-deterministic",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    finally:
        await services.close()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "passed" in text, text[-3000:]
