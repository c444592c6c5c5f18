"""HTTP plumbing shared by every route: JSON replies, errors as JSON, auth, who is asking.

Every failure leaves the server as `{"success": false, "error": SENTENCE}` with the status a
client can act on; no traceback ever reaches a response.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.errors import APOLOGY, LimitReached, NotFound, UploadTooLarge, UserError
from bot.store import BadLink
from engine.errors import EngineInputError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_TOKEN = web.AppKey("api_token", str)
DEFAULT_USER = "daw"
USER_ID_PATTERN = r"^[A-Za-z0-9_.@:-]{1,64}$"  # ASCII, as /api/openapi.json says
_USER_ID = re.compile(USER_ID_PATTERN)


def ok(body: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
    return web.json_response({"success": True, **body}, status=status, headers=headers or None)


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"success": False, "error": message}, status=status, headers=headers or None
    )


class HTTPProblem(Exception):
    """Raise from a handler to answer with `status` and a sentence."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def status_for(exc: BaseException) -> int:
    if isinstance(exc, LimitReached):
        return 429
    if isinstance(exc, UploadTooLarge):
        return 413
    if isinstance(exc, BadLink):
        return 403
    if isinstance(exc, NotFound):
        return 404
    return 400


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HTTPProblem as exc:
        return error(exc.status, exc.message, **exc.headers)
    except LimitReached as exc:
        return error(429, exc.message, **{"Retry-After": str(max(1, round(exc.retry_after)))})
    except UserError as exc:
        return error(status_for(exc), exc.message)
    except EngineInputError as exc:
        return error(400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        kept = {k: v for k, v in exc.headers.items() if k in _KEPT_HEADERS}
        return error(exc.status, _reason(exc), **kept)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error(500, APOLOGY)


# Headers an HTTP error must keep when it becomes JSON (405 says which methods work).
_KEPT_HEADERS = ("Allow",)


def _reason(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return "There is nothing at this address. The API lives under /api/generate/."
    if exc.status == 405:
        return f"{exc.reason}: this address doesn't take that method."
    return exc.reason or "That request can't be served."


def content_disposition(name: str, *, attachment: bool = False) -> str:
    """RFC 6266: an ASCII `filename` every browser reads, and `filename*` for the rest."""
    fallback = re.sub(r'[\x00-\x1f\x7f"\\?]', "_", name.encode("ascii", "replace").decode())
    value = f'{"attachment" if attachment else "inline"}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def _needs_token(path: str) -> bool:
    return path.startswith("/api/") or path == "/ws"


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """/api and /ws need the API token: `Authorization: Bearer T`, or `?token=T` (WebSocket
    and the widget link, where a browser can't set headers)."""
    if request.method == "OPTIONS" or not _needs_token(request.path):
        return await handler(request)
    expected = request.app[API_TOKEN]
    given = _token_of(request)
    # surrogatepass: header bytes that aren't UTF-8 arrive as surrogates; they just don't match.
    if given is None or not hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    ):
        return error(
            401,
            "This needs BeatBot's API token: send `Authorization: Bearer <token>` "
            "(the token `beatbot serve` printed, or BEATBOT_API_TOKEN).",
            **{"WWW-Authenticate": 'Bearer realm="beatbot"'},
        )
    return await handler(request)


def _token_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


def user_of(request: web.Request) -> str:
    """Who is asking (keys history and quotas): `x-user-id`, `?user=`, else the token's user."""
    user = request.headers.get("x-user-id")
    if user is None:
        user = request.query.get("user", DEFAULT_USER)
    if not _USER_ID.fullmatch(user):  # an empty one too: it names nobody
        raise HTTPProblem(400, "x-user-id: use 1 to 64 letters, digits or . _ @ : - (no spaces).")
    return user


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    raw = await request.read()
    if not raw.strip():
        raise HTTPProblem(400, "The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise HTTPProblem(400, "The request body is nested too deeply to read.") from None
    except ValueError as exc:  # also UnicodeDecodeError, and numbers with 5000 digits
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise HTTPProblem(400, f"The request body is not valid JSON{where}.") from None
    if not isinstance(body, dict):
        raise HTTPProblem(400, 'The request body must be a JSON object, like {"genre": "trap"}.')
    if b"\\u" in raw and _has_lone_surrogate(body):
        # JSON may escape half a UTF-16 pair ("\ud800"); it is no text, and Redis, files and
        # chat platforms can't store it.
        raise HTTPProblem(400, "The request body has a broken \\u escape (half of a pair).")
    return body


def _has_lone_surrogate(body: dict[str, Any]) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# What a browser front end may send and read: Range for seeking, and the headers that say
# when to retry (429), which part of a file came back (206) and what the file is called.
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Range, x-user-id"
CORS_EXPOSE_HEADERS = (
    "Retry-After, Content-Range, Content-Disposition, Content-Length, Accept-Ranges"
)
CORS_METHODS = "GET, POST, DELETE, OPTIONS"


def cors_middleware(origins: list[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Allow the configured front-end origins (a DAW dev server) to call the API."""
    allowed = set(origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin:
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if origin and (origin in allowed or "*" in allowed):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        return response

    return cors
