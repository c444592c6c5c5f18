"""The one results table (rich on the terminal, Markdown in results.md) and the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.common import Measure

_STATUS = {True: "✓ meets", False: "✗ below", None: ""}


def value_text(value: float, unit: str) -> str:
    if value != value:  # NaN: nothing was measured
        return "n/a"
    if unit in ("msgs/s", "jobs/min") or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def target_text(row: Measure) -> str:
    if row.target is None:
        return ""
    return f"{'≥' if row.at_least else '≤'} {value_text(row.target, row.unit)}"


def status_text(row: Measure) -> str:
    if row.ok is False and not row.at_least:
        return "✗ above"
    return _STATUS[row.ok]


def print_table(rows: Sequence[Measure], title: str, console: Console | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for column in ("section", "measurement", "result", "target", "status", "how"):
        table.add_column(column, overflow="fold")
    previous = ""
    for row in rows:
        style = {True: "green", False: "red", None: ""}[row.ok]
        table.add_row(
            row.section if row.section != previous else "",
            row.metric,
            value_text(row.value, row.unit),
            target_text(row),
            status_text(row),
            row.note,
            style=style,
            end_section=False,
        )
        previous = row.section
    (console or Console(width=160)).print(table)


def markdown(rows: Sequence[Measure], machine: dict[str, str], command: str, took: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}` "
        f"({took:.0f} s). Numbers are what this machine measured; nothing is estimated.",
        "",
        "## Machine",
        "",
        *(f"- {name}: {value}" for name, value in machine.items()),
        "",
        "## Results",
        "",
        "| section | measurement | result | target | status | how |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row.section,
            row.metric,
            value_text(row.value, row.unit),
            target_text(row),
            status_text(row),
            row.note,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        "## How to read it",
        "",
        "- engine: compose + render + mix + master of a 30 s stereo 44.1 kHz beat in memory, "
        "one process pinned to one core, one BLAS/FFT thread, after a warm-up take (start-up "
        "and file encoding excluded); each timed take a new seed (a new beat, its notes not yet "
        "cached); best of the timed takes. x realtime = audio seconds / seconds spent.",
        "- parse: `bot.intents.parse` on distinct generated chat messages with its cache "
        "cleared before each one (the worst case; best of 3 passes), then on repeated messages "
        "(cache hits).",
        "- queue: real arq workers (BeatBot's `build_worker`, one render process each) in their "
        "own processes on one Redis, rendering 30 s trap beats with every output a chat job "
        "writes (the MP3 and its waveform; stems and MIDI are made when asked for). Ideal = "
        "workers / (seconds one such job's work takes when called directly in one process); "
        "efficiency = measured / ideal.",
        "- latency: a chat message through `Assistant.handle` until its "
        "`generation:completed` event is read back from the event stream, one message at a time "
        'on idle workers; the disk each chat beat takes; "stems" on a chat beat until its '
        "stems are rendered (and asked again); recovery: the worker rendering a 60 s beat is "
        "killed with SIGKILL, until another worker runs the job again.",
        "- master / separate: `master_to` (streaming preset) and `separate` (all four stems) on "
        "a 3-minute synthesized band mix, one core.",
        "- peak RSS: VmHWM of each benchmark process; for workers, the largest worker process "
        "and the largest render process.",
        "",
    ]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS, Python and the numeric libraries' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for name in ("numpy", "scipy", "pedalboard", "pyloudnorm", "arq", "redis", "aiohttp"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": ", ".join(versions),
        "ffmpeg": _ffmpeg_version(),
    }


def _ffmpeg_version() -> str:
    try:
        from engine.ffmpeg import ffmpeg_version, find_ffmpeg

        path = find_ffmpeg()
        return f"{ffmpeg_version(path)} ({path})" if path else "not found"
    except Exception as exc:  # the table must still print
        return f"unknown ({type(exc).__name__})"


def git_revision() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parents[1],
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parents[1],
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    revision = done.stdout.strip() or "unknown"
    return f"{revision} (uncommitted changes)" if dirty.stdout.strip() else revision
