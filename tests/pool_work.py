"""Functions the render-pool tests run in child processes (importable by spawn)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def staged(count: int, *, progress: Callable[[str, float], None]) -> dict[str, int]:
    for index in range(count):
        progress(f"Stage {index + 1}", (index + 1) / (count + 1))
        time.sleep(0.05)
    return {"pid": os.getpid(), "stages": count}


def resident_mib(*, progress: Callable[[str, float], None]) -> float:
    with open("/proc/self/statm", "rb") as statm:  # Linux, like the allocator it measures
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def swell(mib: int, *, progress: Callable[[str, float], None]) -> float:
    """Fill and free `mib` MiB in 64 MiB arrays (heap blocks, as a render's are)."""
    import numpy as np

    blocks = [np.ones(64 * 2**20 // 8) for _ in range(mib // 64)]
    del blocks
    return resident_mib(progress=progress)


def explode(message: str, *, progress: Callable[[str, float], None]) -> None:
    progress("About to fail", 0.5)
    raise ValueError(message)


def die(*, progress: Callable[[str, float], None]) -> None:
    progress("Dying", 0.5)
    os._exit(9)


def _master_summary(folder: str) -> dict:
    import numpy as np
    import soundfile

    soundfile.write(f"{folder}/master.wav", np.zeros((4410, 2), dtype=np.float32) + 0.01, 44100)
    loud = {"lufs": -14.0, "lra": 3.0, "truePeak": -1.5}
    return {
        "kind": "master",
        "main": "master.wav",
        "format": "wav",
        "duration": 0.1,
        "before": loud,
        "after": loud,
        "lufs": -14.0,
        "truePeak": -1.5,
    }


def flaky_master(data: dict, inputs: dict, folder: str, *, progress: Callable) -> dict:
    """Fails `fail_times` times (a transient fault: disk, OOM...), stamping each try."""
    from pathlib import Path

    marker = Path(data["marker"])
    with marker.open("a") as fh:
        fh.write(f"{time.time()}\n")
    tries = len(marker.read_text().split())
    progress("Mastering", 0.5)
    if tries <= int(data["fail_times"]):
        raise OSError(f"injected transient failure {tries}")
    return _master_summary(folder)


def slow_master(data: dict, inputs: dict, folder: str, *, progress: Callable) -> dict:
    for step in range(int(data["seconds"] * 10)):
        progress("Mastering", min(0.9, step / 100))
        time.sleep(0.1)
    return _master_summary(folder)


def blas_threads(*, progress: Callable[[str, float], None]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
