"""Job throughput with 1 and 2 workers against the ideal, and message -> clip latency.

    python3 -m benchmarks.bench_queue [--quick]

Workers are real BeatBot arq workers in their own processes (one render process each, so
one worker = one core of rendering), on one Redis. Jobs are 30 s trap beats that write what a
chat job writes (the MP3 and its waveform; stems and MIDI are made only when asked for).

- ideal: one job's work called directly (`bot.work.render_beat`) in this process, averaged
  over the jobs the throughput runs queue, best of the same number of rounds; W workers can
  at best finish W such jobs in that time.
- every timed round (and pass of the ideal) starts with the earlier rounds' clips deleted
  and the disk cache written back, so none pays the kernel for another's files.
- throughput: N jobs queued at once; from the first enqueue to the last
  `generation:completed` read back from the event stream (best of the rounds).
  efficiency = measured / ideal. Shipped config (max_jobs 5 per worker) and one job per
  render process (max_jobs 1) are both measured: a worker that takes more jobs than it has
  render processes holds them while another worker idles.
- latency: chat messages through `Assistant.handle`, one at a time on idle workers, from the
  call to reading the job's `generation:completed` from the stream; the disk each chat beat
  takes; "stems" on a chat beat until its stems job is done, and asked again (from disk).
- recovery: two idle workers; a 60 s beat is queued and the worker that takes it (its arq
  claim names it) is killed with SIGKILL mid-render. From the kill until the job runs again
  on the other worker (its record active on try 2); worst of the rounds.
"""

from __future__ import annotations

from benchmarks.common import Measure, percentile, section_main, settle_disk, single_threaded

single_threaded()

import asyncio  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.fleet import Fleet, fleet, wait_finished  # noqa: E402

EFFICIENCY_TARGET = 0.8
SECTION = "queue"
LATENCY_TARGETS = (1.0, 1.5)  # message -> clip p50, p95 (seconds)
DISK_TARGET_MB = 8.0  # per chat beat, until its stems are asked for
RECOVERY_TARGET = 30.0  # seconds from kill -9 until the job runs again (goal: 10)


def _job_data(fleet_: Fleet, seed: int) -> dict[str, Any]:
    from bot.requests import beat_request

    params = {"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 30,
              "seed": seed}  # fmt: skip
    return beat_request(params, fleet_.settings).model_dump(mode="json")


def _single_job_seconds(fleet_: Fleet, jobs: int, rounds: int) -> float:
    """Seconds of one job's work called directly, alone on the machine, as a render process
    runs it (its allocator settings; its ffmpeg encoder may use another core): the mean over
    the seeds the throughput runs queue (jobs differ: an MP3 may need a second encode), best
    of `rounds` passes, as the throughput is."""
    from bot import work
    from bot.allocator import keep_freed_memory

    keep_freed_memory()
    with tempfile.TemporaryDirectory() as tmp:
        work.render_beat(_job_data(fleet_, 999), {}, tmp, progress=lambda s, f: None)  # warm-up
    passes = []
    for _ in range(rounds):
        settle_disk()
        spent = 0.0
        with tempfile.TemporaryDirectory() as tmp:  # each pass's files gone before the next
            for seed in range(1000, 1000 + jobs):
                folder = Path(tmp) / str(seed)
                folder.mkdir()
                data = _job_data(fleet_, seed)
                start = time.perf_counter()
                work.render_beat(data, {}, str(folder), progress=lambda s, f: None)
                spent += time.perf_counter() - start
        passes.append(spent / jobs)
    return min(passes)


async def _throughput(fleet_: Fleet, jobs: int) -> float:
    from bot.jobs import JobType

    services = fleet_.services
    requests = [_job_data(fleet_, 1000 + seed) for seed in range(jobs)]
    fleet_.clear_clips()
    since = await services.events.last_id()
    start = time.perf_counter()
    ids = []
    for data in requests:
        record = await services.queue.enqueue(JobType.BEAT, data)
        ids.append(record.job_id)
    finished = await wait_finished(services, ids, since, timeout=60 + jobs * 30)
    failed = [job for job, (name, _, _) in finished.items() if name != "generation:completed"]
    if failed:
        raise RuntimeError(f"{len(failed)} benchmark jobs failed, e.g. {finished[failed[0]]}")
    return max(when for _, when, _ in finished.values()) - start


async def _ask(fleet_: Fleet, text: str, thread: str) -> tuple[Any, float]:
    """One chat message through the assistant: its reply, and the seconds until the job it
    queued finished (or until the reply, when it queued none)."""
    from bot.assistant import Assistant
    from bot.jobs import Origin
    from bot.messages import JobAccepted, Message

    since = await fleet_.services.events.last_id()
    origin = Origin(platform="discord", channel="bench", thread=thread, user=thread)
    start = time.perf_counter()
    message = Message(text, origin)
    replies = [reply async for reply in Assistant(fleet_.services).handle(message)]
    if len(replies) != 1:
        raise RuntimeError(f"expected one reply to {text!r}: {replies}")
    if not isinstance(replies[0], JobAccepted):
        return replies[0], time.perf_counter() - start
    job_id = replies[0].job_id
    done = await wait_finished(fleet_.services, [job_id], since, timeout=120)
    if done[job_id][0] != "generation:completed":
        raise RuntimeError(f"{text!r} failed: {done[job_id][2]}")
    return replies[0], done[job_id][1] - start


async def _latency(fleet_: Fleet, messages: int) -> tuple[list[float], list[float]]:
    """(message -> clip seconds, MB on disk) per chat beat, one message at a time."""
    latencies, sizes = [], []
    fleet_.clear_clips()
    for i in range(messages):
        accepted, seconds = await _ask(fleet_, f"make a dark trap beat at 140 seed {i}", f"t{i}")
        latencies.append(seconds)
        folder = fleet_.data_dir / "clips" / accepted.generation_id
        sizes.append(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20)
    return latencies, sizes


async def _stems_on_demand(fleet_: Fleet) -> tuple[float, float, int]:
    """(seconds for "stems" on a chat beat, seconds when asked again, how many stems)."""
    from bot.messages import ResultReply

    await _ask(fleet_, "make a dark trap beat at 140 seed 77", "stems")
    _queued, first = await _ask(fleet_, "stems", "stems")
    again, cached = await _ask(fleet_, "stems", "stems")
    if not isinstance(again, ResultReply):
        raise RuntimeError(f"stems asked again should come from the cache: {again}")
    return first, cached, len(again.files)


async def _recovery(fleet_: Fleet) -> tuple[float, float]:
    """(seconds until the job runs again, until it completes) after its worker is killed."""
    import signal

    from arq.constants import in_progress_key_prefix

    from bot.jobs import JobState, JobType
    from bot.liveness import HEARTBEAT_TTL

    services = fleet_.services
    fleet_.start_workers(2 - len([w for w in fleet_.workers if w.poll() is None]))
    await asyncio.sleep(HEARTBEAT_TTL + 1)  # every worker judging others
    data = {**_job_data(fleet_, 4242), "duration": 60}
    record = await services.queue.enqueue(JobType.BEAT, data)
    while not ((r := await services.queue.status(record.job_id)).progress > 0):
        await asyncio.sleep(0.02)
    claim = (await services.redis.get(in_progress_key_prefix + record.job_id) or b"").decode()
    victim = next(w for w in fleet_.workers if f"-{w.pid}-" in claim)
    victim.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    victim.wait()
    fleet_.workers.remove(victim)
    while True:
        r = await services.queue.status(record.job_id)
        if r.tries >= 2 and r.state is not JobState.WAITING:
            rerun = time.perf_counter() - killed
            break
        await asyncio.sleep(0.02)
    while not (r := await services.queue.status(record.job_id)).finished:
        await asyncio.sleep(0.05)
    if r.state is not JobState.COMPLETED:
        raise RuntimeError(f"the recovered job failed: {r.error}")
    return rerun, time.perf_counter() - killed


# (workers, max_jobs per worker): the shipped config, then one job per render process.
CONFIGS = ((1, None), (2, None), (2, 1))


async def _measure(quick: bool) -> list[Measure]:
    jobs, rounds = (6, 1) if quick else (12, 3)
    rows: list[Measure] = []
    async with fleet() as crew:
        info = await crew.services.redis.info("server")
        where = f"{crew.handle.describe().split(' (')[0]} {info.get('redis_version', '?')}"
        shipped = crew.settings.queue.max_jobs
        single = _single_job_seconds(crew, jobs, rounds)
        rows.append(
            Measure(
                SECTION,
                "one 30 s beat job's work, called directly",
                single,
                "s",
                note="bot.work.render_beat alone: the ideal's unit",
            )
        )
        rss = (0.0, 0.0)
        for workers, max_jobs in CONFIGS:
            env = {} if max_jobs is None else {"BEATBOT_QUEUE__MAX_JOBS": str(max_jobs)}
            crew.start_workers(workers, env=env)
            # Best of `rounds`: the machine may be shared, and a benchmark reports capacity.
            elapsed = min([await _throughput(crew, jobs) for _ in range(rounds)])
            measured = jobs / elapsed
            ideal = workers / single
            label = (
                f"{workers} worker{'s' * (workers > 1)} x 1 render process, "
                f"max_jobs {max_jobs or shipped}{'' if max_jobs else ' (shipped)'}"
            )
            rows.append(
                Measure(
                    SECTION,
                    f"throughput, {label}",
                    measured * 60,
                    "jobs/min",
                    note=f"{jobs} jobs in {elapsed:.1f} s (best of {rounds}); ideal "
                    f"{ideal * 60:.1f} jobs/min",
                )
            )
            rows.append(
                Measure(
                    SECTION,
                    f"queue efficiency, {label}",
                    measured / ideal,
                    "of ideal",
                    EFFICIENCY_TARGET if workers == 2 else None,
                    note=f"{os.cpu_count()} cores; Redis: {where}",
                )
            )
            if (workers, max_jobs) == CONFIGS[1]:
                latencies, sizes = await _latency(crew, 4 if quick else 12)
                rows.append(
                    Measure(
                        "latency",
                        "message -> clip p50",
                        percentile(latencies, 50),
                        "s",
                        LATENCY_TARGETS[0],
                        at_least=False,
                        note=f"{len(latencies)} chat messages one at a time, "
                        "30 s trap beat, 2 idle workers",
                    )
                )
                rows.append(
                    Measure(
                        "latency",
                        "message -> clip p95",
                        percentile(latencies, 95),
                        "s",
                        LATENCY_TARGETS[1],
                        at_least=False,
                        note="Assistant.handle -> generation:completed read from the stream",
                    )
                )
                rows.append(
                    Measure(
                        "latency",
                        "disk per chat beat",
                        max(sizes),
                        "MB",
                        DISK_TARGET_MB,
                        at_least=False,
                        note="largest of the chat beats above (30 s MP3 + waveform); stems and "
                        "MIDI only when asked for",
                    )
                )
                first, cached, count = await _stems_on_demand(crew)
                rows.append(
                    Measure(
                        "latency",
                        '"stems" on a chat beat -> stems',
                        first,
                        "s",
                        note=f"{count} stems rendered from the seed (30 s beat); asked again: "
                        f"{cached * 1000:.0f} ms, from the beat's folder",
                    )
                )
                recoveries = [await _recovery(crew) for _ in range(1 if quick else 3)]
                rerun, done = max(recoveries)
                rows.append(
                    Measure(
                        "latency",
                        "recovery after kill -9",
                        rerun,
                        "s",
                        RECOVERY_TARGET,
                        at_least=False,
                        note=f"goal 10 s; worst of {len(recoveries)}: kill of the worker "
                        f"rendering a 60 s beat -> running again elsewhere ({done:.1f} s to done)",
                    )
                )
            rss = max(rss, crew.worker_rss())
            crew.stop_workers()
    rows.append(
        Measure(
            "memory",
            "peak RSS, worker process",
            rss[0],
            "MiB",
            note="arq worker with its Redis clients (largest of the workers)",
        )
    )
    rows.append(
        Measure(
            "memory",
            "peak RSS, render process",
            rss[1],
            "MiB",
            note="the child that renders 30 s beats (largest of the children)",
        )
    )
    return rows  # fmt: skip


def measure(quick: bool) -> list[Measure]:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    section_main(measure, "job throughput and message -> clip latency")
