"""Everything a BeatBot process talks to, opened once and passed around explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis, create_pool

from bot.config import Secrets, Settings
from bot.connections import RedisHandle
from bot.conversation import Conversation
from bot.events import EventBus
from bot.history import History
from bot.jobs import JobBook
from bot.limits import Limits
from bot.pool import RenderPool
from bot.queue import JobQueue
from bot.store import ClipStore


@dataclass
class Services:
    settings: Settings
    secrets: Secrets
    handle: RedisHandle
    redis: ArqRedis
    events: EventBus
    store: ClipStore
    jobs: JobBook
    queue: JobQueue
    limits: Limits
    history: History
    conversation: Conversation
    pool: RenderPool

    @classmethod
    async def open(
        cls,
        settings: Settings,
        secrets: Secrets,
        handle: RedisHandle,
        *,
        render_processes: int | None = None,
    ) -> Services:
        from bot.worker import default_render_processes

        prefix = settings.queue.key_prefix
        client: ArqRedis = await create_pool(handle.arq_settings())
        events = EventBus(client, prefix, maxlen=settings.queue.stream_maxlen)
        jobs = JobBook(client, prefix, ttl=round(settings.storage.retention_days * 86400))
        return cls(
            settings=settings,
            secrets=secrets,
            handle=handle,
            redis=client,
            events=events,
            store=ClipStore.from_settings(settings, secrets),
            jobs=jobs,
            queue=JobQueue(client, jobs, events, prefix),
            limits=Limits(client, prefix, settings.limits),
            history=History(client, prefix, settings.limits.history_size),
            conversation=Conversation(client, prefix, settings.limits.conversation_ttl),
            pool=RenderPool(render_processes or default_render_processes(settings)),
        )

    async def close(self) -> None:
        self.pool.close()
        await self.redis.aclose()
