"""Run every benchmark, print one table and write benchmarks/results.md.

    python3 -m benchmarks              the full run (a few minutes on 2 cores)
    python3 -m benchmarks --quick      fewer repetitions (about a minute or two)
    python3 -m benchmarks --only engine parse --no-write

Each section (`benchmarks/bench_<name>.py`) runs in its own process, one after another, so
sections don't compete for the CPU and each reports its own peak memory. Targets are the
issue's; a row shows ✗ when the measurement misses one, and the command still exits 0:
benchmarks report, they don't gate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from rich.console import Console

from benchmarks.common import ROOT, Measure
from benchmarks.report import git_revision, machine, markdown, print_table

SECTIONS = ("engine", "parse", "queue", "master")
RESULTS = ROOT / "benchmarks" / "results.md"


def run_section(name: str, quick: bool, console: Console) -> list[Measure]:
    command = [sys.executable, "-m", f"benchmarks.bench_{name}", "--json"]
    if quick:
        command.append("--quick")
    with console.status(f"measuring {name}…"):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        console.print(f"[red]{name} failed[/red] ({took:.0f} s):\n" + "\n".join(tail))
        return [Measure(name, "benchmark failed: " + (tail[-1] if tail else "?"), float("nan"), "")]
    console.print(f"{name}: {took:.0f} s")
    return [Measure.from_json(row) for row in json.loads(done.stdout.strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--no-write", action="store_true", help="don't write results.md")
    args = parser.parse_args(argv)
    console = Console(width=160)
    started = time.perf_counter()
    rows: list[Measure] = []
    for name in args.only or SECTIONS:
        rows.extend(run_section(name, args.quick, console))
    took = time.perf_counter() - started
    # Group rows by section in a fixed order (memory last), keeping each section's own order.
    order = ["engine", "parse", "queue", "latency", "master/separate", "memory"]
    rows.sort(key=lambda row: order.index(row.section) if row.section in order else len(order))
    print_table(rows, title=f"BeatBot benchmarks ({'quick' if args.quick else 'full'} run)",
                console=console)  # fmt: skip
    if not args.no_write:
        command = "python3 -m benchmarks" + (" --quick" if args.quick else "")
        if args.only:
            command += " --only " + " ".join(args.only)
        description = {**machine(), "revision": git_revision()}
        RESULTS.write_text(markdown(rows, description, command, took))
        console.print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
