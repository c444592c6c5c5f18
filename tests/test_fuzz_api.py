"""Malformed bodies and headers against every DAW API endpoint: never a 500, always JSON.

tests/test_daw_openapi.py runs schemathesis from the OpenAPI document (valid-ish requests,
25 per operation); this file sends what a schema never describes: broken and hostile JSON
(deep nesting, 5000-digit numbers, lone surrogates, NUL bytes, 900 KB strings, non-objects),
wrong content types, bodies over the JSON limit, bad x-user-id headers and bad query values,
through aiohttp's test client on a real Redis. Cases are drawn by hypothesis (deterministic)
plus a hand-written list of known nasties; every answer is checked.
"""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from adapters.daw_server import MAX_JSON_BODY, create_app
from bot.services import Services

TOKEN = "fuzz-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POSTS = [
    "/api/generate/beat",
    "/api/generate/stems",
    "/api/generate/mix",
    "/api/generate/master",
    "/api/chat",
]
FIELDS = [
    "genre", "bpm", "key", "mood", "duration", "seed", "quality", "targetLoudness",
    "mixProfile", "format", "projectId", "autoPlay", "audioFileId", "stemTypes", "trackIds",
    "trackId", "text", "thread", "generationId", "fileIds",
]  # fmt: skip
GOOD = {
    "/api/generate/beat": {"genre": "trap", "bpm": 140, "duration": 4},
    "/api/generate/stems": {"audioFileId": "f" * 32, "stemTypes": ["drums"]},
    "/api/generate/mix": {"trackIds": ["a" * 32, "b" * 32]},
    "/api/generate/master": {"trackId": "c" * 32, "quality": "club"},
    "/api/chat": {"text": "make a trap beat"},
}

Case = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body

chars = st.characters(codec=None, categories=None)  # any code point, lone surrogates too
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.text(chars, max_size=40),
    st.sampled_from(["trap", "140", "Cm", "club", "f" * 32, "../../etc/passwd", "\x00", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(chars, max_size=8), inner, max_size=5)
    ),
    max_leaves=15,
)
objects = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(chars, max_size=10)), values, max_size=8
)


def dumps(value: Any) -> bytes:
    """JSON as a client would send it, lone surrogates escaped ("\\ud800") as JSON allows."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.integers(0, 5))
    if shape == 0:
        return dumps(draw(values))  # any JSON, mostly not an object
    if shape == 1:  # a good body with one field broken
        path = draw(st.sampled_from(POSTS))
        body = dict(GOOD[path])
        body[draw(st.sampled_from(sorted(body)))] = draw(values)
        return dumps(body)
    if shape == 2:  # valid JSON, cut short or with garbage in it
        raw = dumps(draw(objects))
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.binary(max_size=8))
    if shape == 3:
        return draw(st.binary(max_size=200))
    return dumps(draw(objects))


user_ids = st.one_of(
    st.text(string.ascii_letters + string.digits + "._@:-", min_size=1, max_size=64),
    st.text(chars, max_size=80),
    st.sampled_from(["", " ", "a" * 65, "a b", "../x", "user\x85", "ü", "admin;drop"]),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/octet-stream",
        "",
        "garbage/;;;",
    ]
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.integers(0, 9))
    headers = dict(AUTH)
    if draw(st.booleans()):
        headers["Content-Type"] = draw(content_types)
    if draw(st.integers(0, 2)) == 0:
        header = draw(user_ids)
        if _sendable(header):
            headers["x-user-id"] = header
    if kind <= 6:
        return ("POST", draw(st.sampled_from(POSTS)), headers, draw(json_bodies()))
    if kind == 7:  # uploads that are not multipart, or are broken multipart
        return ("POST", "/api/files", headers, draw(st.binary(max_size=300)))
    if kind == 8:
        query = draw(st.text(string.printable, max_size=30))
        return ("GET", "/api/history?limit=" + _quote(query), headers, b"")
    job = draw(st.text(string.printable, min_size=1, max_size=80))
    which = draw(st.sampled_from(["status", "result"]))
    return ("GET", f"/api/generate/{which}/{_quote(job)}", headers, b"")


def _sendable(text: str) -> bool:
    """What an HTTP client can put in a header: latin-1, no control characters."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def nasties() -> list[Case]:
    """Known ways JSON parsers and validators fall over."""
    deep = b"[" * 200_000 + b"]" * 200_000
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    found: list[Case] = []
    bodies = [
        deep[: MAX_JSON_BODY - 10],
        deep_object,
        b'{"genre": "trap", "bpm": ' + b"9" * 5000 + b"}",  # beyond int() digit limit
        b'{"genre": "trap", "bpm": 1e400}',
        b'{"genre": "trap", "bpm": NaN}',
        b'{"genre": "trap", "bpm": -Infinity}',
        b'{"genre": "trap\\u0000", "projectId": "\\u0000"}',
        b'{"genre": "trap", "projectId": "\\ud800"}',
        b'{"genre": "trap", "mood": "\\udfff\\ud800"}',
        b'{"text": "make a trap beat \\ud800", "thread": "t"}',
        b'{"text": "\\ud83d"}',
        b'{"audioFileId": "\\ud800", "stemTypes": ["drums"]}',
        b'{"trackIds": ["\\ud800", "\\udc00"]}',
        b'{"trackId": "x", "targetLoudness": "\\ud800"}',
        b'{"genre": "' + b"a" * 900_000 + b'"}',
        b'{"text": "' + b"trap " * 150_000 + b'"}',
        b'{"genre": "trap", "genre": "polka"}',
        b"\xef\xbb\xbf" + b'{"genre": "trap"}',  # a BOM
        b"\xff\xfe{\x00}\x00",  # UTF-16
        b'"just a string"',
        b"null",
        b"true",
        b"1" * 5000,
        b"{" * 10,
        b"\x00" * 100,
        b"   \n\t  ",
        b'{"genre": {"$gt": ""}}',
        b'{"__proto__": {"admin": true}, "genre": "trap"}',
        b'{"stemTypes": "drums", "audioFileId": "../../signing.key"}',
        b'{"trackIds": ' + json.dumps(["a" * 32] * 10_000).encode() + b"}",
        b'{"fileIds": ["../uploads"], "text": "stems"}',
        b'{"text": "hi", "generationId": "' + b"9" * 60 + b'"}',
        b'{"text": "hi", "thread": "../../x"}',
    ]
    for path in POSTS:
        for body in bodies:
            found.append(("POST", path, {**AUTH, "Content-Type": "application/json"}, body))
    over = b'{"genre": "' + b"a" * (MAX_JSON_BODY + 10) + b'"}'
    found += [("POST", path, dict(AUTH), over) for path in POSTS]
    for query in ("-1", "1e9", "99999999999999999999999", "NaN", "%00", "0x10", "", "½"):
        found.append(("GET", f"/api/history?limit={query}", dict(AUTH), b""))
    for since in ("x", "-1", "1-2-3", "%00", "9" * 40 + "-0", "1-" + "9" * 40, "$$", "0-0x"):
        found.append(("GET", f"/ws?since={since}", dict(AUTH), b""))
    for job in ("x", "%2e%2e", "%00", "f" * 70, "ABC", "0", "beat", "jobs"):
        found.append(("DELETE", f"/api/generate/{job}", dict(AUTH), b""))
        found.append(("POST", f"/api/generate/{job}/cancel", dict(AUTH), b"{}"))
    found.append(("GET", "/api/generate/jobs", {**AUTH, "x-user-id": "a b"}, b""))
    for header in ("", " ", "a" * 65, "a b", "..", "x/y", "é" * 10):
        found.append(("POST", "/api/generate/beat", {**AUTH, "x-user-id": header}, b"{}"))
    return found


def draw_cases(count: int) -> list[Case]:
    """`count` deterministic hypothesis examples (replayed in the event loop below)."""
    drawn: list[Case] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate]
    )
    @given(cases())
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    return drawn


async def send(api: TestClient, case: Case) -> tuple[int, Any]:
    method, path, headers, body = case
    response = await api.request(method, path, data=body or None, headers=headers)
    text = await response.text()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = text
    return response.status, payload


def check(case: Case, status: int, payload: Any) -> None:
    where = f"{case[0]} {case[1][:80]} headers={case[2]} body={case[3][:200]!r}"
    assert status < 500, f"{status} for {where}: {payload}"
    assert isinstance(payload, dict), f"not JSON for {where}: {payload!r}"[:500]
    if status >= 400:
        assert payload.get("success") is False, where
        error = payload.get("error")
        assert isinstance(error, str) and 3 <= len(error) <= 1000, (where, payload)
        assert "Traceback" not in error and "Error(" not in error, (where, error)
    else:
        assert payload.get("success") is True, (where, payload)


async def test_fuzz_api_malformed_bodies_and_headers_never_500(
    services: Services, aiohttp_client: Callable[..., Any]
) -> None:
    api: TestClient = await aiohttp_client(create_app(services, TOKEN))
    all_cases = nasties() + draw_cases(900)
    statuses: dict[int, int] = {}
    failures: list[str] = []
    for start in range(0, len(all_cases), 16):
        batch = all_cases[start : start + 16]
        results = await asyncio.gather(*(send(api, case) for case in batch))
        for case, (status, payload) in zip(batch, results, strict=True):
            statuses[status] = statuses.get(status, 0) + 1
            try:
                check(case, status, payload)
            except AssertionError as exc:
                failures.append(str(exc)[:600])
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:20])
    assert len(all_cases) >= 1000, len(all_cases)
    # The mix reached past the JSON parser into validation, lookups, limits and queueing.
    assert {400, 401, 404, 413} <= set(statuses) or {400, 404, 413} <= set(statuses), statuses
    assert statuses.get(400, 0) > len(all_cases) // 3, statuses
    print(f"{len(all_cases)} malformed requests: {dict(sorted(statuses.items()))}")
