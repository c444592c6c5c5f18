"""Mastering speed: master_to per preset on 30 s and 3 min stereo 44.1 kHz, on one core,
plus the meters on their own and the reference/MP3 paths.

    python3 -m benchmarks master

Material is the tests' synthesized band (tests/audio_fixtures.py), best of three runs after
a warm-up. "x realtime" = audio seconds / seconds spent.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.audio_io import write_audio  # noqa: E402
from engine.loudness import measure, true_peak_envelope  # noqa: E402
from engine.master import PRESETS, master_to, master_to_reference  # noqa: E402
from tests.audio_fixtures import dense_mix, test_mix  # noqa: E402

SR = 44100


def _best(func: Callable[[], object], runs: int = 3) -> float:
    func()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def run() -> list[dict]:
    rows = []
    for seconds in (30.0, 180.0):
        audio = dense_mix(seconds, seed=1) * 0.5
        reference = test_mix(seconds, seed=2, lufs=-10.0)

        def row(what: str, spent: float, seconds: float = seconds) -> dict:
            return {"audio s": seconds, "step": what, "ms": spent * 1000,
                    "x realtime": seconds / spent}  # fmt: skip

        rows.append(row("measure (LUFS+LRA+TP)", _best(lambda a=audio: measure(a, SR))))
        rows.append(row("true-peak envelope", _best(lambda a=audio: true_peak_envelope(a))))
        for quality, lufs in PRESETS.items():
            spent = _best(lambda a=audio, t=lufs: master_to(a, SR, t))
            rows.append(row(f"master_to {quality}", spent))
        spent = _best(lambda a=audio, r=reference: master_to_reference(a, SR, r), runs=1)
        rows.append(row("master_to_reference", spent))
        if seconds == 30.0:
            mastered = master_to(audio, SR, -8.0).audio
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "m.mp3"
                spent = _best(lambda m=mastered, o=out: write_audio(o, m, SR), runs=1)
            rows.append(row("write mp3 (encode+verify)", spent))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
