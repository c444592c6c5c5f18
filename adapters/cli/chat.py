"""`beatbot chat`: talk to BeatBot in a terminal, one message per line.

Runs the same assistant as Discord and Slack. Progress shows as a rich progress bar on a
terminal and as "NN% Stage" lines when piped; every file saved is printed as an absolute
path. At the end of input it waits for the jobs it started, then exits 0.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import uuid
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from adapters.cli.common import ensure_data_dir, with_settings
from adapters.cli.runtime import running_services
from bot.assistant import Assistant, replies_for_event
from bot.config import Settings
from bot.jobs import Origin
from bot.messages import (
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)


@click.command()
@click.option("--no-worker", is_flag=True, help="Don't run a worker here (others serve REDIS_URL).")
@click.option("--user", default=None, help="Who you are (history and quotas); default: your login.")
@with_settings
def chat(no_worker: bool, user: str | None, settings: Settings) -> None:
    """Chat with BeatBot: type "make a dark trap beat at 140", then "make it faster"."""
    ensure_data_dir(settings)
    person = user or _login()
    asyncio.run(_chat(settings, person, with_worker=not no_worker))


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "terminal"


class TerminalView:
    """Renders Replies for a person at a terminal, or as plain lines for a pipe."""

    def __init__(self) -> None:
        self.interactive = sys.stdout.isatty()
        self.console = Console(highlight=False, soft_wrap=True)
        self.bars: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def show(self, reply: Reply) -> None:
        if isinstance(reply, ProgressReply):
            self._progress(reply)
            return
        self._close_bar_for(getattr(reply, "job_id", None))
        if isinstance(reply, TextReply):
            self._say(reply.text)
            if reply.actions:
                self._say("try: " + " · ".join(a.command for a in reply.actions))
        elif isinstance(reply, ErrorReply):
            self._say(f"! {reply.text}")
        elif isinstance(reply, JobAccepted):
            self._say(f"{reply.text} (job {reply.job_id})")
        elif isinstance(reply, FailedReply):
            self._say(f"✗ job {reply.job_id}: {reply.text}")
        elif isinstance(reply, ResultReply):
            self._say(f"✓ {reply.text}")
            for file in reply.files:
                self._say(f"  {file.title}: {file.path.resolve()}")
            if reply.actions:
                self._say("  next: " + " · ".join(f'"{a.command}"' for a in reply.actions))

    def _say(self, text: str) -> None:
        if self.bars is not None:
            self.bars.console.print(text, markup=False)
        elif self.interactive:
            self.console.print(text, markup=False)
        else:
            click.echo(text)

    def _progress(self, reply: ProgressReply) -> None:
        if not self.interactive:
            click.echo(f"{reply.percent:3d}% {reply.stage} (job {reply.job_id})")
            return
        if self.bars is None:
            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                console=self.console,
                transient=True,
            )
            self.bars.start()
        task = self.tasks.get(reply.job_id)
        if task is None:
            task = self.tasks[reply.job_id] = self.bars.add_task(reply.stage, total=100)
        self.bars.update(task, completed=reply.percent, description=reply.stage)

    def _close_bar_for(self, job_id: str | None) -> None:
        if self.bars is None or job_id is None or job_id not in self.tasks:
            return
        self.bars.remove_task(self.tasks.pop(job_id))
        if not self.tasks:
            self.bars.stop()
            self.bars = None


async def _chat(settings: Settings, user: str, *, with_worker: bool) -> None:
    view = TerminalView()
    origin = Origin(platform="cli", channel="terminal", thread=uuid.uuid4().hex[:12], user=user)
    async with running_services(settings, with_worker=with_worker) as services:
        assistant = Assistant(services)
        pending: set[str] = set()
        settled = asyncio.Event()
        settled.set()
        start_id = await services.events.last_id()
        follower = asyncio.create_task(_follow(services, origin, start_id, view, pending, settled))
        try:
            async for line in _lines(view.interactive):
                message = Message(text=line, origin=origin)
                async for reply in assistant.handle(message):
                    if isinstance(reply, JobAccepted):
                        pending.add(reply.job_id)
                        settled.clear()
                    view.show(reply)
            await settled.wait()
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


async def _follow(
    services: Any,
    origin: Origin,
    since: str,
    view: TerminalView,
    pending: set[str],
    settled: asyncio.Event,
) -> None:
    """Show this session's job events as they arrive on the stream."""
    last = since
    while True:
        for entry_id, name, data in await services.events.read_since(last, block_ms=500):
            last = entry_id
            if (data.get("origin") or {}).get("thread") != origin.thread:
                continue
            reply = replies_for_event(name, data, services.store)
            if reply is not None:
                view.show(reply)
            if name in ("generation:completed", "generation:failed"):
                pending.discard(str(data.get("jobId")))
                if not pending:
                    settled.set()


async def _lines(interactive: bool):  # -> AsyncIterator[str]
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            try:
                line = await loop.run_in_executor(None, input, "you> ")
            except EOFError:
                return
        else:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
        line = line.strip()
        if line:
            yield line
