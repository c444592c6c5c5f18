"""CPU work in a process pool, with stage progress reported back while it runs.

The worker's event loop must stay responsive (heartbeats, other jobs, cancel requests), so
rendering runs in child processes. A child reports each stage it enters through a managed
queue; the parent turns those into progress events between stages.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.managers
import os
import queue
import signal
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from bot.allocator import give_memory_back, keep_freed_memory

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[str, float], None]
OnProgress = Callable[[str, float], Awaitable[None]]

# spawn: children start clean (no copied event loop, sockets or locks from the parent).
_CONTEXT = multiprocessing.get_context("spawn")
TASKS_PER_CHILD = 200
# Imported by each child as it starts: the engine, and the module whose functions the jobs
# run (its imports cost the first job in a child 0.16 s otherwise).
WARM_UP = ("engine.pipeline", "bot.work")


def _exit_with_parent() -> None:
    """End this child when the worker that started it dies. A worker killed with SIGKILL
    (OOM killer, `kill -9`) runs no clean-up, and spawn children never notice on their own:
    they'd stay behind for good, holding memory and a half-finished render.

    Ctrl-C at a terminal signals every process of the foreground group: the worker decides
    what stops (it cancels or re-queues the job), so a child ignores SIGINT instead of dying
    mid-render with a traceback over the prompt."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import the engine once per child, and load its compiled kernels, so the first job
    doesn't pay for them."""
    _exit_with_parent()
    keep_freed_memory()
    for name in modules:
        importlib.import_module(name)
    if "engine.pipeline" in modules:
        from engine import kernels  # here, not at the top: the worker itself renders nothing

        kernels.warm()


def _run_reporting(fn: Callable[..., T], args: tuple[Any, ...], channel: Any) -> T:
    def report(stage: str, fraction: float) -> None:
        channel.put((stage, float(fraction)))

    try:
        return fn(*args, progress=report)
    finally:
        give_memory_back()  # a long-lived child stays the size of one job


def _drop_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio doesn't log it as never retrieved


class RenderPool:
    """A process pool whose jobs call `progress(stage, fraction)` as they go."""

    def __init__(self, workers: int, warm_up: tuple[str, ...] = WARM_UP) -> None:
        self.workers = workers
        self.warm_up = warm_up
        self._executor: ProcessPoolExecutor | None = None
        self._manager: Any = None
        self._pending: set[asyncio.Future[Any]] = set()  # work handed to a child, not done
        self._starting = asyncio.Lock()

    def start(self) -> None:
        if self._executor is None:
            from engine import single_threaded

            single_threaded()  # children inherit it: each renders on its one core
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=_CONTEXT,
                initializer=_warm_up,
                initargs=(self.warm_up,),
                # A fresh child now and then: whatever a long life accumulates is let go.
                max_tasks_per_child=TASKS_PER_CHILD,
            )
        if self._manager is None:
            manager = multiprocessing.managers.SyncManager(ctx=_CONTEXT)
            manager.start(initializer=_exit_with_parent)
            self._manager = manager

    async def started(self) -> None:
        """`start()` off the event loop: the manager's start waits until its spawned process
        has imported and answered, seconds on a loaded machine, and a blocked loop would stop
        the worker's heartbeat (another worker would take its job over as lost)."""
        if self._executor is None or self._manager is None:
            async with self._starting:
                await asyncio.to_thread(self.start)

    async def run(
        self, fn: Callable[..., T], *args: Any, on_progress: OnProgress | None = None
    ) -> T:
        """Run `fn(*args, progress=...)` in a child; await `on_progress` for each stage."""
        await self.started()
        assert self._executor is not None
        channel = self._manager.Queue()
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, _run_reporting, fn, args, channel)
        except BrokenProcessPool:
            self._restart()
            raise
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=0.05)
                await self._drain(channel, on_progress)
                if done:
                    break
            return future.result()
        except asyncio.CancelledError:
            # A child can't be stopped mid-render: its late result (or error) is dropped.
            future.add_done_callback(_drop_result)
            raise
        except BrokenProcessPool:
            # A child died (OOM, SIGKILL). Replace the pool; the caller may retry the job.
            self._restart()
            raise

    async def _drain(self, channel: Any, on_progress: OnProgress | None) -> None:
        while True:
            try:
                stage, fraction = channel.get_nowait()
            except queue.Empty:
                return
            if on_progress is not None:
                await on_progress(stage, fraction)

    def _restart(self) -> None:
        log.warning("a render process died; starting a fresh pool")
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    def close(self) -> None:
        """Stop the render processes. Work still running has been given up by its job (a
        cancel, or a worker shutting down that re-queues it): end those children at once
        rather than wait for a render nobody will collect (a long separation could take
        minutes, keeping `serve` from exiting)."""
        if self._executor is not None:
            if any(not future.done() for future in self._pending):
                # No public way to stop a busy child before Python 3.14's terminate_workers.
                for process in list(getattr(self._executor, "_processes", {}).values()):
                    process.terminate()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None
