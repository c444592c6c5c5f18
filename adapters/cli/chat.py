"""`beatbot chat`: talk to BeatBot in a terminal, one message per line.

Runs the same assistant as Discord and Slack. At a terminal it is a prompt (prompt_toolkit:
line editing, history, the running jobs' progress in a bar under the prompt, replies printed
above it); piped, it reads lines and prints "NN% Stage" progress lines. Every file saved is
printed as an absolute path. File paths typed in a message are sent as attachments
(`adapters.cli.attach`).

Leaving: `quit`, `exit` or Ctrl-D (end of input) wait for the jobs this chat started, then
exit 0. Ctrl-C (the key at the prompt, or SIGINT) cancels them, waits until the worker has
stopped them (nothing is left queued, running or half-written for a later worker to pick
up), and exits 130 without a traceback. The worker's log lines go to `<data dir>/logs/
chat.log`, never over the prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import logging.handlers
import os
import signal
import stat
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from adapters.cli.attach import find_paths, upload_paths, without_paths
from adapters.cli.common import ensure_data_dir, with_settings
from adapters.cli.richtext import terminal_text
from adapters.cli.runtime import running_services
from bot.assistant import Assistant, replies_for_event
from bot.config import Settings
from bot.errors import UserError
from bot.jobs import Origin
from bot.messages import (
    Attachment,
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.services import Services

EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by Ctrl-C"
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", ":q"})
# How long Ctrl-C waits for the worker to confirm it stopped a job, and for a running job of
# someone else's (same Redis) to finish before it is handed back to the queue.
CANCEL_WAIT = 15.0
DRAIN = 10.0
LOG_BYTES = 5 * 1024 * 1024

log = logging.getLogger(__name__)


@click.command()
@click.option("--no-worker", is_flag=True, help="Don't run a worker here (others serve REDIS_URL).")
@click.option("--user", default=None, help="Who you are (history and quotas); default: your login.")
@with_settings
def chat(no_worker: bool, user: str | None, settings: Settings) -> None:
    """Chat with BeatBot: type "make a dark trap beat at 140", then "make it faster".

    Type a file path to use your own audio ("master ~/song.wav for club"). quit, exit or
    Ctrl-D leave; Ctrl-C cancels what is running and leaves.
    """
    data_dir = ensure_data_dir(settings)
    log_path = route_logs(data_dir)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    person = user or _login()
    code = asyncio.run(
        _chat(
            settings, person, with_worker=not no_worker, interactive=interactive, log_path=log_path
        )
    )
    if code:
        raise SystemExit(code)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "terminal"


def route_logs(data_dir: Path) -> Path:
    """Send every log line (the in-process worker's, arq's, Python warnings) to
    `<data dir>/logs/chat.log`, so none is printed over the prompt; returns the path."""
    from adapters.cli.service import TextFormatter  # the serve/worker line format
    from bot.tasks import JobLogFilter

    path = data_dir / "logs" / "chat.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=2)
    handler.addFilter(JobLogFilter())
    handler.setFormatter(TextFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    return path


class TerminalView:
    """Shows Replies: rich text above the prompt at a terminal, plain lines when piped.

    At a terminal, progress lives in the prompt's bottom bar (`toolbar`), so it updates in
    place while you type; piped, each step is a "NN% Stage (job ID)" line."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        # No fixed file: rich writes to whatever sys.stdout is at the time (prompt_toolkit's
        # proxy while the prompt is up, so a reply lands above it).
        self.console = Console(highlight=False, soft_wrap=True, force_terminal=interactive)
        self.progress: dict[str, tuple[int, str]] = {}  # job id -> (percent, stage)
        self.on_change: Any = None  # the prompt's redraw, while there is one

    def show(self, reply: Reply) -> None:
        if isinstance(reply, ProgressReply):
            self._progress(reply)
            return
        job_id = getattr(reply, "job_id", None)
        if isinstance(reply, ResultReply | FailedReply) and job_id in self.progress:
            del self.progress[job_id]
            self._changed()
        if isinstance(reply, TextReply):
            self._print(terminal_text(reply))
            if reply.actions:
                self.say("try: " + " · ".join(a.command for a in reply.actions))
        elif isinstance(reply, ErrorReply):
            self.say(f"! {reply.text}")
        elif isinstance(reply, JobAccepted):
            self.progress[reply.job_id] = (0, "Queued")
            self._changed()
            self.say(f"{reply.text} (job {reply.job_id})")
        elif isinstance(reply, FailedReply):
            self.say(f"✗ job {reply.job_id}: {reply.text}")
        elif isinstance(reply, ResultReply):
            self.say(f"✓ {reply.text}")
            if reply.details.get("kind") == "takes":  # one numbered line per take's clip
                for file in reply.files:
                    if file.kind == "audio":
                        self.note(f"  take {file.take}: {file.path.resolve()}")
            else:
                for file in reply.files:
                    self.note(f"  {file.title}: {file.path.resolve()}")
            if reply.actions:
                self.note("  next: " + " · ".join(f'"{a.command}"' for a in reply.actions))

    def say(self, text: str) -> None:
        """A line of BeatBot's plain reply text (rich replies go through `terminal_text`)."""
        self._print(Text(text))

    def note(self, text: str) -> None:
        """Text of our own (paths, commands): printed exactly as it is."""
        self._print(Text(text))

    def toolbar(self) -> str:
        """The bottom bar at a terminal: what each running job is doing."""
        return "  ".join(
            f"job {job_id}: {stage} {percent}%"
            for job_id, (percent, stage) in self.progress.items()
        )

    def _print(self, text: Text) -> None:
        if self.interactive:
            self.console.print(text)
        else:
            click.echo(text.plain)

    def _progress(self, reply: ProgressReply) -> None:
        if not self.interactive:
            click.echo(f"{reply.percent:3d}% {reply.stage} (job {reply.job_id})")
            return
        self.progress[reply.job_id] = (reply.percent, reply.stage)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


class Interrupted(Exception):
    """Ctrl-C: cancel what this chat started and leave."""


class ChatSession:
    """One person's conversation: sends their lines to the assistant and follows the jobs
    they start on the event stream until each has finished."""

    def __init__(self, services: Services, origin: Origin, view: TerminalView) -> None:
        self.services = services
        self.origin = origin
        self.view = view
        self.assistant = Assistant(services)
        self.pending: set[str] = set()
        self.settled = asyncio.Event()
        self.settled.set()
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        since = await self.services.events.last_id()
        self._follower = asyncio.create_task(self._follow(since))

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)

    async def say(self, line: str) -> None:
        """Send one line, with the files it names attached; show what the assistant says."""
        try:
            mentions = find_paths(line)
            attachments: tuple[Attachment, ...] = await upload_paths(mentions, self.services.store)
        except UserError as exc:
            self.view.show(ErrorReply(exc.message))
            return
        text = without_paths(line, mentions) if mentions else line
        message = Message(text=text, origin=self.origin, attachments=attachments)
        async for reply in self.assistant.handle(message):
            if isinstance(reply, JobAccepted):
                # Several takes: their group's result ends the wait, each take's job is
                # what Ctrl-C cancels.
                self.pending.update((reply.job_id, *reply.take_jobs))
                self.settled.clear()
            self.view.show(reply)

    async def finish(self) -> None:
        """Wait for the jobs this chat started (quit, exit, end of input)."""
        if self.pending:
            count = len(self.pending)
            self.view.note(
                f"Waiting for {count} job{'s' * (count != 1)} to finish (Ctrl-C cancels)…"
            )
        await self.settled.wait()

    async def cancel_all(self) -> list[str]:
        """Cancel every job this chat started that hasn't finished, and wait until the worker
        has stopped each one; returns the ids cancelled."""
        cancelled = []
        for job_id in sorted(self.pending):
            with contextlib.suppress(UserError):  # it finished a moment ago: nothing to do
                await self.services.queue.cancel(job_id)
                cancelled.append(job_id)
        try:
            await asyncio.wait_for(self._all_finished(), CANCEL_WAIT)
        except TimeoutError:
            log.warning("jobs %s had not stopped after %.0f s", sorted(self.pending), CANCEL_WAIT)
        return cancelled

    async def _all_finished(self) -> None:
        # The records say when the worker is done (the failed events may still be on their way).
        while True:
            # A copy: the follower drops finished jobs from `pending` while we await.
            records = [await self.services.jobs.get(job_id) for job_id in list(self.pending)]
            if all(record is None or record.finished for record in records):
                return
            await asyncio.sleep(0.05)

    async def _follow(self, since: str) -> None:
        """Show this chat's job events as they arrive on the stream."""
        last = since
        while True:
            for entry_id, name, data in await self.services.events.read_since(last, block_ms=500):
                last = entry_id
                if (data.get("origin") or {}).get("thread") != self.origin.thread:
                    continue
                reply = replies_for_event(name, data, self.services.store)
                if reply is not None:
                    self.view.show(reply)
                if name in ("generation:completed", "generation:failed"):
                    self.pending.discard(str(data.get("jobId")))
                    if not self.pending:
                        self.settled.set()


async def _chat(
    settings: Settings, user: str, *, with_worker: bool, interactive: bool, log_path: Path
) -> int:
    """The whole conversation; returns the exit code (0, or 130 after Ctrl-C)."""
    view = TerminalView(interactive)
    origin = Origin(platform="cli", channel="terminal", thread=uuid.uuid4().hex[:12], user=user)
    loop = asyncio.get_running_loop()
    with _stderr_into(log_path if interactive else None):
        async with running_services(settings, with_worker=with_worker, drain=DRAIN) as services:
            session = ChatSession(services, origin, view)
            await session.start()
            talk = asyncio.create_task(_converse(session, view, log_path))
            signalled = False

            def on_sigint() -> None:  # SIGINT from `kill`, or Ctrl-C while no prompt is up
                nonlocal signalled
                signalled = True
                talk.cancel()

            loop.add_signal_handler(signal.SIGINT, on_sigint)
            interrupted = False
            try:
                await talk
            except Interrupted:
                interrupted = True
            except asyncio.CancelledError:
                if not signalled:
                    raise
                interrupted = True
            try:
                if interrupted:
                    for job_id in await session.cancel_all():
                        view.note(f"Cancelled job {job_id}.")
            finally:
                loop.remove_signal_handler(signal.SIGINT)
                # A second Ctrl-C while we tidy up must not cut the tidying short.
                loop.add_signal_handler(signal.SIGINT, lambda: None)
                await session.stop()
    return EXIT_INTERRUPTED if interrupted else 0


async def _converse(session: ChatSession, view: TerminalView, log_path: Path) -> None:
    lines = _prompt_lines(view, log_path) if view.interactive else _piped_lines()
    async for line in lines:
        if line.lower() in QUIT_WORDS:
            break
        await session.say(line)
        if view.interactive and _asks_for_help(line):
            view.note(_terminal_help(log_path))
    await session.finish()


def _asks_for_help(line: str) -> bool:
    from bot.intents import parse

    return parse(line).kind == "help"


def _terminal_help(log_path: Path) -> str:
    return (
        "In this terminal: type a file path to use your own audio (“master ~/song.wav for "
        "club”, “stems of ./beat.mp3”; quote paths with spaces). quit, exit or Ctrl-D leave; "
        f"Ctrl-C cancels what's running and leaves. Worker log: {log_path}"
    )


def _banner(log_path: Path) -> str:
    return (
        "BeatBot · type what you want (“dark trap beat at 140”), or “help”.\n"
        "Your own audio: type its path (“master ~/song.wav for club”).\n"
        "quit, exit or Ctrl-D leave; Ctrl-C cancels what's running and leaves.\n"
        f"Worker log: {log_path}"
    )


async def _prompt_lines(view: TerminalView, log_path: Path) -> AsyncIterator[str]:
    """Lines typed at the prompt. Ctrl-D ends them; Ctrl-C raises Interrupted."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    history = FileHistory(str(log_path.parent.parent / "chat-history"))
    prompt: PromptSession[str] = PromptSession(history=history)

    def redraw() -> None:
        prompt.bottom_toolbar = view.toolbar if view.progress else None
        prompt.app.invalidate()

    view.on_change = redraw
    view.note(_banner(log_path))
    try:
        with patch_stdout(raw=True):
            while True:
                redraw()
                try:
                    # SIGINT stays with us (a terminal's Ctrl-C is a key at the prompt).
                    line = await prompt.prompt_async("you> ", handle_sigint=False)
                except EOFError:
                    return
                except KeyboardInterrupt:
                    raise Interrupted from None
                if line.strip():
                    yield line.strip()
    finally:
        view.on_change = None


async def _piped_lines() -> AsyncIterator[str]:
    """Lines from a pipe or a file, read without blocking the event loop (so Ctrl-C and
    job events are handled while it waits)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport = None
    if not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode):
        with contextlib.suppress(ValueError, OSError):  # /dev/null and the like can't be polled
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
            )
    try:
        while True:
            if transport is not None:
                raw = await reader.readline()
            else:  # a file or /dev/null: a read never waits
                raw = sys.stdin.buffer.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").strip()
            if line:
                yield line
    finally:
        if transport is not None:
            transport.close()


@contextlib.contextmanager
def _stderr_into(path: Path | None) -> Iterator[None]:
    """At a terminal, whatever writes to stderr while the chat runs (a render process, a
    library printing a warning) goes to the log file instead of over the prompt."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
