"""`beatbot genres` and `beatbot doctor`: what BeatBot can do, and whether this machine can.

`doctor` checks the machine (data dir, ffmpeg), then the live system on its Redis: is a
worker alive (arq's `<queue>:health-check` key, refreshed every `queue.health_check_interval`
seconds by every running worker), how deep the queue is, and whether the chat adapters are
configured and reading the event stream (their consumer groups on `<prefix>:events`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Literal

import click
import redis
from arq.constants import health_check_key_suffix
from rich.console import Console
from rich.table import Table

from adapters.cli.common import with_settings
from bot import health, keys
from bot.config import Secrets, Settings
from bot.connections import RedisHandle, as_text, connect
from bot.errors import UserError
from engine.ffmpeg import INSTALL_HINT, ffmpeg_version, find_ffmpeg, has_mp3_encoder
from engine.genres import GENRES


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the genres as JSON.")
@with_settings
def genres(as_json: bool, settings: Settings) -> None:
    """List the 14 genres with their tempo range, moods and character."""
    if as_json:
        click.echo(json.dumps([genre.to_json() for genre in GENRES], indent=2))
        return
    table = Table(title="BeatBot genres")
    table.add_column("genre", style="bold")
    table.add_column("BPM")
    table.add_column("default")
    table.add_column("moods")
    table.add_column("sound")
    for genre in GENRES:
        low, high = genre.bpm_range
        table.add_row(
            genre.name,
            f"{low}-{high}",
            str(genre.default_bpm),
            ", ".join(genre.mood_options),
            genre.characteristics,
        )
    Console(width=max(120, Console().width)).print(table)


Status = Literal["ok", "missing", "off"]
_MARK = {"ok": "✓", "missing": "✗", "off": "–"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status  # "off" = optional and not configured, which is fine
    detail: str
    fix: str = ""


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".doctor-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "data dir",
            "missing",
            f"{path} is not writable ({exc.strerror})",
            "pick another with --data-dir or BEATBOT_STORAGE__DATA_DIR",
        )
    return Check("data dir", "ok", str(path))


def check_disk(settings: Settings) -> Check:
    """Clips and uploads against `storage.max_gb` (the worker prunes to it, oldest first)."""
    from bot.disk import budget_bytes, usage

    used = usage(settings.data_dir, budget_bytes(settings))
    if used.over:
        return Check(
            "disk",
            "missing",
            f"{used.describe()} (over storage.max_gb)",
            "start a worker (it removes the oldest clips first) or raise storage.max_gb",
        )
    return Check("disk", "ok", used.describe())


def check_ffmpeg() -> Check:
    path = find_ffmpeg()
    if path is None:
        return Check("ffmpeg", "missing", "not found (WAV works, MP3/M4A do not)", INSTALL_HINT)
    detail = f"{path} ({ffmpeg_version(path)})"
    if not has_mp3_encoder(path):
        return Check(
            "ffmpeg",
            "missing",
            f"{detail} has no MP3 encoder",
            "install an ffmpeg built with libmp3lame (e.g. apt-get install ffmpeg)",
        )
    return Check("ffmpeg", "ok", detail)


def check_redis(settings: Settings, secrets: Secrets) -> tuple[Check, RedisHandle | None]:
    """Can we reach Redis? Returns the handle too, for the live checks that follow."""
    try:
        handle = connect(secrets.redis_url, settings.data_dir)
        client = handle.sync_client(socket_timeout=3, socket_connect_timeout=3)
        info = client.info("server")
        client.close()
    except UserError as exc:
        return Check("redis", "missing", str(exc)), None
    except Exception as exc:
        where = "REDIS_URL" if secrets.redis_url else "the embedded Redis"
        return (
            Check(
                "redis",
                "missing",
                f"cannot reach {where}: {exc}",
                "start Redis and check REDIS_URL, or unset REDIS_URL to use the embedded one",
            ),
            None,
        )
    version = info.get("redis_version", "?")
    return Check("redis", "ok", f"{handle.describe()}, redis {version}"), handle


START_WORKER = "start one with `beatbot worker` (or `beatbot serve`, which runs one)"


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    running: int
    deferred: int  # waiting for a retry's backoff to pass
    completed: int
    failed: int


def queue_depth(client: redis.Redis, prefix: str) -> QueueDepth:
    """The same counts as `JobQueue.stats`, read with a plain client."""
    queue = keys.queue(prefix)
    now_ms = int(time.time() * 1000)
    with client.pipeline(transaction=False) as pipe:
        pipe.zcard(queue)
        pipe.zcount(queue, now_ms + 1, "+inf")
        pipe.scard(keys.active_jobs(prefix))
        pipe.get(keys.counter(prefix, "completed"))
        pipe.get(keys.counter(prefix, "failed"))
        queued, deferred, running, completed, failed = pipe.execute()
    # arq keeps a running job in its queue until it finishes: count it once, as running.
    waiting = max(0, int(queued) - int(running) - int(deferred))
    return QueueDepth(waiting, int(running), int(deferred), int(completed or 0), int(failed or 0))


def check_queue(depth: QueueDepth, prefix: str) -> Check:
    detail = (
        f"{keys.queue(prefix)}: {depth.waiting} waiting, {depth.running} running, "
        f"{depth.deferred} waiting to retry; {depth.completed} done, {depth.failed} failed"
    )
    return Check("queue", "ok", detail)


def check_workers(client: redis.Redis, settings: Settings, depth: QueueDepth) -> Check:
    """arq's health-check key: every live worker rewrites it, expiring after the interval."""
    key = keys.queue(settings.queue.key_prefix) + health_check_key_suffix
    interval = settings.queue.health_check_interval
    with client.pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.pttl(key)
        report, ttl_ms = pipe.execute()
    if report:
        text = report.decode(errors="replace")
        counts = text[text.find("j_complete=") :] if "j_complete=" in text else text
        age = max(0.0, interval + 1 - max(0, int(ttl_ms)) / 1000)
        return Check("workers", "ok", f"alive: reported {age:.0f} s ago ({counts})")
    backlog = depth.waiting + depth.deferred + depth.running
    if backlog:
        return Check(
            "workers",
            "missing",
            f"no worker has reported in the last {interval + 1:g} s and {backlog} "
            f"job{'s' * (backlog != 1)} {'are' if backlog != 1 else 'is'} waiting on "
            f"{keys.queue(settings.queue.key_prefix)}",
            START_WORKER,
        )
    return Check(
        "workers",
        "off",
        f"none running (no report in the last {interval + 1:g} s); jobs wait until one starts",
        START_WORKER,
    )


@dataclass(frozen=True)
class Reader:
    """A chat adapter's consumer group on the event stream."""

    behind: int | None  # entries it has not read yet (None: Redis < 7 doesn't say)
    unacknowledged: int  # read but not yet handled
    last_consumer: str | None  # who was last handed an event, and how long ago
    last_delivery_ms: int | None
    running: str | None = None  # the consumer whose delivery loop is beating now


def adapter_readers(client: redis.Redis, prefix: str) -> dict[str, Reader]:
    """Consumer group name -> how far it has read; empty when there is no stream yet.

    Redis only records when a consumer was last *handed* an event (an empty read doesn't
    count before Redis 7.2); whether an adapter runs now comes from the heartbeat key its
    delivery loop refreshes (`EventConsumer.heartbeat`).
    """
    stream = keys.events(prefix)
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream: nothing has run here yet
        return {}
    readers: dict[str, Reader] = {}
    for group in groups:
        name = as_text(group["name"], "replace")
        consumers = client.xinfo_consumers(stream, name)
        freshest = min(consumers, key=lambda c: int(c.get("idle", 0)), default=None)
        lag = group.get("lag")
        running = client.get(keys.consumer_alive(prefix, name))
        readers[name] = Reader(
            behind=None if lag is None else int(lag),
            unacknowledged=int(group.get("pending", 0)),
            last_consumer=as_text(freshest["name"], "replace") if freshest else None,
            last_delivery_ms=int(freshest.get("idle", 0)) if freshest else None,
            running=as_text(running, "replace") if running else None,
        )
    return readers


def _reading(readers: dict[str, Reader] | None, group: str) -> str:
    """How far the adapter has read the event stream, as a clause for the check's detail."""
    if readers is None:
        return ""
    reader = readers.get(group)
    if reader is None:
        return "; has not read events from this Redis yet (`beatbot serve` starts it)"
    parts = [f"running ({reader.running})" if reader.running else "not running now"]
    if reader.behind is not None:
        parts.append(f"{reader.behind} event{'s' * (reader.behind != 1)} behind")
    parts.append(f"{reader.unacknowledged} unacknowledged")
    if reader.last_consumer is not None and reader.last_delivery_ms is not None:
        parts.append(
            f"last event went to {reader.last_consumer} {reader.last_delivery_ms / 1000:.0f} s ago"
        )
    return "; event stream: " + ", ".join(parts)


def adapter_failures(handle: RedisHandle, prefix: str) -> dict[str, str]:
    """Chat adapter -> why it stopped at its last start (a refused token, a missing intent)."""
    client = handle.sync_client(socket_timeout=3, socket_connect_timeout=3)
    try:
        found = {p: health.read_sync(client, prefix, p) for p in health.PLATFORMS}
    except redis.RedisError:
        return {}
    finally:
        client.close()
    return {p: h.error for p, h in found.items() if h is not None and not h.ok}


def check_chat(
    secrets: Secrets,
    readers: dict[str, tuple[str, int]] | None = None,
    failures: dict[str, str] | None = None,
) -> list[Check]:
    """Which chat adapters are configured; with `readers` (from `adapter_readers`), whether
    a running BeatBot has them reading the event stream; with `failures`, which one could not
    start, and the fix."""
    checks = []
    failures = failures or {}
    if secrets.discord_token and failures.get("discord"):
        checks.append(Check("discord", "missing", failures["discord"]))
    elif secrets.discord_token:
        checks.append(Check("discord", "ok", "DISCORD_TOKEN is set" + _reading(readers, "discord")))
    else:
        checks.append(Check("discord", "off", "not configured", "set DISCORD_TOKEN to enable"))
    if secrets.slack_bot_token and failures.get("slack"):
        checks.append(Check("slack", "missing", failures["slack"]))
    elif secrets.slack_bot_token and (secrets.slack_signing_secret or secrets.slack_app_token):
        mode = "Socket Mode" if secrets.slack_app_token else "HTTP events"
        detail = f"SLACK_BOT_TOKEN is set ({mode})" + _reading(readers, "slack")
        checks.append(Check("slack", "ok", detail))
    elif secrets.slack_bot_token:
        checks.append(
            Check(
                "slack",
                "missing",
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN",
                "set SLACK_SIGNING_SECRET (HTTP events) or SLACK_APP_TOKEN (Socket Mode)",
            )
        )
    else:
        checks.append(
            Check("slack", "off", "not configured", "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        )
    if secrets.api_token:
        checks.append(Check("daw api", "ok", "BEATBOT_API_TOKEN is set"))
    else:
        checks.append(
            Check(
                "daw api",
                "off",
                "no BEATBOT_API_TOKEN: `beatbot serve` will generate one and print it",
            )
        )
    return checks


def run_checks(settings: Settings, secrets: Secrets) -> list[Check]:
    checks = [check_data_dir(settings), check_ffmpeg()]
    data_dir_ok = checks[0].status == "ok"
    if data_dir_ok:
        checks.insert(1, check_disk(settings))
    handle: RedisHandle | None = None
    if data_dir_ok or secrets.redis_url:
        redis_check, handle = check_redis(settings, secrets)
        checks.append(redis_check)
    else:
        checks.append(Check("redis", "missing", "skipped: the data dir is not usable"))
    readers: dict[str, Reader] | None = None
    if handle is not None:
        live, readers = live_checks(settings, handle)
        checks.extend(live)
    else:
        checks.append(Check("workers", "missing", "skipped: Redis is not reachable"))
    failures = adapter_failures(handle, settings.queue.key_prefix) if handle else {}
    checks.extend(check_chat(secrets, readers, failures))
    return checks


def live_checks(
    settings: Settings, handle: RedisHandle
) -> tuple[list[Check], dict[str, Reader] | None]:
    """Workers and queue depth, plus who reads the event stream (for the chat checks)."""
    prefix = settings.queue.key_prefix
    client = handle.sync_client(socket_timeout=3, socket_connect_timeout=3)
    try:
        depth = queue_depth(client, prefix)
        checks = [check_workers(client, settings, depth), check_queue(depth, prefix)]
        return checks, adapter_readers(client, prefix)
    except redis.RedisError as exc:
        return [Check("workers", "missing", f"could not read the queue: {exc}")], None
    finally:
        client.close()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_settings
def doctor(as_json: bool, settings: Settings) -> None:
    """Check ffmpeg, the data dir, Redis, live workers, the queue and the chat adapters; say
    what is missing and how to fix it."""
    checks = run_checks(settings, Secrets.from_env(os.environ))
    healthy = all(check.status != "missing" for check in checks)
    if as_json:
        click.echo(json.dumps({"ok": healthy, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for check in checks:
            line = f"{_MARK[check.status]} {check.name:<9} {check.detail}"
            if check.fix and check.status != "ok":
                line += f"\n            fix: {check.fix}"
            click.echo(line)
        click.echo("all good" if healthy else "some checks failed: see the fixes above")
    raise SystemExit(0 if healthy else 1)
