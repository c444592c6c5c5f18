"""How a render process asks glibc to manage its memory.

A render allocates the same few dozen 5-20 MiB arrays over and over. By default glibc maps
each one fresh from the kernel and unmaps it when freed, so every array pays its page faults
again: about a sixth of a beat's render time. Raising the mmap and trim thresholds keeps
freed blocks in the heap for the next array.

Between jobs the heap is a trade: handing it all back after every job makes the next one
fault it in again (4-9% of a 30 s beat job), while never handing it back lets fragmentation
creep it up job after job (measured: +110 MiB over 40 beats). `HeapKeeper` keeps it while
jobs keep coming and hands it back once the process has been idle for `IDLE_SECONDS`, or at
once after a job that left the process large (a long clip, a stem split).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 256 * 2**20
TRIM_THRESHOLD_BYTES = 1024 * 2**20
IDLE_SECONDS = 1.0
# Above a 30 s beat's working set (about 500-650 MiB resident), below what a 3-minute beat
# or a stem split leaves behind.
KEEP_RESIDENT_BYTES = 768 * 2**20


def _libc() -> ctypes.CDLL | None:
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None  # not glibc (macOS, musl): the defaults stand


def keep_freed_memory() -> None:
    """Reuse freed arrays within a job instead of returning them to the kernel at once."""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


def resident_bytes() -> int | None:
    """This process's resident set size, or None where /proc doesn't tell."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def give_memory_back() -> bool:
    """Return all freed heap to the kernel now. False where glibc isn't the allocator."""
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim(0)
    return True


class HeapKeeper:
    """Tells a render process when to hand its freed heap back: call `job_starts` and
    `job_ended` around each job."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, keep: int = KEEP_RESIDENT_BYTES) -> None:
        self.idle_seconds = idle_seconds
        self.keep = keep
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def job_starts(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()  # busy again: keep the heap for this job
                self._timer = None

    def job_ended(self) -> bool:
        """Hand the heap back now if the process is over `keep` (True), else once it has
        been idle for `idle_seconds`."""
        resident = resident_bytes()
        if resident is None or resident > self.keep:
            return give_memory_back()
        with self._lock:
            self._timer = threading.Timer(self.idle_seconds, give_memory_back)
            self._timer.daemon = True
            self._timer.start()
        return False
