"""What every benchmark section shares: the row it reports, one-core pinning, peak memory,
and the child-process protocol the runner (`python3 -m benchmarks`) uses.

Each section runs in its own Python process so it starts with clean memory (its peak RSS is
its own), can pin itself to one core, and sets the BLAS/FFT thread count before numpy loads.
A section module prints its rows as one JSON line when run with `--json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measure:
    """One row of the results table.

    `target` is the issue's bound when there is one; `at_least` says which side of it is
    good. `ok` is computed, never set by hand, so a row can't claim a target it missed.
    """

    section: str
    metric: str
    value: float
    unit: str
    target: float | None = None
    at_least: bool = True
    note: str = ""

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measure:
        return cls(**data)


def single_threaded() -> None:
    """Keep numpy/scipy on one thread (call before they are imported): the engine's own
    setting, which importing it applies."""
    from engine import single_threaded as engine_setting

    engine_setting()


def settle_disk() -> None:
    """Write back what earlier rounds left in the page cache (a job writes about 70 MB), so a
    timed round doesn't pay the kernel for another round's files."""
    if hasattr(os, "sync"):
        os.sync()


def pin_to_one_core() -> str:
    """Run this process on one CPU; returns which, for the notes."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"pinned to CPU {cpus[-1]}"
    except (AttributeError, OSError):  # not Linux: say so rather than pretend
        return "not pinned (no sched_setaffinity here)"


def peak_rss_mib(pid: int | str = "self") -> float:
    """The process's peak resident memory (VmHWM) in MiB; 0.0 when it can't be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    if pid == "self":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return 0.0


def children_of(pid: int) -> list[int]:
    """Direct and indirect child process ids (from /proc), for peak memory of a worker tree."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def section_main(measure: Callable[[bool], list[Measure]], describe: str) -> None:
    """The command line of a section module: `--json` for the runner, else a small table."""
    parser = argparse.ArgumentParser(description=describe)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print rows as one JSON line")
    args = parser.parse_args()
    rows = measure(args.quick)
    if args.json:
        sys.stdout.write(json.dumps([row.to_json() for row in rows]) + "\n")
        return
    from benchmarks.report import print_table

    print_table(rows, title=describe)
