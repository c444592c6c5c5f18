"""Work functions and helpers for the fault tests (importable by spawned render processes)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.assistant import Assistant
from bot.jobs import JobRecord, Origin
from bot.messages import JobAccepted, Message
from bot.services import Services

# The render process appends one timestamp per try here (the env var is inherited by spawn).
MARKER_ENV = "BEATBOT_FAULT_MARKER"


def beat_with_broken_mixer(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Callable
) -> dict[str, Any]:
    """The real beat work, with the engine's mix stage raising every time: the fault comes
    from inside engine code (compose and render run first), as a bug or an OOM there would."""
    import engine.pipeline
    from bot.work import render_beat

    with Path(os.environ[MARKER_ENV]).open("a") as fh:
        fh.write(f"{time.time()}\n")

    def broken_mix(*args: Any, **kwargs: Any) -> Any:
        raise FloatingPointError("mix bus produced NaN at sample 4096")

    engine.pipeline.mix_stage = broken_mix  # type: ignore[assignment]
    return render_beat(data, inputs, folder, progress=progress)


async def queue_beat(services: Services, text: str, thread: str, **overrides: Any) -> JobRecord:
    """Queue a beat the way a chat message does; `overrides` change its request data."""
    origin = Origin(platform="cli", channel="terminal", thread=thread, user=f"u-{thread}")
    replies = [r async for r in Assistant(services).handle(Message(text, origin))]
    assert isinstance(replies[0], JobAccepted), replies
    record = await services.queue.status(replies[0].job_id)
    if overrides:
        await services.jobs.update(record.job_id, data={**record.data, **overrides})
        record = await services.queue.status(record.job_id)
    return record


async def job_events(services: Services, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, data) of this job's generation events, oldest first."""
    return [
        (name, data)
        for _, name, data in await services.events.read_since("0", count=1000)
        if data.get("jobId") == job_id
    ]
