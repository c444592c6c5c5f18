"""The long-running and audio CLI commands as a person runs them: real processes, an embedded
Redis of their own (no REDIS_URL), real audio measured."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audio_fixtures import write_tone
from tests.net import free_port

BEATBOT = [sys.executable, "-m", "adapters.cli"]
ROOT = Path(__file__).resolve().parents[1]


def env_for(data_dir: Path) -> dict[str, str]:
    """The person's environment without REDIS_URL: the command starts its own Redis."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("BEATBOT_")}
    env["BEATBOT_STORAGE__DATA_DIR"] = str(data_dir)
    return env


def run(*args: str, data_dir: Path, stdin: str | None = None, timeout: float = 120):
    return subprocess.run(
        [*BEATBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env_for(data_dir),
    )


def test_chat_reads_stdin_makes_a_beat_and_follows_up(tmp_path: Path) -> None:
    done = run(
        "chat",
        "--user",
        "ada",
        data_dir=tmp_path / "data",
        stdin="make a chill lofi beat at 80 for 4 seconds\nmake it faster\n",
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in out + done.stderr
    assert len(re.findall(r"^On it: ", out, re.M)) == 2, out
    assert re.search(r"^\s*\d+% ", out, re.M), "progress lines are printed when piped"
    # The two jobs render side by side, so their results may land in either order.
    tempos = sorted(float(bpm) for bpm in re.findall(r"^✓ .*?(\d+(?:\.\d+)?) BPM", out, re.M))
    assert len(tempos) == 2 and tempos[0] == 80 and tempos[1] > 80, out
    beats = [Path(p) for p in re.findall(r"^  Beat \(\w+\): (\S+)$", out, re.M)]
    assert len(beats) == 2 and all(p.is_absolute() and p.stat().st_size > 10_000 for p in beats)


def test_stems_and_mix_commands_write_measurable_audio(tmp_path: Path) -> None:
    song = write_tone(tmp_path / "song.wav", seconds=5.0)
    pad = write_tone(tmp_path / "pad.wav", seconds=5.0, level=0.05)
    data = tmp_path / "data"

    done = run(
        "stems", str(song), "-o", str(tmp_path / "stems"), "--types", "drums,bass", data_dir=data
    )
    assert done.returncode == 0, done.stderr
    stems = {p.stem: sf.read(p)[0] for p in (tmp_path / "stems").glob("*.wav")}
    assert set(stems) == {"drums", "bass", "rest"}
    original, _ = sf.read(song)
    assert np.allclose(sum(stems.values()), original, atol=1e-3)  # they add back up to IN

    done = run(
        "mix",
        str(song),
        str(pad),
        "-o",
        str(tmp_path / "mix.wav"),
        "--profile",
        "warm",
        data_dir=data,
    )
    assert done.returncode == 0, done.stderr
    mix, sr = sf.read(tmp_path / "mix.wav")
    assert sr == 44100 and len(mix) / sr == pytest.approx(5.0, abs=0.05)
    assert np.abs(mix).max() > 0.05


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["stems", "missing.wav", "-o", "out"], "missing.wav"),
        (["stems", "{notes}", "-o", "out"], "notes.txt"),
        (["mix", "{song}", "-o", "mix.wav"], "at least two tracks"),
        (["stems", "{song}", "-o", "out", "--types", "guitar"], "guitar"),
    ],
)
def test_stems_and_mix_bad_input_is_one_friendly_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    song = write_tone(tmp_path / "song.wav", seconds=2.0)
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio")
    filled = [a.format(song=song, notes=notes) for a in args]
    done = run(*filled, data_dir=tmp_path / "data")
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr


class Serve:
    """`beatbot serve` in a real process on a free port, with its own embedded Redis."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*BEATBOT, "serve", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env_for(data_dir),
        )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            self.lines.append(line)
            if line.startswith("Widget: ") or (not line and self.proc.poll() is not None):
                break
        assert self.lines[-1].startswith("Widget: "), "".join(self.lines)[-2000:]
        self.widget = self.lines[-1].split("Widget: ", 1)[1].strip()
        self.token = self.widget.split("token=", 1)[1]

    def call(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def terminate(self, timeout: float) -> tuple[float, str]:
        """SIGTERM; (seconds until it exited, what it printed after the start)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rest, _ = self.proc.communicate(timeout=timeout)
        return time.monotonic() - started, rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)


def redis_servers_of(data_dir: Path) -> list[int]:
    """redis-server processes working in this data dir (the embedded Redis runs there)."""
    import psutil

    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        cwd = process.info.get("cwd") or ""
        running = process.info.get("status") != psutil.STATUS_ZOMBIE
        if "redis-server" in (process.info.get("name") or "") and cwd.startswith(str(data_dir)):
            found.extend([process.pid] if running else [])
    return found


def wait_for_worker(data_dir: Path) -> None:
    """Until serve's in-process worker beats (it has started), read from its own Redis."""
    import redis

    client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
    try:
        for _ in range(300):
            if client.keys("beatbot:worker:*"):
                return
            time.sleep(0.1)
    finally:
        client.close()
    raise AssertionError("serve's worker never started beating")


def test_serve_runs_the_api_renders_a_beat_and_stops_cleanly(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data")
    try:
        assert server.widget.startswith(f"http://127.0.0.1:{server.port}/?token=")
        assert server.token not in "".join(server.lines[:-1])  # printed once, never logged
        queued = server.call("/api/generate/beat", {"genre": "house", "duration": 4})
        for _ in range(300):
            status = server.call(f"/api/generate/status/{queued['jobId']}")["status"]
            if status["state"] in ("completed", "failed"):
                break
            time.sleep(0.1)
        assert status["state"] == "completed", status
        url = status["result"]["audioUrl"]
        assert url.startswith(f"http://127.0.0.1:{server.port}/files/")  # links follow the port
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 10_000
        _took, rest = server.terminate(60)
    finally:
        server.kill()
    assert server.proc.returncode == 0, rest[-2000:]
    assert "bye" in rest and "Traceback" not in rest


@pytest.mark.parametrize("state", ["starting", "idle", "mid-job", "websocket"])
async def test_serve_exits_within_the_drain_time_on_sigterm(tmp_path: Path, state: str) -> None:
    """SIGTERM ends `serve` within its drain time whatever it is doing: starting, idle,
    rendering (the job may finish first), or with a DAW's WebSocket open (told the server is
    going away); with a clean exit code, and its embedded Redis stopped with it."""
    import aiohttp

    from adapters.cli.service import DRAIN_SECONDS

    data_dir = tmp_path / "data"
    server = await asyncio.to_thread(Serve, data_dir)
    session = aiohttp.ClientSession()
    try:
        assert redis_servers_of(data_dir), "serve should run its own embedded Redis"
        if state != "starting":  # (else SIGTERM lands while its worker may still be starting)
            await asyncio.to_thread(wait_for_worker, data_dir)
        ws = None
        if state == "mid-job":
            queued = server.call("/api/generate/beat", {"genre": "trap", "duration": 60})
            for _ in range(600):
                status = server.call(f"/api/generate/status/{queued['jobId']}")["status"]
                if status["state"] == "active" and status["progress"] > 0:
                    break
                await asyncio.sleep(0.05)
            assert status["state"] == "active", status
        if state == "websocket":
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{server.port}/ws?token={server.token}&user=ada"
            )
        # A DAW keeps reading its socket: it sees the server's goodbye and answers it.
        heard = asyncio.create_task(ws.receive()) if ws is not None else None
        took, rest = await asyncio.to_thread(server.terminate, DRAIN_SECONDS + 30)
        if ws is not None and heard is not None:
            message = await asyncio.wait_for(heard, 5)
            assert message.type is aiohttp.WSMsgType.CLOSE, message
            assert message.data == aiohttp.WSCloseCode.GOING_AWAY, message
    finally:
        await session.close()
        await asyncio.to_thread(server.kill)
    assert took < DRAIN_SECONDS, f"{state}: exited {took:.1f} s after SIGTERM"
    assert server.proc.returncode == 0, rest[-2000:]
    assert "bye" in rest and "Traceback" not in rest
    if state == "mid-job":  # the drain let the running render finish and commit
        assert (data_dir / "clips" / queued["generationId"] / ".summary.json").is_file()
    assert not redis_servers_of(data_dir), f"serve left its embedded Redis running: {rest}"
