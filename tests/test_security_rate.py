"""Rate limits and daily quotas hold under concurrency: no race lets one user past them.

Fifty requests for one user arrive at once, through two server instances sharing one Redis
(as two `beatbot serve` processes would), and exactly the allowed number get through.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient

from adapters.daw_server import create_app
from bot.config import LimitSettings, Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.limits import Limits
from bot.services import Services

TOKEN = "rate-security-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def servers(
    aiohttp_client: Callable[..., Any],
    redis_handle: RedisHandle,
    settings: Settings,
    count: int,
    **env: str,
) -> AsyncIterator[tuple[list[TestClient], Services]]:
    """`count` independent apps (own Services and Redis pools) on one Redis and prefix."""
    custom = load_settings(
        data_dir=settings.data_dir,
        env={"BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix, **env},
    )
    async with AsyncExitStack() as stack:
        clients, first = [], None
        for _ in range(count):
            services = await Services.open(
                custom, Secrets.from_env({}), redis_handle, render_processes=1
            )
            stack.push_async_callback(services.close)
            clients.append(await aiohttp_client(create_app(services, TOKEN)))
            first = first or services
        assert first is not None
        yield clients, first


async def burst(clients: list[TestClient], path: str, body: dict[str, Any], n: int) -> Counter:
    headers = {**AUTH, "x-user-id": "alice"}
    responses = await asyncio.gather(
        *(clients[i % len(clients)].post(path, json=body, headers=headers) for i in range(n))
    )
    for response in responses:
        payload = await response.json()
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert "try again" in payload["error"] or "reset" in payload["error"], payload
    return Counter(r.status for r in responses)


async def test_rate_limit_holds_for_50_concurrent_beats_across_two_servers(
    aiohttp_client: Callable[..., Any], redis_handle: RedisHandle, settings: Settings
) -> None:
    async with servers(
        aiohttp_client, redis_handle, settings, 2, BEATBOT_LIMITS__REQUESTS_PER_MINUTE="10"
    ) as (clients, services):
        counts = await burst(clients, "/api/generate/beat", {"genre": "trap", "duration": 4}, 50)
        assert counts == {202: 10, 429: 40}, counts
        assert (await services.queue.stats())["waiting"] == 10  # refused ones queued nothing
        master = await burst(clients, "/api/generate/stems", {"audioFileId": "f" * 32}, 5)
        assert master == {404: 5}  # unknown upload: refused before the limit is even asked


async def test_rate_limit_holds_for_concurrent_chat_messages(
    aiohttp_client: Callable[..., Any], redis_handle: RedisHandle, settings: Settings
) -> None:
    async with servers(
        aiohttp_client, redis_handle, settings, 2, BEATBOT_LIMITS__REQUESTS_PER_MINUTE="5"
    ) as (clients, _services):
        headers = {**AUTH, "x-user-id": "bob"}
        responses = await asyncio.gather(
            *(
                clients[i % 2].post(
                    "/api/chat",
                    json={"text": "make a trap beat, 4 seconds", "thread": f"t{i}"},
                    headers=headers,
                )
                for i in range(30)
            )
        )
        kinds = Counter()
        for response in responses:
            assert response.status == 200
            (reply,) = (await response.json())["replies"]
            kinds[reply["type"]] += 1
            if reply["type"] == "error":
                assert "try again" in reply["text"]
        assert kinds == {"accepted": 5, "error": 25}, kinds


async def test_rate_daily_quota_is_never_exceeded_under_concurrency(
    aiohttp_client: Callable[..., Any], redis_handle: RedisHandle, settings: Settings
) -> None:
    async with servers(
        aiohttp_client,
        redis_handle,
        settings,
        2,
        BEATBOT_LIMITS__REQUESTS_PER_MINUTE="1000",
        BEATBOT_LIMITS__DAILY_AUDIO_SECONDS="100",
    ) as (clients, services):
        counts = await burst(clients, "/api/generate/beat", {"genre": "house", "duration": 8}, 50)
        assert counts == {202: 12, 429: 38}, counts  # 12 x 8 s = 96 s of 100
        usage = await services.limits.usage("alice")
        assert usage.used == 96 and usage.used <= usage.limit
        # Mixed sizes racing for the last 4 seconds: exactly one 4 s beat fits, nothing larger.
        sizes = [4, 5, 6, 4, 4, 5, 10, 4] * 4
        responses = await asyncio.gather(
            *(
                clients[i % 2].post(
                    "/api/generate/beat",
                    json={"genre": "house", "duration": size},
                    headers={**AUTH, "x-user-id": "alice"},
                )
                for i, size in enumerate(sizes)
            )
        )
        assert sorted(r.status for r in responses).count(202) == 1
        assert (await services.limits.usage("alice")).used == 100


async def test_rate_limits_lua_is_atomic_with_many_connections(
    redis_handle: RedisHandle, key_prefix: str, redis_client: Any
) -> None:
    """Straight at bot.limits: 8 separate Redis clients, 400 calls at once."""
    limit_settings = LimitSettings(
        max_upload_mb=1,
        max_upload_seconds=60,
        requests_per_minute=25,
        daily_audio_seconds=60,
        history_size=10,
        conversation_ttl=60,
    )
    clients = [redis_handle.client() for _ in range(8)]
    try:
        limits = [Limits(c, key_prefix, limit_settings) for c in clients]

        async def attempt(i: int, call: Callable[[Limits], Any]) -> bool:
            try:
                await call(limits[i % len(limits)])
            except Exception as exc:
                assert type(exc).__name__ == "LimitReached", repr(exc)
                return False
            return True

        rate = await asyncio.gather(
            *(attempt(i, lambda lim: lim.check_rate("carol")) for i in range(400))
        )
        assert sum(rate) == 25
        quota = await asyncio.gather(
            *(attempt(i, lambda lim: lim.reserve("carol", 7.0)) for i in range(400))
        )
        assert sum(quota) == 8  # 8 x 7 s = 56 s of 60
        refunds = await asyncio.gather(*(lim.refund("carol", 7.0) for lim in limits * 5))
        assert refunds[-1].used >= 0 and (await limits[0].usage("carol")).used == 0
    finally:
        for client in clients:
            await client.aclose()
