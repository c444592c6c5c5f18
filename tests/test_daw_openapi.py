"""/api/openapi.json is a valid OpenAPI 3 document, and schemathesis fuzzing the live server
from it finds no 500s (no worker runs: queued jobs just wait, so the run stays quick)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from adapters.daw_server import create_app
from bot.services import Services

TOKEN = "openapi-test-token"


async def test_daw_openapi_document_is_valid_and_covers_every_endpoint(
    services: Services, aiohttp_client: Callable[..., Any]
) -> None:
    api: TestClient = await aiohttp_client(create_app(services, TOKEN))
    response = await api.get("/api/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    document = await response.json()
    validate(document)
    assert set(document["paths"]) == {
        "/api/generate/beat",
        "/api/generate/stems",
        "/api/generate/mix",
        "/api/generate/master",
        "/api/generate/status/{jobId}",
        "/api/generate/result/{jobId}",
        "/api/generate/queue/stats",
        "/api/generate/genres",
        "/api/files",
        "/api/chat",
        "/api/history",
    }
    beat = document["components"]["schemas"]["BeatRequest"]["properties"]
    assert {"genre", "bpm", "key", "mood", "duration", "projectId", "autoPlay"} <= set(beat)
    stems = document["components"]["schemas"]["StemsRequest"]
    assert stems["required"] == ["audioFileId"] and "stemTypes" in stems["properties"]


async def test_daw_schemathesis_finds_no_server_errors(
    services: Services, aiohttp_server: Callable[..., Any]
) -> None:
    server = await aiohttp_server(create_app(services, TOKEN))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(server.make_url("/api/openapi.json")),
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "25",
        "--generation-deterministic",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    assert "passed" in text
