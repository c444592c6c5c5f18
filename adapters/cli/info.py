"""`beatbot genres` and `beatbot doctor`: what BeatBot can do, and whether this machine can."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Literal

import click
from rich.console import Console
from rich.table import Table

from adapters.cli.common import with_settings
from bot.config import Secrets, Settings
from bot.connections import connect
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


def check_redis(settings: Settings, secrets: Secrets) -> Check:
    try:
        handle = connect(secrets.redis_url, settings.data_dir)
        client = handle.sync_client(socket_timeout=3, socket_connect_timeout=3)
        info = client.info("server")
        client.close()
    except UserError as exc:
        return Check("redis", "missing", str(exc))
    except Exception as exc:
        where = "REDIS_URL" if secrets.redis_url else "the embedded Redis"
        return Check(
            "redis",
            "missing",
            f"cannot reach {where}: {exc}",
            "start Redis and check REDIS_URL, or unset REDIS_URL to use the embedded one",
        )
    return Check("redis", "ok", f"{handle.describe()}, redis {info.get('redis_version', '?')}")


def check_chat(secrets: Secrets) -> list[Check]:
    checks = []
    if secrets.discord_token:
        checks.append(Check("discord", "ok", "DISCORD_TOKEN is set"))
    else:
        checks.append(Check("discord", "off", "not configured", "set DISCORD_TOKEN to enable"))
    if secrets.slack_bot_token and (secrets.slack_signing_secret or secrets.slack_app_token):
        mode = "Socket Mode" if secrets.slack_app_token else "HTTP events"
        checks.append(Check("slack", "ok", f"SLACK_BOT_TOKEN is set ({mode})"))
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
    if data_dir_ok or secrets.redis_url:
        checks.append(check_redis(settings, secrets))
    else:
        checks.append(Check("redis", "missing", "skipped: the data dir is not usable"))
    checks.extend(check_chat(secrets))
    return checks


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_settings
def doctor(as_json: bool, settings: Settings) -> None:
    """Check ffmpeg, Redis, the data dir and chat tokens; say what is missing and how to fix it."""
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
