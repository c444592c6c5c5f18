"""/api/asyncapi.json: the WebSocket's frames as an AsyncAPI 3.0 document.

Each stream event's `data` schema comes from its model in `bot.events` (what publishers are
validated against), as the WebSocket sends it: no `origin`, a typed `result`, and a finished
beat's `actions`. The frames the server adds itself (`stream:gap`, `stream:error`) come from
`adapters.daw.schemas`. The tests validate every frame they receive against `WsFrame`.
"""

from __future__ import annotations

from typing import Any

from adapters.daw import schemas
from adapters.daw.openapi import REF, component_schemas
from adapters.daw.wire import STREAM_ERROR, STREAM_GAP
from bot.events import MODELS

STREAM_ID = r"^\d{1,20}-\d{1,20}$"
_SERVER_FRAMES = {STREAM_GAP: schemas.StreamGap, STREAM_ERROR: schemas.StreamError}


def _component_name(event: str) -> str:
    """ "generation:completed" -> "GenerationCompleted" (AsyncAPI keys allow no colons)."""
    return "".join(part.capitalize() for part in event.replace("-", ":").split(":"))


def _event_data(event: str, components: dict[str, Any]) -> dict[str, Any]:
    """The `data` of one stream event as the WebSocket sends it."""
    schema = MODELS[event].model_json_schema(by_alias=True, mode="serialization", ref_template=REF)
    for name, definition in schema.pop("$defs", {}).items():
        if name != "Origin":
            components.setdefault(name, definition)
    properties = schema["properties"]
    properties.pop("origin", None)
    properties["timestamp"] = {"$ref": REF.format(model="Timestamp")}
    schema["required"] = sorted({*schema.get("required", []), "timestamp"})
    if event == "generation:completed":
        properties["result"] = {
            "oneOf": [
                {"$ref": REF.format(model="JobResult")},
                {"$ref": REF.format(model="TakesResult")},
            ]
        }
        properties["actions"] = {
            "type": "array",
            "items": {"$ref": REF.format(model="ActionButton")},
            "description": "A finished beat's buttons, or several takes' \"Pick 1\".. "
            '"Pick N" (each with its take\'s generationId); send `command` to /api/chat.',
        }
    return schema


def _frame(event: str, data_ref: str, server_frame: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "data", "id"],
        "properties": {
            "event": {"const": event},
            "data": {"$ref": data_ref},
            "id": {"type": "null"}
            if server_frame
            else {"type": "string", "pattern": STREAM_ID, "description": "Resume with ?since="},
        },
        "additionalProperties": False,
    }


def frame_schemas() -> dict[str, Any]:
    """Every schema a frame needs, with `WsFrame` (one of the frames) among them."""
    components = component_schemas((schemas.JobResult, schemas.TakesResult, schemas.ActionButton))
    components["Timestamp"] = {
        "type": "string",
        "format": "date-time",
        "description": 'ISO 8601 UTC with milliseconds, e.g. "2025-10-16T12:00:00.000Z"',
    }
    frames = []
    for event in MODELS:
        name = _component_name(event)
        components[name] = _event_data(event, components)
        components[f"{name}Frame"] = _frame(event, REF.format(model=name), False)
        frames.append(f"{name}Frame")
    for event, model in _SERVER_FRAMES.items():
        name = _component_name(event)
        component_schemas((model,), components)
        components[f"{name}Frame"] = _frame(event, REF.format(model=model.__name__), True)
        frames.append(f"{name}Frame")
    components["WsFrame"] = {"oneOf": [{"$ref": REF.format(model=f)} for f in frames]}
    return components


def asyncapi_document(host: str = "127.0.0.1:8765") -> dict[str, Any]:
    components = frame_schemas()
    events = [*MODELS, *_SERVER_FRAMES]
    messages = {
        _component_name(event): {
            "name": event,
            "title": event,
            "contentType": "application/json",
            "payload": {"$ref": REF.format(model=f"{_component_name(event)}Frame")},
        }
        for event in events
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "BeatBot DAW events",
            "version": "1.3.0",
            "description": (
                'Frames `{"event", "data", "id"}` on /ws, for the connecting user\'s jobs, in '
                "stream order. Resume with ?since=<id>. A `stream:gap` frame first means events "
                "after `since` were trimmed; a `stream:error` frame is followed by close code "
                "1008. Frames the server adds have `id: null`. Timestamps are ISO 8601 UTC."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "beatbot": {
                "host": host,
                "protocol": "ws",
                "description": "Authenticate with ?token= (or Authorization: Bearer).",
            }
        },
        "channels": {
            "events": {
                "address": "/ws",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "token": {"type": "string", "description": "The API token."},
                                "user": {"type": "string", "description": "Whose events."},
                                "since": {"type": "string", "description": "Last id seen."},
                            },
                        },
                    }
                },
            }
        },
        "operations": {
            "sendEvents": {
                "action": "send",
                "channel": {"$ref": "#/channels/events"},
                "summary": "The server sends job and DAW events to the connected DAW.",
                "messages": [{"$ref": f"#/channels/events/messages/{name}"} for name in messages],
            }
        },
        "components": {"schemas": components, "messages": messages},
    }
