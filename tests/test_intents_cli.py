"""`beatbot parse` as a real process: TEXT, stdin line by line, and talking to it interactively."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.intents import parse


def beatbot() -> list[str]:
    """The installed console script, or the same entry point through the interpreter."""
    script = shutil.which("beatbot")
    return [script] if script else [sys.executable, "-m", "adapters.cli"]


def run(
    args: list[str], stdin: bytes = b"", tmp_path: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if tmp_path is not None:
        env["BEATBOT_STORAGE__DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [*beatbot(), "parse", *args], input=stdin, capture_output=True, timeout=60, env=env
    )


def test_text_argument_prints_one_json_line(tmp_path: Path) -> None:
    done = run(["make", "a", "dark trap beat", "at 140 in F#m"], tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "intent": "generate",
            "params": {"genre": "trap", "bpm": 140, "key": "F#m", "mood": "dark"},
            "adjust": {},
        }
    ]
    assert done.stderr == b""


def test_the_fields_issue_20_added_are_printed_only_when_present(tmp_path: Path) -> None:
    messages = ["uk garage at one thirty", "surprise me", "20% faster",
                "techno 130 mastered at -9 LUFS, mix it warm", "Drill. 144."]  # fmt: skip
    done = run([], ("\n".join(messages) + "\n").encode(), tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert [json.loads(line) for line in done.stdout.decode().splitlines()] == [
        {
            "intent": "generate",
            "params": {"bpm": 130},
            "adjust": {},
            "suggestion": {"genre": "house", "asked": "uk garage", "exact": False},
        },
        {"intent": "generate", "params": {}, "adjust": {}, "surprise": True},
        {"intent": "refine", "params": {}, "adjust": {"bpm_percent": 20}},
        {
            "intent": "generate",
            "params": {"genre": "techno", "bpm": 130, "mix_profile": "warm", "target_lufs": -9},
            "adjust": {},
        },
        {"intent": "generate", "params": {"genre": "drill", "bpm": 144}, "adjust": {}},
    ]


def test_stdin_gives_one_line_per_line_in_order(tmp_path: Path) -> None:
    messages = [
        "dark trap at 140", "", "hello", "   ", "make it faster", "", "", "stems for that",
        "lofi in C minor for 2 minutes", "<@123> again", "привет", "🔥", "master it for club",
    ] * 300  # fmt: skip
    stdin = ("\n".join(messages) + "\n").encode()
    done = run([], stdin, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().split("\n")
    assert lines[-1] == ""
    got = [json.loads(line) for line in lines[:-1]]
    assert len(got) == len(messages)
    assert got == [parse(message).to_json() for message in messages]
    assert got[1] == {"intent": "unknown", "params": {}, "adjust": {}}


def test_crlf_missing_final_newline_and_bad_bytes(tmp_path: Path) -> None:
    stdin = b"trap at 140\r\n\r\n\xff\xfe lofi \xc3\n0x00 \x00 jazz"
    done = run([], stdin, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    got = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [g["params"].get("genre") for g in got] == ["trap", None, "lo-fi", "jazz"]
    assert got[0]["params"] == {"genre": "trap", "bpm": 140}


def test_answers_each_line_as_it_arrives(tmp_path: Path) -> None:
    """A program can hold the pipe open and ask one question at a time."""
    env = {**os.environ, "BEATBOT_STORAGE__DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [*beatbot(), "parse"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for message, genre in (("trap at 140", "trap"), ("now as house", "house"), ("", None)):
            proc.stdin.write(message.encode() + b"\n")
            proc.stdin.flush()
            deadline = time.monotonic() + 30
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            assert ready, f"no answer to {message!r} while the pipe stays open"
            answer = json.loads(proc.stdout.readline())
            assert answer["params"].get("genre") == genre
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    env = {**os.environ, "BEATBOT_STORAGE__DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [*beatbot(), "parse"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            for _ in range(2_000):
                proc.stdin.write(b"trap at 140\n" * 100)
            proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    assert proc.wait(timeout=60) == 0
    writer.join(timeout=30)
    err = proc.stderr.read()
    assert json.loads(first)["intent"] == "generate"
    assert b"Traceback" not in err and b"error" not in err.lower()
