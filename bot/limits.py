"""Per-user limits in Redis: requests per minute and seconds of audio per day.

Both are checked and recorded in one Lua script each, with Redis's own clock, so fifty
requests arriving at once from one person (or through several BeatBot processes) can't slip
past the limit between a check and a write. Every refusal is a `LimitReached` whose sentence
says when to try again, and whose `retry_after` is in seconds (for HTTP Retry-After).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis.asyncio

from bot import keys
from bot.config import LimitSettings
from bot.errors import LimitReached

WINDOW_MS = 60_000
DAY = 86_400

# Sliding window log. KEYS[1] zset; ARGV: limit, window ms, member.
# Returns {allowed, count in window, ms until the oldest request leaves the window}.
_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now}
"""

# Daily quota per UTC day. KEYS[1] hash {day, used}; ARGV: amount ms (negative = refund),
# limit ms. Returns {allowed, used ms after, seconds until the day resets}.
_QUOTA = """
local t = redis.call('TIME')
local now = tonumber(t[1])
local day = math.floor(now / 86400)
local reset = (day + 1) * 86400 - now
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local used = 0
if tonumber(redis.call('HGET', KEYS[1], 'day') or '-1') == day then
  used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
end
if amount > 0 and used + amount > limit then
  return {0, used, reset}
end
used = math.max(0, used + amount)
redis.call('HSET', KEYS[1], 'day', day, 'used', used)
redis.call('EXPIRE', KEYS[1], reset + 3600)
return {1, used, reset}
"""


@dataclass(frozen=True)
class Usage:
    """Today's audio for one user, in seconds."""

    used: float
    limit: float
    resets_in: int

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.used)


class Limits:
    def __init__(
        self,
        redis: redis.asyncio.Redis,
        prefix: str,
        settings: LimitSettings,
        *,
        window_ms: int = WINDOW_MS,
    ) -> None:
        self.redis = redis
        self.window_ms = window_ms
        self.prefix = prefix
        self.per_minute = settings.requests_per_minute
        self.daily_seconds = settings.daily_audio_seconds
        self._rate = redis.register_script(_RATE)
        self._quota = redis.register_script(_QUOTA)

    async def check_rate(self, user: str) -> int:
        """Count one request; LimitReached when this user made `requests_per_minute` in the
        last 60 s. Returns how many requests are now in the window."""
        allowed, count, wait_ms = await self._rate(
            keys=[keys.rate(self.prefix, user)],
            args=[self.per_minute, self.window_ms, uuid.uuid4().hex],
        )
        if allowed:
            return int(count)
        wait = max(1, math.ceil(int(wait_ms) / 1000))
        raise LimitReached(
            f"You've made {_count(int(count), 'request')} in the last minute — "
            f"try again in {_wait_text(wait)}.",
            retry_after=wait,
        )

    async def reserve(self, user: str, seconds: float) -> Usage:
        """Take `seconds` of today's audio before the job runs; LimitReached if it doesn't
        fit. A job that fails gives it back with `refund`."""
        allowed, used_ms, reset = await self._quota(
            keys=[keys.quota(self.prefix, user)],
            args=[_ms(seconds), _ms(self.daily_seconds)],
        )
        usage = Usage(int(used_ms) / 1000, self.daily_seconds, int(reset))
        if allowed:
            return usage
        when = _wait_text(usage.resets_in)
        total = _amount_text(self.daily_seconds)
        if usage.remaining < 1:
            message = f"You've used today's {total} of audio; it resets in {when}."
        else:
            message = (
                f"That needs {_amount_text(seconds)} of audio but you have "
                f"{_amount_text(usage.remaining)} left of today's {total}; ask for a shorter "
                f"beat, or wait {when} for the daily reset."
            )
        raise LimitReached(message, retry_after=usage.resets_in)

    async def refund(self, user: str, seconds: float) -> Usage:
        """Give back audio reserved for a job that failed (never below zero; a reservation
        from an earlier day is not refunded into today)."""
        _allowed, used_ms, reset = await self._quota(
            keys=[keys.quota(self.prefix, user)],
            args=[-_ms(seconds), _ms(self.daily_seconds)],
        )
        return Usage(int(used_ms) / 1000, self.daily_seconds, int(reset))

    async def usage(self, user: str) -> Usage:
        """Today's usage without changing it."""
        return await self.refund(user, 0)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _wait_text(seconds: int) -> str:
    """23 -> "23 seconds", 750 -> "13 min", 15120 -> "4 h 12 min"."""
    if seconds <= 60:
        return _count(seconds, "second")
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _amount_text(seconds: float) -> str:
    """An amount of audio: 1800 -> "30 minutes", 90 -> "1 min 30 s", 45 -> "45 seconds"."""
    whole = round(seconds)
    if whole < 60:
        return _count(whole, "second")
    minutes, rest = divmod(whole, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        text = _count(hours, "hour")
        return f"{text} {minutes} min" if minutes else text
    if rest:
        return f"{minutes} min {rest} s"
    return _count(minutes, "minute")
