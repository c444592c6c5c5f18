"""`beatbot worker` and `beatbot serve`: the long-running processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine
from typing import IO, Any

import click
from aiohttp import web
from prometheus_client import start_http_server

from adapters.cli.common import ensure_data_dir, with_settings
from bot.config import Secrets, Settings
from bot.connections import connect
from bot.errors import ConfigError
from bot.services import Services
from bot.tasks import JOB_LOG_FIELDS, JobLogFilter
from bot.worker import build_worker
from bot.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)

LOG_FORMATS = ("text", "json")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Short names in text lines so `grep job=3f9a2c1b` finds every line of one job.
_TEXT_TAGS = {"job_id": "job", "generation_id": "gen", "job_type": "type", "job_try": "try"}


class TextFormatter(logging.Formatter):
    """The classic line, plus `[job=… gen=… type=… try=…]` when logged while a job runs."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = [
            f"{_TEXT_TAGS[name]}={getattr(record, name)}"
            for name in JOB_LOG_FIELDS
            if getattr(record, name, None) is not None
        ]
        if not tags:
            return line
        first, newline, rest = line.partition("\n")  # keep tracebacks below the tagged line
        return f"{first} [{' '.join(tags)}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers: time, level, logger, message, the job's
    ids when logged inside a job, and the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_handler(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A handler that tags lines with the running job's ids, as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(JobLogFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def _configure_logging(verbose: bool, log_format: str = "text") -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        handlers=[log_handler(log_format)],
        force=True,
    )


_log_format_option = click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    help="text lines, or one JSON object per line (job lines carry job_id, generation_id).",
)


@click.command()
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT/metrics.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@_log_format_option
@with_settings
def worker(
    burst: bool, metrics_port: int | None, verbose: bool, log_format: str, settings: Settings
) -> None:
    """Run an arq worker on REDIS_URL (or the data dir's embedded Redis). Start more to scale."""
    _configure_logging(verbose, log_format)
    ensure_data_dir(settings)
    secrets = Secrets.from_env(os.environ)
    handle = connect(secrets.redis_url, settings.data_dir)
    metrics = WorkerMetrics()
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
        click.echo(f"worker metrics on http://127.0.0.1:{metrics_port}/metrics")
    click.echo(f"worker on {handle.describe()}, queue {settings.queue.key_prefix}:queue")
    # arq handles SIGINT/SIGTERM itself: running renders finish, then it exits.
    build_worker(settings, secrets, handle, burst=burst, metrics=metrics).run()


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: config daw.host].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="[default: 8765]")
@click.option("--no-worker", is_flag=True, help="Only the adapters; workers run elsewhere.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@_log_format_option
@with_settings
def serve(
    host: str | None,
    port: int | None,
    no_worker: bool,
    verbose: bool,
    log_format: str,
    settings: Settings,
) -> None:
    """Run BeatBot: the DAW API, WebSocket and widget, a worker, and Discord/Slack when their
    tokens are set. Redis is embedded unless REDIS_URL is set."""
    _configure_logging(verbose, log_format)
    ensure_data_dir(settings)
    host = host or settings.daw.host
    port = settings.daw.port if port is None else port
    asyncio.run(_serve(_links_follow(settings, host, port), host, port, with_worker=not no_worker))


def _reachable_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the server (a wildcard bind means loopback)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def _links_follow(settings: Settings, host: str, port: int) -> Settings:
    """Signed links point at this server unless storage.public_url was set on purpose."""
    default = f"http://{settings.daw.host}:{settings.daw.port}"
    if settings.storage.public_url.rstrip("/") != default:
        return settings
    storage = settings.storage.model_copy(update={"public_url": _reachable_url(host, port)})
    return settings.model_copy(update={"storage": storage})


async def _serve(settings: Settings, host: str, port: int, *, with_worker: bool) -> None:
    from adapters.cli.runtime import running_services
    from adapters.daw_server import api_token_for, create_app, run_site

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_services(settings, with_worker=with_worker, drain=30.0) as services:
        token, generated = api_token_for(services)
        app = create_app(services, token)
        chat_tasks = _start_chat_adapters(services, app, stop)
        runner = await run_site(app, host, port)
        click.echo(
            f"BeatBot on http://{host}:{port} (Redis: {services.handle.describe()}, "
            f"worker: {'on' if with_worker else 'off'})"
        )
        if generated:
            click.echo("API token (kept in the data dir): set BEATBOT_API_TOKEN to choose one.")
        click.echo(f"Widget: {_reachable_url(host, port)}/?token={token}")
        await stop.wait()
        click.echo("shutting down: letting running jobs finish…")
        await asyncio.gather(*chat_tasks, return_exceptions=True)
        await runner.cleanup()
    click.echo("bye")


def _start_chat_adapters(
    services: Services, app: web.Application, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """Discord and Slack run only when their tokens are set; one that can't start says why
    and the rest keeps running."""
    from adapters.chat_common import loopback_links_warning

    tasks = []
    if services.secrets.discord_token is not None:
        from adapters.discord.app import run_discord

        tasks.append(_chat_task("Discord", run_discord(services, stop)))
        click.echo("Discord: starting")
    if services.secrets.slack_bot_token is not None:
        from adapters.slack.app import SlackAdapter, slack_enabled

        if slack_enabled(services.secrets):
            slack = SlackAdapter(services)
            slack.add_routes(app)
            tasks.append(_chat_task("Slack", slack.run(stop)))
            click.echo("Slack: starting")
        else:
            click.echo(
                "Slack: SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET nor "
                "SLACK_APP_TOKEN; not starting it."
            )
    warning = loopback_links_warning(
        services.settings.storage.public_url, [t.get_name() for t in tasks]
    )
    if warning:
        click.echo(warning, err=True)
    return tasks


def _chat_task(name: str, running: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    async def guarded() -> None:
        try:
            await running
        except ConfigError as exc:  # a wrong token or a missing intent: the fix, in a sentence
            click.echo(f"{name} stopped: {exc}", err=True)
        except Exception:
            log.exception("%s stopped", name)
            click.echo(f"{name} stopped: see the log above; the rest keeps running.", err=True)

    return asyncio.create_task(guarded(), name=name)
