"""/api/openapi.json, built from the same pydantic models that validate and answer requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from adapters.daw import schemas
from bot.requests import BeatRequest, MasterRequest, MixRequest, StemsRequest

REF = "#/components/schemas/{model}"

# (method, path, summary, request model or None, success status, response model, errors)
ENDPOINTS: tuple[tuple[str, str, str, type[BaseModel] | None, int, type[BaseModel], tuple[int, ...]], ...] = (  # noqa: E501
    ("post", "/api/generate/beat", "Queue a beat", BeatRequest, 202, schemas.JobQueued, (400, 429)),
    ("post", "/api/generate/stems", "Split an upload into stems", StemsRequest, 202,
     schemas.JobQueued, (400, 404, 429)),
    ("post", "/api/generate/mix", "Auto-mix uploads", MixRequest, 202, schemas.JobQueued,
     (400, 404, 429)),
    ("post", "/api/generate/master", "Master an upload", MasterRequest, 202, schemas.JobQueued,
     (400, 404, 429)),
    ("get", "/api/generate/status/{jobId}", "A job's state and progress", None, 200,
     schemas.StatusResponse, (404,)),
    ("get", "/api/generate/result/{jobId}", "A finished job's result", None, 200,
     schemas.ResultResponse, (404, 409)),
    ("get", "/api/generate/queue/stats", "Queue statistics", None, 200, schemas.StatsResponse, ()),
    ("get", "/api/generate/genres", "The 14 genres", None, 200, schemas.GenresResponse, ()),
    ("post", "/api/chat", "Talk to the assistant", schemas.ChatRequest, 200,
     schemas.ChatResponse, (400, 404, 429)),
    ("get", "/api/history", "Your recent generations", None, 200, schemas.HistoryResponse,
     (400,)),
)  # fmt: skip

_BEAT_EXAMPLE = {"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 30}


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _public_name(model: type[BaseModel], name: str) -> str:
    """The seed's camelCase name of a field (its first alias that differs), else its own."""
    choices = getattr(model.model_fields[name].validation_alias, "choices", None) or ()
    return next((c for c in choices if isinstance(c, str) and c != name), name)


def _request_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """Job bodies are documented with the names clients send (audioFileId, mixProfile...)."""
    ref = _schema(model, components, "validation")
    schema = components[model.__name__]
    properties = schema.get("properties", {})
    schema["properties"] = {
        _public_name(model, name): spec for name, spec in properties.items() if name != "notes"
    }
    required = [_public_name(model, name) for name in schema.pop("required", [])]
    if required:
        schema["required"] = required
    return ref


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    components: dict[str, Any] = {}
    failure = _schema(schemas.Failure, components, "serialization")
    paths: dict[str, Any] = {}
    for method, path, summary, request, status, response, errors in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": summary.lower().replace(" ", "_").replace("'", ""),
            "parameters": [_user_header()],
            "responses": {
                str(status): {
                    "description": summary,
                    "content": _json(_schema(response, components, "serialization")),
                },
                "401": {"description": "Missing or wrong API token", "content": _json(failure)},
                **{
                    str(code): {"description": _ERROR_TEXT[code], "content": _json(failure)}
                    for code in errors
                },
            },
        }
        if "{jobId}" in path:
            operation["parameters"].append(
                {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if path == "/api/history":
            operation["parameters"].append(
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}}
            )
        if request is not None:
            body = _request_schema(request, components)
            content = _json(body)
            if request is BeatRequest:
                content["application/json"]["example"] = _BEAT_EXAMPLE
            operation["requestBody"] = {"required": True, "content": content}
        paths.setdefault(path, {})[method] = operation
    paths["/api/files"] = {"post": _upload_operation(components, failure)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BeatBot DAW API",
            "version": "1.0.0",
            "description": "Queue beats, stems, mixes and masters; follow them on /ws.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_ERROR_TEXT = {
    400: "Invalid body: the error names the field",
    404: "No such job or upload",
    409: "The job has not completed",
    413: "Upload too large",
    415: "Upload is not audio",
    429: "Rate limit or daily quota reached (see Retry-After)",
}


def _user_header() -> dict[str, Any]:
    return {
        "name": "x-user-id",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": r"^[\w.@:-]{1,64}$"},
        "description": "Whose history and quota this request counts against.",
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
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        },
        "responses": {
            "201": {
                "description": "Stored; use fileId as audioFileId or trackId",
                "content": _json(_schema(schemas.Uploaded, components, "serialization")),
            },
            **{
                str(code): {"description": _ERROR_TEXT[code], "content": _json(failure)}
                for code in (400, 413, 415)
            },
            "401": {"description": "Missing or wrong API token", "content": _json(failure)},
        },
    }
