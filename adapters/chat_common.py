"""What every chat adapter (Discord, Slack) shows the same way: progress text and its pace.

Adapters differ in how they post and edit; how a progress line reads and how often a status
message may change are the same everywhere, so they live here once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BAR_CELLS = 10


def progress_bar(percent: int) -> str:
    """A text progress bar that renders in any chat client: ▰▰▰▰▱▱▱▱▱▱ 40%."""
    percent = max(0, min(100, int(percent)))
    filled = round(percent * BAR_CELLS / 100)
    return f"{'▰' * filled}{'▱' * (BAR_CELLS - filled)} {percent}%"


def progress_line(percent: int, stage: str) -> str:
    return f"{progress_bar(percent)} · {stage}"


def neutralise_mentions(text: str) -> str:
    """Echoed user text must never ping anyone: break @everyone/@here and <@id> mentions."""
    return (
        text.replace("@everyone", "@\u200beveryone")
        .replace("@here", "@\u200bhere")
        .replace("<@", "<@\u200b")
        .replace("<!", "<!\u200b")
    )


class EditThrottle:
    """At most one edit per `interval` seconds per message; the final edit always goes out.

    `due(key)` says whether a progress edit may be sent now (and records it if so); results
    and failures bypass it. A platform's 429 is handled by its client library's own retry.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}

    def due(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._last[key] = now
        return True

    def done(self, key: str) -> None:
        self._last.pop(key, None)
