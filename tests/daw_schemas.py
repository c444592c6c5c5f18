"""Check real REST bodies and WebSocket frames against the documents the server serves.

`Documents(openapi, asyncapi)` validates a JSON value against a named component schema
(`status`, `JobResult`, `WsFrame` ...) with formats checked (timestamps must be date-time),
so a test fails the moment the server sends something its documents don't describe.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


class Documents:
    def __init__(self, openapi: dict[str, Any], asyncapi: dict[str, Any]) -> None:
        self.registry = Registry().with_resources(
            [
                ("urn:openapi", Resource(openapi, specification=DRAFT202012)),
                ("urn:asyncapi", Resource(asyncapi, specification=DRAFT202012)),
            ]
        )

    def _validator(self, document: str, name: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"urn:{document}#/components/schemas/{name}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def check_rest(self, name: str, body: Any) -> None:
        """`body` is a valid `name` of /api/openapi.json, or AssertionError says why."""
        _check(self._validator("openapi", name), body, name)

    def check_frame(self, frame: Any) -> None:
        """`frame` is a valid `WsFrame` of /api/asyncapi.json."""
        _check(self._validator("asyncapi", "WsFrame"), frame, f"frame {frame.get('event')}")


def _check(validator: Draft202012Validator, value: Any, what: str) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        # oneOf failures hide the cause in their context; show the deepest ones.
        causes = [c for e in errors for c in (e.context or [e])]
        detail = "; ".join(f"{list(c.absolute_path)}: {c.message[:200]}" for c in causes[:6])
        raise AssertionError(f"{what} does not match its schema: {detail}")


def snake_keys(value: Any, where: str = "") -> list[str]:
    """Every key in a JSON value that isn't camelCase (has an underscore), with its path."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "_" in str(key):
                found.append(f"{where}.{key}")
            found += snake_keys(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += snake_keys(item, f"{where}[{index}]")
    return found


async def fetch_documents(client: Any, token: str) -> Documents:
    """Both documents as a client gets them (aiohttp's test client or a ClientSession)."""
    headers = {"Authorization": f"Bearer {token}"}
    documents = []
    for path in ("/api/openapi.json", "/api/asyncapi.json"):
        response = await client.get(path, headers=headers)
        assert response.status == 200, path
        documents.append(await response.json())
    return Documents(*documents)


async def frames_until(
    ws: Any, last: str, documents: Documents, job_id: str | None = None, timeout: float = 30
) -> list[dict[str, Any]]:
    """WebSocket frames up to the first `last` event (of `job_id`, when given), each checked
    against /api/asyncapi.json and for camelCase keys."""
    frames = []
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), timeout=timeout)
        documents.check_frame(frame)
        assert snake_keys(frame) == [], frame["event"]
        frames.append(frame)
        if frame["event"] == last and job_id in (None, frame["data"].get("jobId")):
            return frames
