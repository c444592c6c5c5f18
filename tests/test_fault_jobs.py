"""Faults inside a job: the disk refuses files, the engine raises every time.

Real Redis, BeatBot's real arq worker (in-process, burst mode) and its render processes. Each
test checks what the person sees (`replies_for_event`), the job record, the events, the files,
and — for the engine fault — the structured log lines that carry the job's ids.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from bot import tasks
from bot.assistant import replies_for_event
from bot.config import Settings
from bot.connections import RedisHandle
from bot.errors import NotFound
from bot.jobs import JobState, JobType
from bot.messages import FailedReply
from bot.services import Services
from tests import fault_work
from tests.fault_work import job_events, queue_beat
from tests.workers import run_worker


def _quick_retries(settings: Settings, backoff: float) -> Settings:
    return settings.model_copy(
        update={"queue": settings.queue.model_copy(update={"retry_backoff": backoff})}
    )


def _friendly(text: str) -> None:
    assert text and text[0].isupper() and text.rstrip().endswith(".")
    for internal in ("Traceback", "Error:", "errno", 'File "', "/staging", "NaN"):
        assert internal not in text, text


@pytest.mark.parametrize("broken", ["staging", "clips"])
async def test_fault_unwritable_data_dir_fails_clearly_and_serves_nothing(
    services: Services, settings: Settings, redis_handle: RedisHandle, broken: str
) -> None:
    """While a beat renders, the folder it writes into (staging/) or commits into (clips/)
    stops taking files. As root no permission bit stops us, so the folder is swapped for a
    regular file: every write and rename under it fails (ENOTDIR), like a dead mount."""
    record = await queue_beat(services, "make a trap beat at 140 for 4 seconds", "disk")
    gid = record.generation_id
    worker = asyncio.create_task(run_worker(_quick_retries(settings, 0.1), redis_handle))
    try:
        for _ in range(600):
            current = await services.queue.status(record.job_id)
            if current.state is JobState.ACTIVE and current.progress > 0:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail(f"the job never started rendering: {current.state} {current.stage}")
        target = settings.data_dir / broken
        target.rename(settings.data_dir / f"{broken}-moved")
        target.write_text("not a folder any more\n")
        await asyncio.wait_for(worker, 90)
    finally:
        if not worker.done():
            worker.cancel()

    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED and record.tries == 3, (record.state, record.error)
    assert record.error is not None and record.error.startswith("I couldn't save the audio")
    _friendly(record.error)
    events = await job_events(services, record.job_id)
    failed = [data for name, data in events if name == "generation:failed"]
    assert len(failed) == 1 and not [n for n, _ in events if n == "generation:completed"]
    reply = replies_for_event("generation:failed", failed[0], services.store)
    assert isinstance(reply, FailedReply) and reply.text == record.error

    # Put the data dir back and look: nothing of this generation is listed, kept or served.
    target.unlink()
    (settings.data_dir / f"{broken}-moved").rename(target)
    assert services.store.files(gid) == []
    assert services.store.read_summary(gid) is None
    assert not services.store.generation_dir(gid).exists()
    link = services.store.sign(f"clips/{gid}/beat.mp3")
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    with pytest.raises(NotFound):
        services.store.verify(f"clips/{gid}/beat.mp3", query["exp"], query["sig"])
    if broken == "clips":
        # Every try rendered in full and then could not commit: no staging copy stays behind.
        assert not [p for p in services.store.staging_root.iterdir() if p.name.startswith(gid)]


async def test_fault_engine_raises_three_tries_with_backoff_then_friendly_failure(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Extends test_jobs' retry tests: the fault is raised inside engine code (a real beat
    whose mix stage blows up), and we check the timing, the events, the reply and the logs."""
    marker = tmp_path / "tries"
    monkeypatch.setenv(fault_work.MARKER_ENV, str(marker))
    monkeypatch.setitem(tasks.WORK, JobType.BEAT, fault_work.beat_with_broken_mixer)
    record = await queue_beat(services, "make a lofi beat at 80 for 4 seconds", "engine")

    # The worker's handlers: text and JSON lines, tagged through the job's context variable.
    from adapters.cli.service import log_handler

    text_out, json_out = io.StringIO(), io.StringIO()
    handlers = [log_handler("text", text_out), log_handler("json", json_out)]
    bot_log = logging.getLogger("bot")
    for handler in handlers:
        bot_log.addHandler(handler)
    caplog.set_level(logging.INFO, logger="bot")
    try:
        await run_worker(_quick_retries(settings, 0.3), redis_handle)
    finally:
        for handler in handlers:
            bot_log.removeHandler(handler)

    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED and record.tries == 3
    stamps = [float(x) for x in marker.read_text().split()]
    assert len(stamps) == 3  # three tries, no fourth
    gaps = np.diff(stamps)
    # Exponential backoff: 0.3 s then 0.6 s before the next try (plus start-up of each try).
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6, gaps
    assert gaps[0] < 0.3 + 5 and gaps[1] < 0.6 + 5, gaps

    events = await job_events(services, record.job_id)
    names = [name for name, _ in events]
    assert names.count("generation:started") == 1 and names.count("generation:failed") == 1
    assert "generation:completed" not in names
    failed = next(data for name, data in events if name == "generation:failed")
    reply = replies_for_event("generation:failed", failed, services.store)
    assert isinstance(reply, FailedReply)
    assert reply.text.startswith("I couldn't finish this after 3 tries")
    assert "try again" in reply.text and "FloatingPointError" not in reply.text
    _friendly(reply.text)
    assert services.store.files(record.generation_id) == []

    # Structured logs: every line about this job carries its ids (caplog sees `extra=`).
    ids = {
        "job_id": record.job_id,
        "generation_id": record.generation_id,
        "job_type": "generate-beat",
    }
    mine = [r for r in caplog.records if r.name == "bot.tasks" and r.__dict__.get("job_id")]
    assert mine and all({k: getattr(r, k) for k in ids} == ids for r in mine)
    assert sorted({r.job_try for r in mine}) == [1, 2, 3]
    assert [r for r in mine if r.exc_info], "each failed try logs its traceback"
    lines = [json.loads(line) for line in json_out.getvalue().splitlines()]
    tagged = [line for line in lines if line.get("job_id") == record.job_id]
    assert len(tagged) >= 6 and all(
        line["generation_id"] == record.generation_id for line in tagged
    )
    assert any("FloatingPointError" in line.get("exc", "") for line in tagged)
    assert any("gave up after 3 tries" in line["message"] for line in tagged)
    assert f"[job={record.job_id} gen={record.generation_id} type=generate-beat try=3]" in (
        text_out.getvalue()
    )


async def test_fault_job_over_its_time_limit_fails_with_a_sentence(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """arq cancels a job at job_timeout and never retries it; the job must not stay "active"
    with nobody told: it stops just before and fails with a sentence, announced once."""
    from tests import pool_work
    from tests.audio_fixtures import write_tone

    monkeypatch.setitem(tasks.WORK, JobType.MASTER, pool_work.slow_master)
    short = settings.model_copy(
        update={"queue": settings.queue.model_copy(update={"job_timeout": 5})}
    )
    track = await services.store.save_upload(write_tone(tmp_path / "t.wav").read_bytes(), "t.wav")
    record = await services.queue.enqueue(
        JobType.MASTER, {"track_id": track.file_id, "seconds": 6}, user_id="slow"
    )
    await run_worker(short, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED and record.tries == 1, (record.state, record.stage)
    assert record.error is not None and "5 s limit" in record.error
    _friendly(record.error)
    events = await job_events(services, record.job_id)
    assert [n for n, _ in events].count("generation:failed") == 1
    assert services.store.files(record.generation_id) == []
