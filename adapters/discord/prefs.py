"""Per-user defaults set with /settings (duration, quality, format), kept in Redis.

Every message a person sends carries them (`Message.defaults`); the assistant uses them
where neither the message nor the thread's last beat says otherwise.
"""

from __future__ import annotations

from bot import keys
from bot.connections import as_text
from bot.services import Services

FIELDS = ("duration", "quality", "format")


def _key(services: Services, user: str) -> str:
    return keys.chat_prefs("discord", services.settings.queue.key_prefix, user)


async def load(services: Services, user: str) -> dict[str, str]:
    raw = await services.redis.hgetall(_key(services, user))
    return {as_text(k): as_text(v) for k, v in raw.items()}


async def save(services: Services, user: str, values: dict[str, str]) -> dict[str, str]:
    values = {k: v for k, v in values.items() if k in FIELDS and v}
    if values:
        await services.redis.hset(_key(services, user), mapping=values)
    return await load(services, user)


def describe(values: dict[str, str]) -> str:
    if not values:
        return "You have no defaults yet; BeatBot uses its own."
    return "Your defaults: " + ", ".join(f"{k} {values[k]}" for k in FIELDS if k in values) + "."
