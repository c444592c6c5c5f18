"""Engine speed: render + mix + master a 30 s stereo 44.1 kHz beat per genre, on one core.

    python3 -m benchmarks engine        (or python3 benchmarks/bench_engine.py)

Each genre is timed after a warm-up take (so imports and the instrument cache of that
genre are in place, as in a long-running worker), excluding process start and file
encoding. "x realtime" = 30 s of audio / seconds spent. Peak memory is the tracemalloc
peak of numpy/Python allocations during one take. The first (cold) take is shown too.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

# One core, as the issue asks: pin BLAS/FFT threads before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.compose import BeatSpec  # noqa: E402
from engine.genres import GENRES  # noqa: E402
from engine.pipeline import compose_stage, master_stage, mix_stage, render_stage  # noqa: E402

SECONDS = 30.0
SR = 44100


def _take(spec: BeatSpec, seed: int) -> dict[str, float]:
    """Seconds per stage for one beat."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    arrangement = compose_stage(spec, seed)
    times["compose"] = time.perf_counter() - start
    mark = time.perf_counter()
    stems = render_stage(arrangement, SR)
    times["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    mixed = mix_stage(stems, SR, "balanced", bpm=spec.bpm)
    times["mix"] = time.perf_counter() - mark
    mark = time.perf_counter()
    master_stage(mixed.mix, SR, -14.0, -1.0, "balanced")
    times["master"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    times["audio"] = arrangement.duration
    return times


def run() -> list[dict]:
    rows = []
    for genre in GENRES:
        spec = BeatSpec(
            genre.name, genre.default_bpm, genre.default_key, genre.default_mood, SECONDS
        )
        cold = _take(spec, 1)
        tracemalloc.start()
        warm = _take(spec, 2)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        warm = min((warm, _take(spec, 2)), key=lambda t: t["total"])
        rows.append(
            {
                "genre": genre.name,
                "audio s": round(warm["audio"], 2),
                "compose ms": warm["compose"] * 1000,
                "render ms": warm["render"] * 1000,
                "mix ms": warm["mix"] * 1000,
                "master ms": warm["master"] * 1000,
                "x realtime": warm["audio"] / warm["total"],
                "cold x realtime": cold["audio"] / cold["total"],
                "peak MiB": peak / 2**20,
            }
        )
    total_audio = sum(r["audio s"] for r in rows)
    total_time = sum(r["audio s"] / r["x realtime"] for r in rows)
    rows.append(
        {"genre": "all", "audio s": round(total_audio, 2), "x realtime": total_audio / total_time}
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(
            "  ".join(
                f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            )
        )
