"""Run BeatBot's real arq worker inside a test."""

from __future__ import annotations

from typing import Any

from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.worker import build_worker


async def run_worker(settings: Settings, handle: RedisHandle, **overrides: Any) -> None:
    """Run BeatBot's real worker in burst mode until the queue is empty (as arq's tests do)."""
    worker = build_worker(
        settings,
        Secrets.from_env({}),
        handle,
        burst=True,
        handle_signals=False,
        **{"render_processes": 1, "poll_delay": 0.05, **overrides},
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
