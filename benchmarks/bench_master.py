"""Mastering and stem separation speed on a 3-minute stereo 44.1 kHz track, on one core.

    python3 -m benchmarks.bench_master [--quick]

Material is the tests' synthesized band (tests/audio_fixtures.py). Each step gets a warm-up
run, then the best timed run counts. "x realtime" = audio seconds / seconds spent.
"""

from __future__ import annotations

from benchmarks.common import Measure, peak_rss_mib, pin_to_one_core, section_main, single_threaded

single_threaded()

import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

SR = 44100
SECONDS = 180.0


def _best(func: Callable[[], object], runs: int) -> float:
    func()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def measure(quick: bool) -> list[Measure]:
    from bot.allocator import keep_freed_memory

    pinned = pin_to_one_core()
    keep_freed_memory()  # as the worker's render processes do
    from engine.audio_io import write_audio
    from engine.loudness import measure as loudness
    from engine.master import PRESETS, master_to
    from engine.separate import STEM_TYPES, separate
    from tests.audio_fixtures import dense_mix

    runs = 1 if quick else 2
    audio = dense_mix(SECONDS, seed=1) * 0.5
    rows: list[Measure] = []

    def row(metric: str, spent: float, note: str = "") -> Measure:
        return Measure("master/separate", metric, SECONDS / spent, "x realtime",
                       note=f"{spent:.2f} s; {note}".rstrip("; "))  # fmt: skip

    spent = _best(lambda: master_to(audio, SR, PRESETS["streaming"]), runs)
    rows.append(row("master_to streaming (-14 LUFS), 3 min", spent, pinned))
    spent = _best(lambda: master_to(audio, SR, PRESETS["club"]), runs)
    rows.append(row("master_to club (-8 LUFS), 3 min", spent))
    spent = _best(lambda: loudness(audio, SR), runs)
    rows.append(row("loudness meter alone (LUFS, LRA, true peak), 3 min", spent))
    spent = _best(lambda: separate(audio, SR, STEM_TYPES), runs)
    rows.append(row("separate into drums, bass, melody, vocals, 3 min", spent, "DSP (HPSS)"))
    mastered = master_to(audio, SR, PRESETS["streaming"]).audio
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "master.mp3"
        spent = _best(lambda: write_audio(out, mastered, SR), 1)
    rows.append(row("write MP3 320k (encode + verify), 3 min", spent, "ffmpeg"))
    rows.append(Measure("memory", "peak RSS, master/separate process", peak_rss_mib(), "MiB"))
    return rows


if __name__ == "__main__":
    section_main(measure, "master and separate x realtime (3-minute track, one core)")
