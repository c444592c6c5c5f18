"""The render pool runs work in child processes and reports stages while they run."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.pool import RenderPool
from tests import pool_work


@pytest.fixture
def pool():
    pool = RenderPool(workers=1, warm_up=())
    yield pool
    pool.close()


async def test_stages_arrive_in_order_while_the_event_loop_stays_free(pool: RenderPool) -> None:
    seen: list[tuple[str, float]] = []
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def on_progress(stage: str, fraction: float) -> None:
        seen.append((stage, fraction))

    tick_task = asyncio.create_task(ticker())
    result = await pool.run(pool_work.staged, 4, on_progress=on_progress)
    tick_task.cancel()
    assert result["stages"] == 4
    assert result["pid"] != os.getpid()  # really another process
    assert [stage for stage, _ in seen] == ["Stage 1", "Stage 2", "Stage 3", "Stage 4"]
    assert [f for _, f in seen] == sorted(f for _, f in seen)
    assert ticks > 10  # the loop kept running while the child worked


async def test_an_error_in_the_child_reaches_the_caller(pool: RenderPool) -> None:
    with pytest.raises(ValueError, match="no such chord"):
        await pool.run(pool_work.explode, "no such chord")


async def test_a_dead_child_breaks_one_job_and_the_pool_recovers(pool: RenderPool) -> None:
    with pytest.raises(BrokenProcessPool):
        await pool.run(pool_work.die)
    result = await pool.run(pool_work.staged, 1)
    assert result["stages"] == 1


async def test_a_child_hands_a_jobs_freed_heap_back_when_the_job_ends(pool: RenderPool) -> None:
    """A render keeps freed arrays in its heap while it runs (no page faults for the next
    array); after the job the child gives them back, so it stays the size of one job."""
    base = await pool.run(pool_work.resident_mib)
    assert await pool.run(pool_work.swell, 320) > base + 256  # freed, still resident in-job
    assert await pool.run(pool_work.resident_mib) < base + 128  # given back after the job


async def test_closing_ends_a_child_still_rendering_work_given_up() -> None:
    """A cancelled job (or a worker shutting down) leaves its render running in the child;
    closing the pool ends it at once instead of waiting for the render to finish."""
    import time

    import psutil

    pool = RenderPool(workers=1, warm_up=())
    job = asyncio.create_task(pool.run(pool_work.staged, 200))  # 10 s of work
    await asyncio.sleep(1.0)
    # The render child and the progress manager (multiprocessing's resource tracker stays).
    children = [c for c in psutil.Process().children() if "spawn_main" in " ".join(c.cmdline())]
    assert len(children) == 2
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 3
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


async def test_render_processes_keep_blas_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render is one core's work: BLAS threads in a render process only fight the other
    render processes for the CPU (3-5x slower renders on a busy 2-core machine)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    pool = RenderPool(workers=1, warm_up=())
    try:
        seen = await pool.run(pool_work.blas_threads)
    finally:
        pool.close()
    assert seen == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
