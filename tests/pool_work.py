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


def explode(message: str, *, progress: Callable[[str, float], None]) -> None:
    progress("About to fail", 0.5)
    raise ValueError(message)


def die(*, progress: Callable[[str, float], None]) -> None:
    progress("Dying", 0.5)
    os._exit(9)
