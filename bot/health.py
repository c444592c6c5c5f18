"""Whether each chat adapter is up, as the last `beatbot serve` to start it saw it.

A wrong token or a switched-off Discord intent stops an adapter at once while the rest of
`serve` keeps running; the reason is kept in Redis so `/healthz` and `beatbot doctor` (another
process) both show it, in the same words the adapter printed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot import keys
from bot.connections import as_text

State = Literal["starting", "ready", "failed"]
PLATFORMS = ("discord", "slack")


@dataclass(frozen=True)
class AdapterHealth:
    state: State
    error: str = ""  # one sentence with the fix, when failed
    since: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state != "failed"

    def to_json(self) -> dict[str, Any]:
        """The /healthz shape: {"ok": false, "state": "failed", "error": "...", "since": ...}."""
        return {"ok": self.ok, **asdict(self)}

    @classmethod
    def parse(cls, raw: str | bytes | None) -> AdapterHealth | None:
        if raw is None:
            return None
        try:
            data = json.loads(as_text(raw))
            return cls(str(data["state"]), str(data.get("error") or ""), float(data["since"]))  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            return None


async def report(redis: Any, prefix: str, platform: str, state: State, error: str = "") -> None:
    health = AdapterHealth(state, error, time.time())
    await redis.set(keys.chat_health(prefix, platform), json.dumps(asdict(health)))


async def read(redis: Any, prefix: str, platform: str) -> AdapterHealth | None:
    return AdapterHealth.parse(await redis.get(keys.chat_health(prefix, platform)))


def read_sync(client: Any, prefix: str, platform: str) -> AdapterHealth | None:
    return AdapterHealth.parse(client.get(keys.chat_health(prefix, platform)))
