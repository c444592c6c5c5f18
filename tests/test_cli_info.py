"""`beatbot --version`, `genres` and `doctor`, run as a person would: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot import __version__


def beatbot(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        **kw,
    )


def test_version() -> None:
    out = beatbot("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_genres_json_lists_the_fourteen(tmp_path: Path) -> None:
    out = beatbot("genres", "--json", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    genres = json.loads(out.stdout)
    assert [g["name"] for g in genres][:3] == ["trap", "lo-fi", "boom bap"]
    assert len(genres) == 14
    trap = genres[0]
    assert trap["bpmRange"] == [140, 160] and trap["defaultBpm"] == 150


def test_genres_table_mentions_every_genre(tmp_path: Path) -> None:
    out = beatbot("genres", "--data-dir", str(tmp_path))
    assert out.returncode == 0
    for name in ("trap", "drum and bass", "r&b", "rock"):
        assert name in out.stdout


def test_doctor_all_good_with_embedded_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "doctor", "--json", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    report = json.loads(out.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["redis"]["status"] == "ok", checks["redis"]
    assert "embedded" in checks["redis"]["detail"]
    assert checks["data dir"]["status"] == "ok"
    assert checks["ffmpeg"]["status"] == "ok", "install ffmpeg: apt-get install ffmpeg"
    assert checks["discord"]["status"] == "off"
    assert out.returncode == 0 and report["ok"] is True


def test_doctor_explains_unreachable_redis_and_bad_slack_config(tmp_path: Path) -> None:
    out = beatbot(
        "doctor",
        "--data-dir",
        str(tmp_path),
        env={"REDIS_URL": "redis://127.0.0.1:1/0", "SLACK_BOT_TOKEN": "xoxb-not-shown"},
    )
    assert out.returncode == 1
    assert "✗ redis" in out.stdout and "REDIS_URL" in out.stdout
    assert "✗ slack" in out.stdout and "SLACK_SIGNING_SECRET" in out.stdout
    assert "xoxb-not-shown" not in out.stdout + out.stderr


def test_doctor_reports_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    out = beatbot("doctor", "--data-dir", str(blocker / "data"))
    assert out.returncode == 1
    assert "✗ data dir" in out.stdout and "--data-dir" in out.stdout


def test_bad_config_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = beatbot("genres", "--data-dir", str(tmp_path), env={"BEATBOT_QUEUE__MAX_JOBS": "many"})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "queue.max_jobs" in out.stderr
    assert "Traceback" not in out.stderr
