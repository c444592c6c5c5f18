"""/files serves only what a signed link names, inside clips/ and uploads/, until it expires.

Requests go over a raw socket to a real server, so paths reach it exactly as written (an HTTP
client would normalise `..` away before sending). Even a correctly signed link to a path
outside the served folders is refused, and no answer ever carries a secret file's bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np
import soundfile as sf
from aiohttp.test_utils import TestServer

from adapters.daw_server import api_token_for, create_app
from bot.services import Services

TOKEN = "files-security-token-0123456789"


def wav_bytes() -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros((4410, 2), dtype=np.float32) + 0.1, 44100, format="WAV")
    return out.getvalue()


async def raw_get(server: TestServer, target: str) -> tuple[int, bytes]:
    """GET `target` byte for byte (no client-side normalisation); (status, body)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        request = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("latin-1", "surrogateescape"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def signed(services: Services, rel: str, ttl: int = 600) -> str:
    """A link with a valid signature for `rel`, whatever it is (as if the key had leaked
    into a bug that signs anything): the path checks alone must refuse it."""
    import time

    exp = int(time.time()) + ttl
    return f"/files/{rel}?exp={exp}&sig={services.store._signature(rel, exp)}"


async def test_security_files_traversal_tampering_and_expiry_are_refused(
    services: Services, aiohttp_server: Callable[..., Any]
) -> None:
    store = services.store
    token, _ = api_token_for(services)  # writes api.token into the data dir, as serve does
    server = await aiohttp_server(create_app(services, TOKEN))
    upload = await store.save_upload(wav_bytes(), "song.wav")
    good = urlsplit(store.sign(store.relative(upload.path)))
    good_target = f"{good.path}?{good.query}"
    status, body = await raw_get(server, good_target)
    assert status == 200 and body == upload.path.read_bytes()

    root = store.root
    secrets = {
        "signing.key": (root / "signing.key").read_bytes(),
        "api.token": token.encode(),
        "/etc/passwd": Path("/etc/passwd").read_bytes()[:64],
    }
    redis_dir = root / "redis"
    redis_dir.mkdir(exist_ok=True)
    (redis_dir / "dump.rdb").write_bytes(b"REDIS0011-secret-dump")
    secrets["dump.rdb"] = b"REDIS0011-secret-dump"
    # Links planted inside the served folders that lead out of them.
    folder = upload.path.parent
    for name, target in (
        ("key.wav", root / "signing.key"),
        ("token.wav", root / "api.token"),
        ("passwd.wav", Path("/etc/passwd")),
        ("redis", redis_dir),
    ):
        os.symlink(target, folder / name)
    os.symlink(root, store.clips / "rootlink")
    os.symlink(redis_dir, store.uploads / "redislink")
    (store.staging_root / "job.1234").mkdir()
    (store.staging_root / "job.1234" / "beat.wav").write_bytes(b"half-written")
    secrets["staging"] = b"half-written"

    uid = upload.file_id
    paths = [
        "signing.key", "api.token", "redis/dump.rdb", "staging/job.1234/beat.wav",
        "uploads/../signing.key", f"uploads/{uid}/../../signing.key",
        f"uploads/{uid}/%2e%2e/%2e%2e/signing.key", "uploads/%2E%2E/api.token",
        "uploads/%2e%2e%2fsigning.key", "uploads/..%2fsigning.key", "clips/..%5csigning.key",
        "%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd", "uploads//etc/passwd",
        f"uploads/{uid}/key.wav", f"uploads/{uid}/token.wav", f"uploads/{uid}/passwd.wav",
        f"uploads/{uid}/redis/dump.rdb", "clips/rootlink/signing.key", "clips/rootlink/api.token",
        "uploads/redislink/dump.rdb", f"uploads/{uid}/.upload.json",
        f"uploads/{uid}/song.wav%00.txt", f"uploads/{uid}/song.wav\x00", "uploads/%00/x",
        f"uploads/{uid}/song.wav/", f"uploads/{uid}/./song.wav", f"uploads/{uid}",
        "uploads", "clips/", f"UPLOADS/{uid}/song.wav", f"uploads\\{uid}\\song.wav",
        f"uploads/{uid}/song.wav;.txt", f"staging/../uploads/{uid}/song.wav",
        "uploads/" + "a" * 300 + "/x.wav", "uploads/" + "a/" * 300 + "x.wav",
    ]  # fmt: skip
    targets: list[str] = []
    for path in paths:
        targets.append(signed(services, path))  # valid signature, forbidden place
        targets.append(f"/files/{path}?exp=9999999999&sig=AAAA")
        targets.append(f"/files/{path}")
    rel = store.relative(upload.path)
    exp, sig = good.query.split("&")
    sig_value = sig.split("=", 1)[1]
    tampered = [
        good_target.replace("sig=", "sig=x"),
        good_target[:-1] + ("A" if good_target[-1] != "A" else "B"),
        f"{good.path}?{exp}",
        f"{good.path}?{sig}",
        f"{good.path}?exp=9999999999&{sig}",  # a later expiry under the old signature
        f"{good.path}?exp={int(exp.split('=')[1]) + 1}&{sig}",
        f"{good.path}?{exp}&sig={sig_value}=",
        f"{good.path}?{exp}&sig={sig_value.upper()}",
        f"{good.path}?{exp}&sig=x&sig={sig_value}",
        f"{good.path}?exp=%D9%A1%D9%A2&{sig}",  # Arabic-Indic digits
        f"{good.path}?exp={'9' * 5000}&{sig}",
        f"{good.path}?exp=-1&{sig}",
        f"{good.path}?exp=1e10&{sig}",
        f"{good.path}?exp=&sig=",
        f"{good.path}?{exp}&sig=%FF%FE",
        f"/files/{quote(rel.replace('song', 'other'))}?{good.query}",  # signature of another file
        signed(services, rel, ttl=-5),  # expired, but otherwise perfect
        signed(services, rel, ttl=-86400 * 365),
    ]
    targets += tampered

    results = await asyncio.gather(*(raw_get(server, t) for t in targets))
    failures = []
    for target, (status, body) in zip(targets, results, strict=True):
        leaked = [name for name, secret in secrets.items() if secret and secret in body]
        if status not in (400, 403, 404) or leaked:
            failures.append(f"{target[:120]!r}: {status} {body[:120]!r} leaked={leaked}")
            continue
        if status != 400:  # 400s for unparsable request lines come from aiohttp itself
            payload = json.loads(body)
            assert payload["success"] is False and len(payload["error"]) > 10, payload
    assert not failures, "\n".join(failures)
    expired = await raw_get(server, signed(services, rel, ttl=-5))
    assert expired[0] == 403 and b"expired" in expired[1]
    assert (await raw_get(server, good_target))[0] == 200  # still fine after all that
