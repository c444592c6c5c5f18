"""What each person made: their last N generations, and one record per generation.

History per user is a list of generation ids (newest first, capped at `limits.history_size`)
beside a hash of their entries, updated by one Lua script: adding the same generation twice
(a job that arq ran again) changes nothing, and entries that fall off the end are deleted
with their ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio

from bot import keys

Entry = dict[str, Any]

# KEYS[1] order list, KEYS[2] entries hash; ARGV: generation id, JSON entry, size.
_ADD = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local size = tonumber(ARGV[3])
local dropped = redis.call('LRANGE', KEYS[1], size, -1)
if #dropped > 0 then
  redis.call('LTRIM', KEYS[1], 0, size - 1)
  for _, id in ipairs(dropped) do redis.call('HDEL', KEYS[2], id) end
end
return 1
"""


class History:
    """Per-user generation history (params, seed, summary, file references), newest first.

    Entries keep storage references; `hand_out` (e.g. `bot.links.with_links` with this
    process's store) adds fresh signed links to each entry `list` and `get` return."""

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        prefix: str,
        size: int = 50,
        *,
        hand_out: Callable[[Entry], Entry] | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.size = size
        self.hand_out = hand_out or (lambda entry: entry)
        self._add = redis.register_script(_ADD)

    async def add(self, user: str, entry: Mapping[str, Any]) -> bool:
        """Remember one generation; `entry` needs a `generationId`. False if already there.

        `createdAt` (ms since the epoch) is filled in when missing."""
        generation_id = str(entry.get("generationId") or "")
        if not generation_id:
            raise ValueError("a history entry needs a generationId")
        record = {"createdAt": int(time.time() * 1000), **entry}
        added = await self._add(
            keys=[keys.history_order(self.prefix, user), keys.history_entries(self.prefix, user)],
            args=[generation_id, json.dumps(record, separators=(",", ":")), self.size],
        )
        return bool(added)

    async def list(self, user: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The user's generations, newest first (at most `limit`)."""
        count = self.size if limit is None else max(0, min(limit, self.size))
        if count == 0:
            return []
        ids = await self.redis.lrange(keys.history_order(self.prefix, user), 0, count - 1)
        if not ids:
            return []
        raw = await self.redis.hmget(keys.history_entries(self.prefix, user), ids)
        return [self.hand_out(json.loads(value)) for value in raw if value is not None]

    async def get(self, user: str, generation_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hget(keys.history_entries(self.prefix, user), generation_id)
        return self.hand_out(json.loads(raw)) if raw is not None else None

    async def clear(self, user: str) -> None:
        await self.redis.delete(
            keys.history_order(self.prefix, user), keys.history_entries(self.prefix, user)
        )


class Generations:
    """One JSON record per generation, kept as long as its files (the retention limit)."""

    def __init__(
        self, redis: redis.asyncio.Redis, prefix: str, retention_days: float | None = None
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = int(retention_days * 86400) if retention_days else None

    async def save(self, generation_id: str, record: Mapping[str, Any]) -> None:
        await self.redis.set(
            keys.generation(self.prefix, generation_id),
            json.dumps(dict(record), separators=(",", ":")),
            ex=self.ttl,
        )

    async def get(self, generation_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(keys.generation(self.prefix, generation_id))
        return json.loads(raw) if raw is not None else None
