"""Soak: mixed traffic for a long while, sampling memory; opt-in, never run in CI.

    python3 -m benchmarks.soak --minutes 30 [--workers 2] [--rate 0.5]

One in-process assistant (as `beatbot serve` runs it) and real worker processes on one Redis
(REDIS_URL, else an embedded one). People in a few channels send a mix of messages at
`--rate` messages per second: new beats, variations, tempo changes, stems and masters of the
last clip, status, help and small talk. Every minute it samples the resident memory of this
process, each worker and its render processes. At the end it prints a table and checks:

- every beat, stems and master job finished once (none lost, none failed, none twice);
- memory is flat: no process's peak over the second half of the run is more than
  `--max-growth` MiB above its peak over the first half (the first half is the warm-up:
  caches fill, pools start; peaks, because a render process swells with each clip). A
  worker's children (its render processes and their manager) are counted together and by
  the largest, since render processes are replaced now and then.

Exit status 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

from benchmarks.common import single_threaded

single_threaded()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.common import children_of, percentile  # noqa: E402
from benchmarks.fleet import Fleet, fleet  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.jobs import Origin  # noqa: E402
from bot.messages import ErrorReply, JobAccepted, Message  # noqa: E402

GENRES = ("trap", "lo-fi", "boom bap", "house", "drill", "techno", "jazz", "rock")
FOLLOW_UPS = ("another one", "make it faster", "a bit slower", "stems for that",
              "master it for club", "now as house")  # fmt: skip
SMALL = ("status", "help", "genres", "thanks!", "lol")


@dataclass
class Soak:
    accepted: list[str] = field(default_factory=list)
    acks_ms: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)


def _message(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        mood, genre = rng.choice(("dark", "chill", "hype", "")), rng.choice(GENRES)
        return f"make a {mood} {genre} beat for {rng.choice((4, 8, 15))} seconds"
    if roll < 0.7:
        return rng.choice(FOLLOW_UPS)
    return rng.choice(SMALL)


async def _traffic(assistant: Assistant, soak: Soak, until: float, rate: float) -> None:
    rng = random.Random(5)
    pending: set[asyncio.Task[None]] = set()

    async def one(text: str, origin: Origin) -> None:
        started = time.perf_counter()
        replies = [reply async for reply in assistant.handle(Message(text, origin))]
        soak.acks_ms.append((time.perf_counter() - started) * 1000)
        for reply in replies:
            if isinstance(reply, JobAccepted):
                soak.accepted.append(reply.job_id)
            elif isinstance(reply, ErrorReply):
                soak.refusals[reply.text.split(".")[0][:60]] += 1

    while time.monotonic() < until:
        channel = f"c{rng.randrange(4)}"
        user = f"u{rng.randrange(40)}"
        origin = Origin(platform="discord", channel=channel, thread=f"{channel}-{user}", user=user)
        task = asyncio.create_task(one(_message(rng), origin))
        pending.add(task)
        task.add_done_callback(pending.discard)
        soak.sent += 1
        await asyncio.sleep(rng.expovariate(rate))
    await asyncio.gather(*pending)


def _rss_mib(pid: int | str) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _sample(crew: Fleet, soak: Soak, until: float, every: float) -> None:
    start = time.monotonic()
    while True:
        sample = {"assistant (this process)": _rss_mib("self")}
        for n, worker in enumerate(crew.workers):
            sample[f"worker {n + 1}"] = _rss_mib(worker.pid)
            # By role, not by pid: a render process is replaced every TASKS_PER_CHILD jobs,
            # and the replacement must be compared with the process it replaced.
            children = [_rss_mib(child) for child in children_of(worker.pid)]
            sample[f"worker {n + 1} children, total"] = sum(children)
            sample[f"worker {n + 1} largest child"] = max(children, default=0.0)
        soak.samples.append((time.monotonic() - start, sample))
        if time.monotonic() >= until:
            return
        await asyncio.sleep(min(every, max(0.0, until - time.monotonic())))


async def _outcomes(crew: Fleet, job_ids: set[str], timeout: float) -> tuple[Counter[str], int]:
    """Completions per job and failures, from the whole event stream, once all are done."""
    deadline = time.monotonic() + timeout
    while True:
        completed: Counter[str] = Counter()
        failed = 0
        position = "0"
        while batch := await crew.services.events.read_since(position, count=1000):
            position = batch[-1][0]
            for _id, name, data in batch:
                if name == "generation:completed":
                    completed[str(data.get("jobId"))] += 1
                elif name == "generation:failed":
                    failed += 1
        if job_ids <= completed.keys() or time.monotonic() > deadline:
            return completed, failed
        await asyncio.sleep(1.0)


async def run(minutes: float, workers: int, rate: float, max_growth: float) -> int:
    console = Console(width=140)
    # The event stream must hold every event of the run for the exactly-once check.
    async with fleet({"BEATBOT_QUEUE__STREAM_MAXLEN": "1000000"}) as crew:
        crew.start_workers(workers, render_processes=1)
        assistant = Assistant(crew.services)
        soak = Soak()
        until = time.monotonic() + minutes * 60
        every = max(5.0, min(60.0, minutes * 60 / 30))
        console.print(f"soaking for {minutes:g} min at {rate:g} msg/s with {workers} workers…")
        await asyncio.gather(
            _traffic(assistant, soak, until, rate), _sample(crew, soak, until, every)
        )
        completed, failed = await _outcomes(crew, set(soak.accepted), timeout=300)
        await _sample(crew, soak, time.monotonic(), every)  # one more, after the drain
    return _report(console, soak, completed, failed, max_growth)


def _report(
    console: Console, soak: Soak, completed: Counter[str], failed: int, max_growth: float
) -> int:
    jobs = set(soak.accepted)
    lost = jobs - completed.keys()
    twice = [job for job, n in completed.items() if n > 1]
    table = Table(title="soak: memory (VmRSS, MiB) over the run")
    names = list(soak.samples[-1][1])
    table.add_column("process")
    table.add_column("start")
    table.add_column("half-way")
    table.add_column("end")
    table.add_column("peak 2nd half - peak 1st half")
    cut = len(soak.samples) // 2
    middle_sample = soak.samples[cut][1]
    grown = {}
    for name in names:
        early = max(sample.get(name, 0.0) for _, sample in soak.samples[: max(1, cut)])
        late = max(sample.get(name, 0.0) for _, sample in soak.samples[cut:])
        grown[name] = late - early
        first, last = soak.samples[0][1].get(name, 0.0), soak.samples[-1][1].get(name, 0.0)
        middle = middle_sample.get(name, 0.0)
        table.add_row(name, f"{first:.0f}", f"{middle:.0f}", f"{last:.0f}", f"{late - early:+.0f}")
    console.print(table)
    console.print(
        f"{soak.sent} messages, {len(jobs)} jobs: {len(completed)} completed, {failed} failed, "
        f"{len(lost)} lost, {len(twice)} completed twice; ack p50 "
        f"{percentile(soak.acks_ms, 50):.0f} ms, p95 {percentile(soak.acks_ms, 95):.0f} ms; "
        f"refusals: {dict(soak.refusals) or 'none'}"
    )
    flat = all(growth <= max_growth for growth in grown.values())
    healthy = not lost and not twice and not failed and flat
    console.print("soak passed" if healthy else "soak FAILED: see above")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m benchmarks.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.5, help="messages per second")
    parser.add_argument("--max-growth", type=float, default=50.0,
                        help="MiB a process may grow over the second half")  # fmt: skip
    args = parser.parse_args(argv)
    return asyncio.run(run(args.minutes, args.workers, args.rate, args.max_growth))


if __name__ == "__main__":
    sys.exit(main())
