"""Rate limit and daily audio quota on a real Redis, under concurrency."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
import redis.asyncio

from bot.config import Settings
from bot.errors import LimitReached
from bot.limits import Limits, _amount_text, _wait_text


def seconds_to_utc_midnight() -> float:
    return 86400 - time.time() % 86400


async def attempt_rate(limits: Limits, user: str) -> LimitReached | int:
    try:
        return await limits.check_rate(user)
    except LimitReached as exc:
        return exc


async def test_exactly_n_requests_per_minute_under_50_concurrent(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    limits = Limits(redis_client, key_prefix, settings.limits)
    assert settings.limits.requests_per_minute == 10
    outcomes = await asyncio.gather(*(attempt_rate(limits, "ana") for _ in range(50)))
    allowed = sorted(o for o in outcomes if isinstance(o, int))
    refused = [o for o in outcomes if isinstance(o, LimitReached)]
    assert allowed == list(range(1, 11))
    assert len(refused) == 40
    for exc in refused:
        assert 1 <= exc.retry_after <= 60
        assert re.fullmatch(
            r"You've made 10 requests in the last minute — try again in \d+ seconds?\.",
            exc.message,
        ), exc.message
    # Someone else is not affected.
    assert await limits.check_rate("ben") == 1


async def test_rate_limit_follows_settings_and_window_slides(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    custom = settings.limits.model_copy(update={"requests_per_minute": 3})
    limits = Limits(redis_client, key_prefix, custom, window_ms=1500)
    outcomes = await asyncio.gather(*(attempt_rate(limits, "ana") for _ in range(20)))
    assert sum(isinstance(o, int) for o in outcomes) == 3
    await asyncio.sleep(1.6)  # the window moved past the first three
    assert await limits.check_rate("ana") == 1


async def test_quota_reserve_refund_and_messages(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    limits = Limits(redis_client, key_prefix, settings.limits)
    assert settings.limits.daily_audio_seconds == 1800
    usage = await limits.reserve("ana", 1700)
    assert usage.used == 1700 and usage.remaining == 100

    with pytest.raises(LimitReached) as info:
        await limits.reserve("ana", 200)
    assert info.value.message.startswith(
        "That needs 3 min 20 s of audio but you have 1 min 40 s left of today's 30 minutes;"
    )
    assert abs(info.value.retry_after - seconds_to_utc_midnight()) < 5
    assert (await limits.usage("ana")).used == 1700  # a refusal takes nothing

    await limits.refund("ana", 1700)  # that job failed
    assert (await limits.reserve("ana", 200)).used == 200
    await limits.refund("ana", 5000)
    assert (await limits.usage("ana")).used == 0  # never below zero

    await limits.reserve("ana", 1800)
    with pytest.raises(LimitReached) as info:
        await limits.reserve("ana", 1)
    match = re.fullmatch(
        r"You've used today's 30 minutes of audio; it resets in (?:(\d+) h ?)?(?:(\d+) min)?\.",
        info.value.message,
    )
    assert match, info.value.message
    hours, minutes = int(match[1] or 0), int(match[2] or 0)
    assert abs(hours * 3600 + minutes * 60 - seconds_to_utc_midnight()) <= 120
    assert 0 < info.value.retry_after <= 86400
    assert (await limits.usage("ben")).remaining == 1800


async def test_quota_holds_under_concurrent_reservations(
    redis_client: redis.asyncio.Redis, key_prefix: str, settings: Settings
) -> None:
    limits = Limits(redis_client, key_prefix, settings.limits)

    async def attempt() -> bool:
        try:
            await limits.reserve("ana", 60)
        except LimitReached:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(50)))
    assert results.count(True) == 30  # 30 x 60 s = the 1800 s a day
    assert (await limits.usage("ana")).used == 1800


def test_time_phrases() -> None:
    assert _wait_text(1) == "1 second"
    assert _wait_text(23) == "23 seconds"
    assert _wait_text(61) == "2 min"
    assert _wait_text(4 * 3600 + 12 * 60) == "4 h 12 min"
    assert _wait_text(3 * 3600) == "3 h"
    assert _amount_text(1800) == "30 minutes"
    assert _amount_text(60) == "1 minute"
    assert _amount_text(90) == "1 min 30 s"
    assert _amount_text(3600) == "1 hour"
    assert _amount_text(5400) == "1 hour 30 min"
    assert _amount_text(45) == "45 seconds"
