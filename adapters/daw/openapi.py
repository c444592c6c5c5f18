"""/api/openapi.json, built from the models that validate and answer requests.

Request bodies come from `bot.requests`' models with the limits and choices their validators
check (`field_constraints`: the configured tempo and length range, the genre table, the key
speller); responses from `adapters.daw.schemas`. WebSocket frames are described in
/api/asyncapi.json (`adapters.daw.asyncapi`), from the same component schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from adapters.daw import schemas
from adapters.daw.http import USER_ID_PATTERN
from bot.config import EngineSettings
from bot.requests import (
    BeatRequest,
    ExtendRequest,
    MasterRequest,
    MixRequest,
    RedoRequest,
    StemsRequest,
    field_constraints,
    public_name,
)
from bot.takes import MAX_TAKES

REF = "#/components/schemas/{model}"
JOB_ID = r"^[0-9a-f]{1,64}$"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    request: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    query: tuple[dict[str, Any], ...] = ()
    description: str = ""
    per_user: bool = True  # answers for the x-user-id (documents the header)


_CANCEL_TEXT = (
    "A waiting job stops at once (its state becomes failed with the error "
    '"Cancelled before it finished."); a running one is asked to stop and its worker confirms '
    "within moments (cancelRequested is true until then). generation:failed follows on /ws."
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("post", "/api/generate/beat", "Queue a beat", schemas.BeatQueued, 202, BeatRequest,
             (400, 429), description="Every field is optional: the genre's tempo, key and mood "
             "and the configured length, quality and profile fill what is left out. The 202 "
             "echoes the beat as it will be made, its duration rounded to whole bars."),
    Endpoint("post", "/api/generate/extend", "Extend a beat", schemas.BeatQueued, 202,
             ExtendRequest, (400, 404, 422, 429), description="Appends bars to one of your beats "
             '(generationId): {"bars": 8}, or {"seconds": 30} for the whole bars nearest 30 s '
             "at its tempo. Same seed, parts and earlier edits, so every bar before stays as "
             "it was; a new generation, followed like POST /api/generate/beat (202, then /ws "
             "events). 404 for a generationId that isn't one of your beats."),
    Endpoint("post", "/api/generate/redo", "Redo a section of a beat", schemas.BeatQueued, 202,
             RedoRequest, (400, 404, 422, 429), description="Draws one section of one of your "
             'beats (generationId) again: {"section": "hook"}, or {"section": "verse", "part": '
             '"drums"} for that part only. Same seed, parts and earlier edits, so every other '
             "section stays as it was; each redo of the same section is a new take of it. A "
             "new generation, followed like POST /api/generate/beat. 422 for a section the "
             "beat doesn't have (the error names the ones it has)."),
    Endpoint("post", "/api/generate/stems", "Split an upload into stems", schemas.JobQueued, 202,
             StemsRequest, (400, 404, 429)),
    Endpoint("post", "/api/generate/mix", "Auto-mix uploads", schemas.JobQueued, 202, MixRequest,
             (400, 404, 429)),
    Endpoint("post", "/api/generate/master", "Master an upload", schemas.JobQueued, 202,
             MasterRequest, (400, 404, 429)),
    Endpoint("get", "/api/generate/jobs", "Your jobs in flight", schemas.JobsResponse),
    Endpoint("get", "/api/generate/status/{jobId}", "A job's state and progress",
             schemas.StatusResponse, errors=(404,),
             description="Only your own jobs (x-user-id); anyone else's is a 404."),
    Endpoint("get", "/api/generate/result/{jobId}", "A finished job's result",
             schemas.ResultResponse, errors=(404, 409),
             description="Only your own jobs (x-user-id); 409 while it is not completed."),
    Endpoint("delete", "/api/generate/{jobId}", "Cancel a job", schemas.Cancelled,
             errors=(404, 409), description=_CANCEL_TEXT),
    Endpoint("post", "/api/generate/{jobId}/cancel", "Cancel a job (POST)", schemas.Cancelled,
             errors=(404, 409), description=_CANCEL_TEXT),
    Endpoint("get", "/api/generate/queue/stats", "Queue statistics", schemas.StatsResponse,
             per_user=False),
    Endpoint("get", "/api/generate/genres", "The 14 genres", schemas.GenresResponse,
             per_user=False),
    Endpoint("post", "/api/chat", "Talk to the assistant", schemas.ChatResponse, 200,
             schemas.ChatRequest, (400, 404, 429)),
    Endpoint("get", "/api/history", "Your recent generations", schemas.HistoryResponse,
             errors=(400,), query=({"name": "limit", "in": "query",
                                    "schema": {"type": "integer", "minimum": 0}},)),
)  # fmt: skip

_ERROR_TEXT = {
    400: "Invalid request: the error names the field",
    401: "Missing or wrong API token",
    403: "The link is altered or expired",
    404: "No such job (or not yours) or upload",
    409: "The job is not in a state that allows this",
    413: "Upload too large",
    415: "Upload is not audio",
    422: "The beat can't take it (an extend past the longest beat we make)",
    426: "Not a WebSocket handshake",
    429: "Rate limit or daily quota reached (see Retry-After)",
}


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def component_schemas(
    models: tuple[type[BaseModel], ...], components: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Response models as JSON Schemas under their class names (OpenAPI and AsyncAPI share
    them)."""
    components = {} if components is None else components
    for model in models:
        _schema(model, components, "serialization")
    return components


def _constrain(spec: dict[str, Any], limits: dict[str, Any]) -> None:
    """Put limits on the value's own schema (not on the `null` a client may also send)."""
    branches = [b for b in spec.get("anyOf", [spec]) if b.get("type") != "null"]
    for branch in branches:
        branch.update(limits)


def _request_schema(
    model: type[BaseModel], components: dict[str, Any], engine: EngineSettings
) -> dict[str, Any]:
    """A job body, documented with the names, limits and choices the validators enforce."""
    ref = _schema(model, components, "validation")
    schema = components[model.__name__]
    constraints = field_constraints(engine)
    properties: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        if name in ("notes", "new_edit", "edits"):  # set by the server (edits: see extend)
            continue
        if name in constraints:
            _constrain(spec, constraints[name])
        spec.pop("title", None)
        properties[public_name(name)] = spec
    schema["properties"] = properties
    required = [public_name(name) for name in schema.pop("required", [])]
    if model is BeatRequest:
        required = []  # defaults fill every field (beat_request); even {} is a beat
        _beat_defaults(properties, engine)
    if model is ExtendRequest:
        _one_amount(schema)
    if required:
        schema["required"] = required
    return ref


def _beat_defaults(properties: dict[str, Any], engine: EngineSettings) -> None:
    """What the server fills in, from the same settings `beat_request` uses."""
    defaults = {
        "duration": engine.default_duration,
        "quality": engine.default_quality,
        "mixProfile": engine.default_profile,
        "format": engine.default_format,
    }
    for name, value in defaults.items():
        properties[name]["default"] = value
    properties["genre"]["description"] = "Default: chosen from the mood, else hip hop."
    for name in ("bpm", "key", "mood"):
        properties[name]["description"] = "Default: the genre's own."
    properties["duration"]["description"] = "Seconds; the beat is rounded to whole bars."
    properties["targetLoudness"]["description"] = "LUFS; default: the quality's preset."
    properties["seed"]["description"] = "Same request + same seed = the same beat."
    properties["takes"] = {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_TAKES,
        "default": 1,
        "description": "Several takes of this beat (seeds one apart), rendered side by side: "
        "the 202 then lists each take's job under `takes`, and /ws brings one "
        'generation:completed for the group (result kind "takes").',
    }
    properties["exclude"]["description"] = 'Parts to leave out, e.g. ["hats", "melody"].'
    properties["include"]["description"] = (
        'Instruments to use, e.g. ["piano", "strings"]; what the genre can take.'
    )


def _one_amount(schema: dict[str, Any]) -> None:
    """An extend names bars or seconds, exactly one of them."""
    properties = schema["properties"]
    for name in ("bars", "seconds"):
        spec = properties[name]
        (kept,) = [b for b in spec.pop("anyOf") if b.get("type") != "null"]
        spec.update(kept)
        spec.pop("default", None)
    properties["bars"]["description"] = "Whole bars to append."
    properties["seconds"]["description"] = "Seconds to append, as the whole bars nearest them."
    schema["oneOf"] = [{"required": ["bars"]}, {"required": ["seconds"]}]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(codes: tuple[int, ...], failure: dict[str, Any]) -> dict[str, Any]:
    return {
        str(code): {"description": _ERROR_TEXT[code], "content": _json(failure)} for code in codes
    }


def openapi_document(engine: EngineSettings, server_url: str = "/") -> dict[str, Any]:
    components: dict[str, Any] = {}
    failure = _schema(schemas.Failure, components, "serialization")
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        parameters: list[dict[str, Any]] = [*([_user_header()] if ep.per_user else []), *ep.query]
        if "{jobId}" in ep.path:
            parameters.append(
                {"name": "jobId", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": JOB_ID}}
            )  # fmt: skip
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": _operation_id(ep),
            "parameters": parameters,
            "responses": {
                str(ep.status): {
                    "description": ep.summary,
                    "content": _json(_schema(ep.response, components, "serialization")),
                }
                if ep.response is not None
                else {"description": ep.summary},
                **_errors(_codes(ep), failure),
            },
        }
        if ep.description:
            operation["description"] = ep.description
        if ep.status == 202:
            operation["responses"]["202"]["links"] = _job_links()
        if ep.request is not None:
            content = _json(_request_schema(ep.request, components, engine))
            if ep.request is BeatRequest:
                content["application/json"]["example"] = {"genre": "house", "duration": 8}
            if ep.request is ExtendRequest:
                content["application/json"]["example"] = {"generationId": "…", "bars": 8}
            if ep.request is RedoRequest:
                content["application/json"]["example"] = {"generationId": "…", "section": "hook"}
            operation["requestBody"] = {"required": True, "content": content}
        paths.setdefault(ep.path, {})[ep.method] = operation
    paths["/api/files"] = {"post": _upload_operation(components, failure)}
    paths["/ws"] = {"get": _websocket_operation(failure)}
    paths["/files/{path}"] = {"get": _download_operation(failure)}
    paths["/healthz"] = {"get": _health_operation(components)}
    paths["/metrics"] = {"get": _metrics_operation()}
    for path, what in (
        ("/api/openapi.json", "This document"),
        ("/api/asyncapi.json", "The WebSocket events (AsyncAPI 3.0)"),
    ):
        paths[path] = {"get": {
            "summary": what, "operationId": path.rsplit("/", 1)[1].replace(".", "_"),
            "responses": {"200": {"description": what,
                                  "content": _json({"type": "object"})},
                          **_errors((401,), failure)},
        }}  # fmt: skip
    component_schemas(_FRAME_MODELS, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BeatBot DAW API",
            "version": "1.3.0",
            "description": (
                "Queue beats, stems, mixes and masters; follow them on /ws (frames in "
                "/api/asyncapi.json). Names are camelCase; timestamps are ISO 8601 UTC "
                'strings ("2025-10-16T12:00:00.000Z"). Errors are {"success": false, '
                '"error": SENTENCE}.'
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"token": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The API token `beatbot serve` prints.",
                },
                "token": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "The same token as ?token=, for WebSockets and links "
                    "where a browser can't set headers.",
                },
            },
        },
    }


# Schemas only frames use; listed here so both documents carry them.
_FRAME_MODELS: tuple[type[BaseModel], ...] = (
    schemas.JobResult,
    schemas.ActionButton,
    schemas.StreamGap,
    schemas.StreamError,
)


def _codes(ep: Endpoint) -> tuple[int, ...]:
    """Its error statuses: 401 everywhere, 400 wherever a bad x-user-id can be sent."""
    return tuple(sorted({*([400] if ep.per_user else []), 401, *ep.errors}))


def _job_links() -> dict[str, Any]:
    """Where a queued job's id leads: its status, its result, cancelling it."""
    job_id = {"jobId": "$response.body#/jobId"}
    targets = {
        "status": "GET /api/generate/status/{jobId}",
        "result": "GET /api/generate/result/{jobId}",
        "cancel": "DELETE /api/generate/{jobId}",
    }
    by_route = {f"{ep.method.upper()} {ep.path}": _operation_id(ep) for ep in ENDPOINTS}
    return {
        name: {"operationId": by_route[route], "parameters": job_id}
        for name, route in targets.items()
    }


def _operation_id(ep: Endpoint) -> str:
    words = ep.summary.lower().replace("'", "").replace("(", "").replace(")", "").split()
    return "_".join(words)


def _user_header() -> dict[str, Any]:
    return {
        "name": "x-user-id",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": USER_ID_PATTERN},
        "description": "Whose jobs, history and quota these are (default: daw). ?user= works too.",
    }


def _upload_operation(components: dict[str, Any], failure: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": "Upload audio",
        "operationId": "upload_audio",
        "parameters": [_user_header()],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary", "minLength": 1}
                        },
                        "required": ["file"],
                        "additionalProperties": False,
                    }
                }
            },
        },
        "responses": {
            "201": {
                "description": "Stored; use fileId as audioFileId or trackId",
                "content": _json(_schema(schemas.Uploaded, components, "serialization")),
            },
            **_errors((400, 401, 413, 415), failure),
        },
    }


def _websocket_operation(failure: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": "Live job and DAW events (WebSocket)",
        "operationId": "websocket",
        "description": (
            "Upgrade to a WebSocket that receives JSON frames "
            '`{"event": NAME, "data": {...}, "id": STREAM_ID}` for your jobs, described in '
            "/api/asyncapi.json. Reconnect with `?since=<last id>` to get what you missed. "
            "If events after `since` were trimmed from the capped stream, a `stream:gap` frame "
            "comes first. A `since` newer than the newest event gets one `stream:error` frame, "
            "then the server closes with code 1008. Frames the server adds have `id: null`. "
            "A client that stops reading is closed with code 1013 and can resume with since."
        ),
        "parameters": [
            _user_header(),
            {
                "name": "user",
                "in": "query",
                "schema": {"type": "string", "pattern": USER_ID_PATTERN},
                "description": "Whose events to receive, when x-user-id can't be set.",
            },
            {
                "name": "since",
                "in": "query",
                "schema": {"type": "string", "pattern": r"^(\d{1,20}(-\d{1,20})?|\$)$"},
                "description": "The id of the last frame you got; 0 for all kept, $ for none.",
            },
        ],
        "responses": {
            "101": {"description": "Switching Protocols: frames follow (see /api/asyncapi.json)"},
            **_errors((400, 401, 426), failure),
        },
    }


def _download_operation(failure: dict[str, Any]) -> dict[str, Any]:
    audio = {"schema": {"type": "string", "format": "binary"}}
    media = ("audio/mpeg", "audio/wav", "audio/flac", "audio/midi", "image/png")
    return {
        "summary": "Download a file (signed link)",
        "operationId": "download",
        "description": (
            "The links in results and history. Range requests work (206 with Content-Range), "
            "so players can seek. Content-Disposition names the file after the beat "
            '("trap_140_Cm_42.mp3"); add `download=1` to save rather than play it.'
        ),
        "security": [],
        "parameters": [
            {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "exp", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "sig", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "download", "in": "query", "schema": {"type": "string", "enum": ["1"]}},
            {
                "name": "Range",
                "in": "header",
                "schema": {"type": "string"},
                "description": 'e.g. "bytes=0-1023"',
            },
        ],
        "responses": {
            "200": {
                "description": "The file",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {m: audio for m in media},
            },
            "206": {
                "description": "Part of the file",
                "headers": {"Content-Range": {"schema": {"type": "string"}}},
                "content": {m: audio for m in media},
            },
            "416": {"description": "The range is outside the file"},
            **_errors((403, 404), failure),
        },
    }


def _health_operation(components: dict[str, Any]) -> dict[str, Any]:
    health = _schema(schemas.Health, components, "serialization")
    return {
        "summary": "Liveness",
        "operationId": "healthz",
        "security": [],
        "responses": {
            "200": {"description": "Redis answers", "content": _json(health)},
            "503": {"description": "Redis is unreachable", "content": _json(health)},
        },
    }


def _metrics_operation() -> dict[str, Any]:
    return {
        "summary": "Prometheus metrics",
        "operationId": "metrics",
        "security": [],
        "responses": {
            "200": {
                "description": "Jobs by type and state, durations, queue depth, WebSocket clients",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    }
