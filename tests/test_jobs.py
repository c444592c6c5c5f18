"""Jobs end to end on a real Redis with real arq workers and real audio.

Each test queues work through the assistant or the queue client, runs a burst-mode worker
(in-process, with its render pool of child processes), and checks the record, the files and
the events on the stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
import soundfile
from yarl import URL

from adapters.daw_server import create_app
from bot.assistant import Assistant, replies_for_event
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState, JobType, Origin
from bot.messages import ErrorReply, JobAccepted, Message, ResultReply
from bot.queue import CANCELLED
from bot.requests import beat_request
from bot.services import Services
from engine.audio_io import decode
from tests import pool_work
from tests.audio_fixtures import write_tone
from tests.daw_schemas import fetch_documents, frames_until
from tests.workers import run_worker

AUTH = {"Authorization": "Bearer links-token"}


async def events_of(services: Services) -> list[tuple[str, dict[str, Any]]]:
    return [(name, data) for _, name, data in await services.events.read_since("0", count=1000)]


def origin(thread: str = "t1") -> Origin:
    return Origin(platform="cli", channel="terminal", thread=thread, user="ada")


async def test_beat_job_end_to_end_with_events_in_order(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    assistant = Assistant(services)
    replies = [
        r
        async for r in assistant.handle(
            Message("make a dark trap beat at 140 for 8 seconds", origin("beat"))
        )
    ]
    accepted = replies[0]
    assert isinstance(accepted, JobAccepted), replies
    await run_worker(settings, redis_handle)

    record = await services.queue.status(accepted.job_id)
    assert record.state is JobState.COMPLETED, record.error
    result = record.result
    assert result is not None
    assert result["genre"] == "trap" and result["bpm"] == 140 and result["mood"] == "dark"
    assert "audioUrl" not in result  # links are signed where they are handed out
    main = services.store.local(next(f["path"] for f in result["files"] if f["kind"] == "audio"))
    assert services.store.local(result["audioPath"]) == main
    assert main.exists() and main.suffix == ".mp3"
    kinds = sorted(f["kind"] for f in result["files"])
    assert kinds == ["audio", "image"]  # what a chat posts; stems and MIDI come when asked

    events = await events_of(services)
    names = [name for name, _ in events]
    assert names[0] == "generation:started"
    assert names[-3:] == ["generation:completed", "daw:audio:loaded", "daw:transport:sync"]
    percents = [data["percent"] for name, data in events if name == "generation:progress"]
    assert percents and percents == sorted(percents) and len(set(percents)) == len(percents)
    loaded = next(data for name, data in events if name == "daw:audio:loaded")
    assert loaded["trackName"] == "trap - 140 BPM"
    assert loaded["clip"]["bpm"] == 140 and loaded["clip"]["key"] == result["key"]
    assert next(d for n, d in events if n == "daw:transport:sync")["bpm"] == 140
    assert all(d["origin"]["thread"] == "beat" for n, d in events if n.startswith("generation"))


async def test_master_upload_job_lands_on_the_preset(
    services: Services, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    source = write_tone(tmp_path / "song.wav")
    upload = await services.store.save_upload(source.read_bytes(), "song.wav")
    record = await services.queue.enqueue(
        JobType.MASTER,
        {"track_id": upload.file_id, "target_lufs": -9.0, "quality": "cd"},
        origin=origin(),
    )
    await run_worker(settings, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.COMPLETED, record.error
    audio, sr = soundfile.read(services.store.local(record.result["audioPath"]))
    assert abs(pyloudnorm.Meter(sr).integrated_loudness(audio) - (-9.0)) <= 0.5
    assert record.result["before"]["lufs"] < -15


async def test_stems_and_mix_jobs_on_uploads(
    services: Services, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    first = await services.store.save_upload(write_tone(tmp_path / "a.wav").read_bytes(), "a.wav")
    second = await services.store.save_upload(
        write_tone(tmp_path / "b.wav", seconds=3, level=0.3).read_bytes(), "b.wav"
    )
    stems = await services.queue.enqueue(
        JobType.STEMS,
        {"audio_file_id": first.file_id, "stem_types": ["drums", "bass"]},
        origin=origin(),
    )
    mix = await services.queue.enqueue(
        JobType.MIX,
        {"track_ids": [first.file_id, second.file_id], "mix_profile": "warm"},
        origin=origin(),
    )
    await run_worker(settings, redis_handle)
    stems = await services.queue.status(stems.job_id)
    assert stems.state is JobState.COMPLETED, stems.error
    names = sorted(Path(f["path"]).stem for f in stems.result["files"] if f["kind"] == "stem")
    assert names == ["bass", "drums", "rest"]
    assert "DSP" in stems.result["note"] or "dsp" in stems.result["method"]
    mix = await services.queue.status(mix.job_id)
    assert mix.state is JobState.COMPLETED, mix.error
    assert mix.result["truePeak"] <= -1.0
    assert abs(mix.result["duration"] - 4.0) < 0.05  # padded to the longest track


async def test_bad_input_fails_at_once_without_retries(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    not_audio = await services.store.save_upload(b"this is a text file\n" * 50, "notes.mp3")
    record = await services.queue.enqueue(
        JobType.MASTER, {"track_id": not_audio.file_id, "target_lufs": -14.0}, origin=origin()
    )
    await run_worker(settings, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED
    assert record.tries == 1
    assert "Traceback" not in (record.error or "") and len(record.error or "") > 10
    failed = [d for n, d in await events_of(services) if n == "generation:failed"]
    assert len(failed) == 1 and failed[0]["error"] == record.error


async def test_transient_failure_retries_with_backoff_then_succeeds(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import tasks

    marker = tmp_path / "failures"
    monkeypatch.setitem(tasks.WORK, JobType.MASTER, pool_work.flaky_master)
    fast = settings.model_copy(
        update={"queue": settings.queue.model_copy(update={"retry_backoff": 0.3})}
    )
    track = await services.store.save_upload(write_tone(tmp_path / "t.wav").read_bytes(), "t.wav")
    record = await services.queue.enqueue(
        JobType.MASTER,
        {"track_id": track.file_id, "marker": str(marker), "fail_times": 2},
        origin=origin(),
    )
    await run_worker(fast, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.COMPLETED, record.error
    assert record.tries == 3
    stamps = [float(x) for x in marker.read_text().split()]
    gaps = np.diff(stamps)
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6  # exponential: 0.3 s, then 0.6 s
    started = [n for n, _ in await events_of(services) if n == "generation:started"]
    assert len(started) == 1  # a retry does not announce the job again


async def test_failure_after_all_tries_is_friendly(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import tasks

    monkeypatch.setitem(tasks.WORK, JobType.MASTER, pool_work.flaky_master)
    fast = settings.model_copy(
        update={"queue": settings.queue.model_copy(update={"retry_backoff": 0.05})}
    )
    track = await services.store.save_upload(write_tone(tmp_path / "t.wav").read_bytes(), "t.wav")
    record = await services.queue.enqueue(
        JobType.MASTER,
        {"track_id": track.file_id, "marker": str(tmp_path / "m"), "fail_times": 99},
        origin=origin(),
    )
    await run_worker(fast, redis_handle)
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED and record.tries == 3
    assert record.error and record.error.startswith("I couldn't finish this after 3 tries")


async def test_cancel_a_waiting_job(services: Services) -> None:
    record = await services.queue.enqueue(JobType.MASTER, {"target_lufs": -14}, origin=origin())
    cancelled = await services.queue.cancel(record.job_id)
    assert cancelled.state is JobState.FAILED and cancelled.error == CANCELLED
    assert (await services.queue.stats())["waiting"] == 0
    assert [n for n, _ in await events_of(services)] == ["generation:failed"]


async def test_cancel_a_running_job(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import tasks

    monkeypatch.setitem(tasks.WORK, JobType.MASTER, pool_work.slow_master)
    track = await services.store.save_upload(write_tone(tmp_path / "t.wav").read_bytes(), "t.wav")
    record = await services.queue.enqueue(
        JobType.MASTER, {"track_id": track.file_id, "seconds": 20}, origin=origin()
    )
    worker = asyncio.create_task(run_worker(settings, redis_handle))
    for _ in range(200):
        if (await services.queue.status(record.job_id)).state is JobState.ACTIVE:
            break
        await asyncio.sleep(0.05)
    await services.queue.cancel(record.job_id)
    await asyncio.wait_for(worker, 10)  # the 20 s render is stopped, not waited for
    record = await services.queue.status(record.job_id)
    assert record.state is JobState.FAILED and record.error == CANCELLED
    names = [
        n for n, d in await events_of(services) if d.get("generationId") == record.generation_id
    ]
    assert names == ["generation:started", *names[1:-1], "generation:failed"]
    assert "generation:completed" not in names and "daw:audio:loaded" not in names


async def test_queue_stats_count_states(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    bad = await services.store.save_upload(b"\x00" * 4096, "zeros.wav")
    for _ in range(2):
        await services.queue.enqueue(
            JobType.MASTER, {"track_id": bad.file_id, "target_lufs": -14}, origin=origin()
        )
    assert (await services.queue.stats())["waiting"] == 2
    await run_worker(settings, redis_handle)
    stats = await services.queue.stats()
    assert stats == {"waiting": 0, "active": 0, "completed": 0, "failed": 2, "total": 0}


async def test_quota_refusal_is_a_sentence_and_queues_nothing(
    services: Services, settings: Settings
) -> None:
    tight = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"daily_audio_seconds": 20})}
    )
    services.limits = type(services.limits)(services.redis, settings.queue.key_prefix, tight.limits)
    assistant = Assistant(services)
    first = [r async for r in assistant.handle(Message("house beat 15 seconds", origin()))]
    second = [r async for r in assistant.handle(Message("house beat 15 seconds", origin()))]
    assert isinstance(first[0], JobAccepted)
    assert isinstance(second[0], ErrorReply) and "left of today's" in second[0].text
    assert (await services.queue.stats())["waiting"] == 1


async def test_a_persons_defaults_fill_only_what_the_message_leaves_out(
    services: Services,
) -> None:
    assistant = Assistant(services)
    defaults = {"duration": "6", "format": "flac", "quality": "cd"}
    said = [
        r
        async for r in assistant.handle(
            Message("make a trap beat for 10 seconds", origin("d1"), defaults=defaults)
        )
    ]
    record = await services.queue.status(said[0].job_id)
    assert (record.data["duration"], record.data["format"], record.data["quality"]) == (
        10,
        "flac",
        "cd",
    )


async def test_workers_take_a_job_only_when_a_render_process_is_free(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    """max_jobs is 5, each worker has one render process: a worker leaves queued jobs to the
    other (plain arq would take them all at once and hold them), and skips past the job the
    other one is rendering instead of waiting behind it."""
    assert settings.queue.max_jobs >= 4
    request = beat_request({"genre": "house", "duration": 3}, settings).model_dump(mode="json")
    ids = [
        (await services.queue.enqueue(JobType.BEAT, request, origin=origin(f"slot{i}"))).job_id
        for i in range(4)
    ]
    workers = asyncio.gather(run_worker(settings, redis_handle), run_worker(settings, redis_handle))
    most_active = 0
    while not workers.done():
        states = [(await services.queue.status(job_id)).state for job_id in ids]
        most_active = max(most_active, states.count(JobState.ACTIVE))
        await asyncio.sleep(0.01)
    await workers
    states = [(await services.queue.status(job_id)).state for job_id in ids]
    assert states == [JobState.COMPLETED] * 4
    assert most_active == 2  # one per worker: never more, and both busy at once


async def test_a_worker_starts_the_next_job_as_soon_as_one_ends_not_at_its_next_poll(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    """With a 5 s poll, the second job would wait up to 5 s for a look at the queue; the
    worker looks again the moment the first job ends."""
    request = beat_request({"genre": "house", "duration": 3}, settings).model_dump(mode="json")
    ids = [
        (await services.queue.enqueue(JobType.BEAT, request, origin=origin(f"wake{i}"))).job_id
        for i in range(2)
    ]
    await run_worker(settings, redis_handle, poll_delay=5.0)
    records = [await services.queue.status(job_id) for job_id in ids]
    assert [r.state for r in records] == [JobState.COMPLETED] * 2
    first, second = sorted(records, key=lambda r: r.started_at or 0.0)
    assert first.finished_at is not None and second.started_at is not None
    assert second.started_at >= first.finished_at  # one render process: one job at a time
    assert second.started_at - first.finished_at < 1.0


async def test_links_are_signed_by_the_process_that_hands_them_out(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    aiohttp_client: Callable[..., Any],
) -> None:
    """A worker with another public URL (its default) stores storage references only; the
    server signs every link it hands out (WebSocket, REST, history, chat) with its own."""
    served = "http://daw.example:9911"
    services.store.public_url = served  # the serve process's storage.public_url
    worker_settings = settings.model_copy(
        update={"storage": settings.storage.model_copy(update={"public_url": "http://w:1"})}
    )
    api = await aiohttp_client(create_app(services, "links-token"))
    documents = await fetch_documents(api, "links-token")
    ws = await api.ws_connect("/ws?token=links-token&user=ada")
    await asyncio.sleep(0.2)  # let the hub pick the stream position up
    said = [r async for r in Assistant(services).handle(Message("house beat 3 s", origin("l")))]
    await run_worker(worker_settings, redis_handle)
    record = await services.queue.status(said[0].job_id)
    assert record.state is JobState.COMPLETED, record.error

    stored = json.dumps(record.result)
    assert "http" not in stored and services.store.is_ref(record.result["audioPath"])
    for item in record.result["files"]:
        assert services.store.local(item["path"]).is_file()

    frames = await frames_until(ws, "daw:transport:sync", documents)
    await ws.close()
    completed = next(f["data"] for f in frames if f["event"] == "generation:completed")
    loaded = next(f["data"] for f in frames if f["event"] == "daw:audio:loaded")
    mine = {**AUTH, "x-user-id": "ada"}  # status is the asker's own
    status = await (await api.get(f"/api/generate/status/{record.job_id}", headers=mine)).json()
    history = await (await api.get("/api/history", headers={**AUTH, "x-user-id": "ada"})).json()
    reply = replies_for_event("generation:completed", {**completed, "result": record.result},
                              services.store)  # fmt: skip
    assert isinstance(reply, ResultReply)
    links = [
        completed["result"]["audioUrl"],
        completed["result"]["previewUrl"],
        *(f["url"] for f in completed["result"]["files"]),
        loaded["clip"]["url"],
        loaded["clip"]["downloadUrl"],
        status["status"]["result"]["audioUrl"],
        *(f["url"] for f in status["status"]["result"]["files"]),
        history["history"][0]["audioUrl"],
        (await services.history.list("ada"))[0]["audioUrl"],
        *(f.url for f in reply.files),
    ]
    assert all(link.startswith(f"{served}/files/clips/") for link in links), links
    assert all(f.path.is_file() for f in reply.files)
    download = await api.get(str(URL(loaded["clip"]["downloadUrl"]).relative()))
    assert download.status == 200 and len(await download.read()) > 10_000


async def test_a_chat_beat_keeps_what_it_posts_and_renders_stems_and_midi_when_asked(
    services: Services, settings: Settings, redis_handle: RedisHandle, tmp_path: Path
) -> None:
    from engine.compose import BeatSpec
    from engine.pipeline import (
        compose_stage,
        make_beat,
        master_ceiling,
        master_stage,
        mix_stage,
        render_stage,
    )

    assistant = Assistant(services)
    thread = origin("lean")

    async def say(text: str) -> Any:
        replies = [r async for r in assistant.handle(Message(text, thread))]
        assert len(replies) == 1, replies
        return replies[0]

    accepted = await say("make a dark trap beat at 140")  # the chat default: 30 s, MP3
    assert isinstance(accepted, JobAccepted), accepted
    await run_worker(settings, redis_handle)
    beat = await services.queue.status(accepted.job_id)
    assert beat.state is JobState.COMPLETED, beat.error
    folder = services.store.generation_dir(beat.generation_id)
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert on_disk <= 8 * 2**20, f"{on_disk / 2**20:.1f} MB for one chat beat"
    assert not (folder / "stems").exists() and not (folder / "beat.mid").exists()

    # Stems, asked later: a job renders them from the request and seed.
    since = await services.events.last_id()
    queued = await say("stems")
    assert isinstance(queued, JobAccepted), queued
    await run_worker(settings, redis_handle)
    job = await services.queue.status(queued.job_id)
    assert job.state is JobState.COMPLETED, job.error
    completed = [
        d
        for _, n, d in await services.events.read_since(since)
        if n == "generation:completed" and d["jobId"] == job.job_id
    ]
    reply = replies_for_event("generation:completed", completed[0], services.store)
    assert isinstance(reply, ResultReply) and {f.kind for f in reply.files} == {"stem"}
    names = sorted(f.path.stem for f in reply.files)
    assert {"drums", "bass", "chords"} <= set(names) and "kick" not in names, names

    # Every stem the beat has: together they are its mix before mastering...
    request = beat.data
    spec = BeatSpec(request["genre"], request["bpm"], request["key"], request["mood"],
                    request["duration"])  # fmt: skip
    arrangement = compose_stage(spec, request["seed"])
    sr = 44100  # the job's rate when a request names none
    premaster = mix_stage(render_stage(arrangement, sr), sr, request["mix_profile"], bpm=140)
    total = sum(soundfile.read(f.path, dtype="float32", always_2d=True)[0] for f in reply.files)
    assert total.shape == premaster.mix.shape
    assert np.max(np.abs(total - premaster.mix)) < 1e-4  # 24-bit WAVs
    # ...and mastered as the job did, they are the clip that was posted.
    posted_path = services.store.local(beat.result["audioPath"])
    ceiling = master_ceiling(-1.0, posted_path)  # the job's default ceiling
    mastered = master_stage(total, sr, request["target_lufs"], ceiling, request["mix_profile"])
    posted = decode(posted_path)
    frames = min(len(posted), len(mastered.audio))
    residual = posted[:frames] - mastered.audio[:frames]
    snr = 10 * np.log10(np.mean(mastered.audio[:frames] ** 2) / np.mean(residual**2))
    assert snr > 20, f"the stems mastered differ from the posted clip ({snr:.1f} dB SNR)"

    # Asked again: straight from the beat's folder, no job, the same files untouched.
    stamps = {f.path: f.path.stat().st_mtime_ns for f in reply.files}
    again = await say("stems")
    assert isinstance(again, ResultReply), again
    assert {f.path: f.path.stat().st_mtime_ns for f in again.files} == stamps
    assert all(f.url.startswith(settings.storage.public_url) for f in again.files)
    only = await say("stems drums")
    assert isinstance(only, ResultReply) and [f.path.stem for f in only.files] == ["drums"]

    # MIDI on demand: the file `beatbot make --midi` writes for that request and seed.
    midi = await say("midi")
    assert isinstance(midi, ResultReply) and [f.kind for f in midi.files] == ["midi"]
    made = make_beat(spec, request["seed"], out_path=tmp_path / "b.wav",
                     midi_path=tmp_path / "b.mid")  # fmt: skip
    assert midi.files[0].path.read_bytes() == Path(made.midi_path).read_bytes()
    stamp = midi.files[0].path.stat().st_mtime_ns
    assert (await say("midi")).files[0].path.stat().st_mtime_ns == stamp  # kept
