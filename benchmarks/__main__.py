"""Run every benchmark and print one table per benchmark: `python3 -m benchmarks [NAME ...]`.

Each module `benchmarks/bench_<name>.py` exposes `run() -> list[dict]`; rows are printed as
they are (the first row's keys are the columns) and collected into benchmarks/results.md
with a description of the machine they ran on.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent


def machine() -> str:
    cores = os.cpu_count() or 1
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "unknown memory"
    return (
        f"{platform.processor() or platform.machine()}, {cores} cores, {memory}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(names: list[str]) -> None:
    console = Console()
    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(HERE)])
        if m.name.startswith("bench_")
    )
    chosen = names or available
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}",
        "",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    for name in chosen:
        if name not in available:
            console.print(f"no benchmark named {name!r}; have: {', '.join(available)}")
            sys.exit(2)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        rows = module.run()
        elapsed = time.perf_counter() - started
        if not rows:
            continue
        columns = list(rows[0])
        table = Table(title=f"{name} ({elapsed:.1f} s)")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        console.print(table)
        lines += [f"## {name}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
        lines.append("")
    if not names:
        (HERE / "results.md").write_text("\n".join(lines))
        console.print(f"wrote {HERE / 'results.md'}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return "" if value is None else str(value)


if __name__ == "__main__":
    main(sys.argv[1:])
