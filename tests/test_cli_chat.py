"""`beatbot chat` as a person uses it: a real process on a pseudo-terminal (pexpect), its own
embedded Redis under the data dir, real jobs on its in-process worker.

What "nothing orphaned" means after Ctrl-C, checked from outside once the chat has exited:
the job's record is finished (failed: cancelled), the arq queue, BeatBot's active set and
arq's in-progress/job/retry keys hold nothing for it, `beatbot doctor` is clean (an orphan
reads there as "no worker and 1 job waiting"), `/healthz` counts 0 waiting and 0 active,
and no folder of the job is left in staging/ or clips/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pexpect
import pyloudnorm
import pytest
import redis
import soundfile as sf

from adapters.cli.attach import PathProblem, find_paths, without_paths
from adapters.daw_server import create_app
from bot import connections, keys
from bot.config import Secrets, load_settings
from bot.jobs import JobState
from bot.queue import CANCELLED
from bot.services import Services
from tests.audio_fixtures import write_tone

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "you>"
CURSOR_QUERY = re.escape("\x1b[6n")  # prompt_toolkit asks where the cursor is (CPR)
ROWS = 50
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")
LOG_LINE = re.compile(r"\b(INFO|WARNING|ERROR|DEBUG)\b|arq\.worker|bot\.tasks")
PREFIX = "beatbot"  # the packaged key prefix: the chat runs on the defaults


def plain(transcript: str) -> str:
    """What the person saw, without the terminal's escape sequences."""
    return ANSI.sub("", transcript)


class Chat:
    """One `beatbot chat` on a pseudo-terminal, with everything it printed kept."""

    def __init__(self, data_dir: Path, cwd: Path, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env = {k: v for k, v in env.items() if not k.startswith("BEATBOT_")}
        env.update(
            BEATBOT_STORAGE__DATA_DIR=str(data_dir),
            PYTHONPATH=str(ROOT),
            HOME=str(home),
            TERM="xterm-256color",
        )
        self.data_dir = data_dir
        self.seen = StringIO()
        self.process = pexpect.spawn(
            sys.executable,
            ["-m", "adapters.cli", "chat", "--user", "ada"],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            timeout=90,
            dimensions=(ROWS, 220),
        )
        self.process.logfile_read = self.seen
        self.expect(PROMPT)

    @property
    def text(self) -> str:
        return plain(self.seen.getvalue())

    def send(self, line: str) -> None:
        self.process.sendline(line)

    def expect(self, pattern: str | type[pexpect.EOF], timeout: float = 90) -> re.Match[str]:
        """Wait for `pattern`, answering the prompt's cursor-position queries on the way as
        a terminal does (the bar under the prompt is drawn once the prompt knows its row)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            if self.process.expect([CURSOR_QUERY, pattern], timeout=left) == 1:
                return self.process.match
            self.process.send(f"\x1b[{ROWS - 10};1R")

    def wait_exit(self, timeout: float = 60) -> int:
        self.expect(pexpect.EOF, timeout=timeout)
        self.process.close()
        return self.process.exitstatus


def stop_embedded_redis(data_dir: Path) -> None:
    """Shut down an embedded Redis a failed test may have left running under `data_dir`."""
    socket = data_dir / "redis" / "redis.sock"
    if not socket.exists():
        return
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=2)
    try:
        client.shutdown(nosave=True)
    except (redis.ConnectionError, redis.ResponseError, OSError):
        pass
    finally:
        client.close()


@pytest.fixture
def person(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A person's machine: a home, a working folder with a song in it, a data dir."""
    places = {
        "home": tmp_path / "home",
        "work": tmp_path / "work",
        "data": tmp_path / "data",
    }
    for path in places.values():
        path.mkdir()
    yield places
    stop_embedded_redis(places["data"])


def start_chat(person: dict[str, Path]) -> Chat:
    return Chat(person["data"], person["work"], person["home"])


@pytest.fixture
def chats(person: dict[str, Path]) -> Iterator[list[Chat]]:
    """Chats started by a test; any still running at the end is killed."""
    started: list[Chat] = []
    yield started
    for chat in started:
        if chat.process.isalive():
            chat.process.terminate(force=True)


def open_redis(data_dir: Path) -> tuple[connections.RedisHandle, redis.Redis]:
    handle = connections.connect(None, data_dir)  # the chat's Redis, back from its AOF
    return handle, handle.sync_client(socket_timeout=5)


def release_redis(data_dir: Path, client: redis.Redis) -> None:
    client.close()
    connections._EMBEDDED.pop((data_dir / "redis").resolve(), None)
    stop_embedded_redis(data_dir)


# --- Ctrl-C --------------------------------------------------------------------------------


def test_ctrl_c_mid_job_cancels_it_exits_130_and_leaves_no_orphan(
    person: dict[str, Path], chats: list[Chat]
) -> None:
    chat = start_chat(person)
    chats.append(chat)
    chat.send("make a trap beat 2 minutes")
    job = chat.expect(r"On it: .*?\(job ([0-9a-f]{12})\)").group(1)
    # The job's progress shows in the bar under the prompt (redrawn in place, so only the
    # changed characters are sent): press Ctrl-C once it is past 0%, while it renders.
    chat.expect(r"[1-9]\d?%")
    chat.process.sendintr()
    code = chat.wait_exit()
    seen = chat.text

    assert code == 130, seen[-2000:]
    assert "Traceback" not in seen, seen
    assert f"Cancelled job {job}." in seen, seen[-2000:]
    # The worker's log lines went to the log file the banner names, not over the prompt.
    log_path = person["data"] / "logs" / "chat.log"
    assert f"Worker log: {log_path}" in seen
    assert not [line for line in seen.splitlines() if LOG_LINE.search(line)], seen
    log_text = log_path.read_text()
    assert f"{job}:generate_beat aborted" in log_text, log_text[-3000:]
    assert "Traceback" not in log_text, log_text[-3000:]

    assert_nothing_orphaned(person["data"], job)


def assert_nothing_orphaned(data_dir: Path, job: str) -> None:
    """After the chat has exited: the job is finished as cancelled and nothing of it is left
    queued, running or half-written, as `doctor`, `/healthz` and the keys themselves show."""
    # `beatbot doctor` exits 1 and says "no worker and 1 job waiting" on an orphan.
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("BEATBOT")}
    env.update(BEATBOT_STORAGE__DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    doctor = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "doctor", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    report = json.loads(doctor.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["workers"]["status"] != "missing", checks["workers"]
    assert "0 waiting, 0 running, 0 waiting to retry" in checks["queue"]["detail"], checks
    assert "1 failed" in checks["queue"]["detail"], checks["queue"]

    # ... and the keys themselves: no queue entry, no active mark, no arq job in flight.
    handle, client = open_redis(data_dir)
    try:
        record = client.hgetall(keys.job(PREFIX, job))
        assert record[b"state"].decode() == JobState.FAILED.value
        assert record[b"error"].decode() == CANCELLED
        assert client.zcard(keys.queue(PREFIX)) == 0
        assert client.scard(keys.active_jobs(PREFIX)) == 0
        in_flight = [
            key.decode()
            for pattern in ("arq:in-progress:*", "arq:job:*", "arq:retry:*")
            for key in client.scan_iter(match=pattern)
        ]
        assert in_flight == []
        assert client.zscore("arq:abort", job) is None

        # /healthz on the same Redis counts nothing waiting or active.
        health = _healthz(data_dir, handle)
        assert health["ok"] and health["queue"]["waiting"] == 0 and health["queue"]["active"] == 0
    finally:
        release_redis(data_dir, client)

    # Nothing half-written is left for a later worker, and the cancelled beat wasn't kept.
    assert list((data_dir / "staging").iterdir()) == []
    assert list((data_dir / "clips").iterdir()) == []


def _healthz(data_dir: Path, handle: connections.RedisHandle) -> dict:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    async def ask() -> dict:
        settings = load_settings(data_dir=data_dir, env={})
        services = await Services.open(settings, Secrets.from_env({}), handle, render_processes=1)
        try:
            async with TestClient(TestServer(create_app(services, "token"))) as client:
                response = await client.get("/healthz")
                assert response.status == 200
                return await response.json()
        finally:
            await services.close()

    return asyncio.run(ask())


def test_sigint_to_the_whole_group_while_piped_cancels_and_exits_130(
    person: dict[str, Path],
) -> None:
    """A terminal's Ctrl-C with the chat's input piped: SIGINT reaches every process of the
    group, render processes included; only the chat acts on it."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("BEATBOT")}
    env.update(BEATBOT_STORAGE__DATA_DIR=str(person["data"]), PYTHONPATH=str(ROOT))
    chat = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "chat", "--user", "ada"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=person["work"], env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write("make a trap beat 2 minutes\n")
        chat.stdin.flush()  # and kept open: the chat waits for more
        seen = []
        for line in chat.stdout:
            seen.append(line)
            if re.match(r"\s*[1-9]\d?% Rendering", line):
                break
        job = re.search(r"\(job ([0-9a-f]{12})\)", "".join(seen))
        assert job is not None, seen
        os.killpg(chat.pid, signal.SIGINT)
        out, err = chat.communicate(timeout=60)
    finally:
        if chat.poll() is None:
            chat.kill()
    assert chat.returncode == 130, (out, err)
    assert f"Cancelled job {job.group(1)}." in out
    assert "Traceback" not in out + err and err.strip() == "", err
    assert_nothing_orphaned(person["data"], job.group(1))


# --- leaving -------------------------------------------------------------------------------


@pytest.mark.parametrize("leave", ["quit", "exit", "ctrl-d"])
def test_quit_exit_and_ctrl_d_leave_cleanly(
    leave: str, person: dict[str, Path], chats: list[Chat]
) -> None:
    chat = start_chat(person)
    chats.append(chat)
    if leave == "quit":  # help first: light Markdown is rendered, never printed literally
        chat.send("help")
        chat.expect("Worker log: ")
        chat.expect(PROMPT)
    if leave == "ctrl-d":
        chat.process.sendeof()
    else:
        chat.send(leave)
    started = time.monotonic()
    assert chat.wait_exit() == 0, chat.text[-2000:]
    assert time.monotonic() - started < 20
    seen = chat.text
    assert "Traceback" not in seen
    if leave == "quit":
        assert "I make beats from a sentence." in seen
        assert "**" not in seen, seen
        assert "master ~/song.wav for club" in seen  # the terminal's own help: file paths


# --- file paths ----------------------------------------------------------------------------


def test_file_paths_in_messages_are_sent_as_attachments(
    person: dict[str, Path], chats: list[Chat]
) -> None:
    song = write_tone(person["home"] / "song.wav", seconds=5.0)
    spaced = write_tone(person["work"] / "My Song.wav", seconds=5.0, level=0.05)
    chat = start_chat(person)
    chats.append(chat)

    # A path that isn't there is an error naming it, and nothing is queued.
    chat.send("master ~/nope.wav for club")
    chat.expect(r"I can't find ~/nope\.wav")
    chat.send("stems of ./beat.mp3")
    chat.expect(r"I can't find \./beat\.mp3")
    chat.expect(PROMPT)
    assert "On it" not in chat.text and "Mastering" not in chat.text
    assert "last beat" not in chat.text and "don't have a clip" not in chat.text

    # "~" is the person's home; the file is uploaded into the store, then mastered.
    chat.send("master ~/song.wav for club")
    chat.expect(r"Mastering song\.wav for club \(-8 LUFS\)")
    chat.expect(r"✓ ")
    master = Path(chat.expect(r"  Master \(WAV\): (/\S+)\r?\n").group(1))
    audio, sr = sf.read(master)
    assert abs(pyloudnorm.Meter(sr).integrated_loudness(audio) - (-8.0)) < 1.0
    uploads = [p for p in (person["data"] / "uploads").rglob("*.wav")]
    assert any(p.read_bytes() == song.read_bytes() for p in uploads), uploads

    # A quoted path with a space, relative to where the chat was started.
    chat.send('master "My Song.wav" for streaming')
    chat.expect(r"Mastering My Song\.wav for streaming \(-14 LUFS\)")
    chat.expect(r"✓ ")
    uploads = [p for p in (person["data"] / "uploads").rglob("*.wav")]
    assert any(p.read_bytes() == spaced.read_bytes() for p in uploads), uploads

    chat.send("quit")
    assert chat.wait_exit() == 0
    assert "Traceback" not in chat.text


@pytest.mark.parametrize(
    ("text", "paths", "rest"),
    [
        ("stems of ./beat.mp3", ["beat.mp3"], "stems of"),
        ('master "My Beats/a b.wav" for club', ["My Beats/a b.wav"], "master for club"),
        ("master My\\ Beats/a\\ b.wav.", ["My Beats/a b.wav"], "master ."),
        ("it's 'My Beats/a b.wav', isn't it", ["My Beats/a b.wav"], "it's , isn't it"),
        ("mix beat.mp3, ./beat.mp3 bass heavy", ["beat.mp3", "beat.mp3"], "mix , bass heavy"),
        # Words that aren't paths stay words, even where a file or folder has that name.
        ("make a house beat", [], "make a house beat"),
        ("/help", [], "/help"),
        ("rock 'n' roll 24/7 at 140", [], "rock 'n' roll 24/7 at 140"),
        ("export it as .wav", [], "export it as .wav"),
    ],
)
def test_paths_are_found_in_a_message_and_taken_out_of_it(
    text: str, paths: list[str], rest: str, tmp_path: Path
) -> None:
    (tmp_path / "My Beats").mkdir()
    for name in ("beat.mp3", "My Beats/a b.wav", "house"):
        (tmp_path / name).write_bytes(b"x")
    mentions = find_paths(text, cwd=tmp_path)
    assert [m.path for m in mentions] == [tmp_path / p for p in paths]
    assert without_paths(text, mentions) == rest


@pytest.mark.parametrize("text", ["master ~/gone.wav", "stems of ./nope", "use /tmp/x/y.flac"])
def test_a_path_that_is_not_there_is_an_error_naming_it(text: str, tmp_path: Path) -> None:
    with pytest.raises(PathProblem, match=r"^I can't find (~/gone\.wav|\./nope|/tmp/x/y\.flac)\."):
        find_paths(text, cwd=tmp_path)
