"""The long-running and audio CLI commands as a person runs them: real processes, an embedded
Redis of their own (no REDIS_URL), real audio measured."""

from __future__ import annotations

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


def test_serve_runs_the_api_renders_a_beat_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*BEATBOT, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env_for(tmp_path / "data"),
    )
    try:
        assert server.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if line.startswith("Widget: "):
                break
        widget = lines[-1].split("Widget: ", 1)[1].strip()
        token = widget.split("token=", 1)[1]
        assert widget.startswith(f"http://127.0.0.1:{port}/?token=")
        assert token not in "".join(lines[:-1])  # printed once, for the person, never logged

        def call(path: str, body: dict | None = None) -> dict:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)

        queued = call("/api/generate/beat", {"genre": "house", "duration": 4})
        for _ in range(300):
            status = call(f"/api/generate/status/{queued['jobId']}")["status"]
            if status["state"] in ("completed", "failed"):
                break
            time.sleep(0.1)
        assert status["state"] == "completed", status
        url = status["result"]["audioUrl"]
        assert url.startswith(f"http://127.0.0.1:{port}/files/")  # links follow the port
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 10_000
    finally:
        server.send_signal(signal.SIGTERM)
        rest, _ = server.communicate(timeout=60)
    assert server.returncode == 0, rest[-2000:]
    assert "bye" in rest and "Traceback" not in rest
