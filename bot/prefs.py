"""A chat person's own defaults for new beats (duration, quality, format), kept in Redis.

Set with Discord's `/settings` or Slack's `/beat settings`; every message the person sends
carries them (`Message.defaults`), and the assistant uses them where neither the message nor
the thread's last beat says otherwise.
"""

from __future__ import annotations

import re

from bot import keys
from bot.connections import as_text
from bot.services import Services

FIELDS = ("duration", "quality", "format")
QUALITIES = ("streaming", "cd", "club")
FORMATS = ("mp3", "wav", "flac")


def _key(services: Services, platform: str, user: str) -> str:
    return keys.chat_prefs(platform, services.settings.queue.key_prefix, user)


async def load(services: Services, platform: str, user: str) -> dict[str, str]:
    raw = await services.redis.hgetall(_key(services, platform, user))
    return {as_text(k): as_text(v) for k, v in raw.items()}


async def save(
    services: Services, platform: str, user: str, values: dict[str, str]
) -> dict[str, str]:
    values = {k: v for k, v in values.items() if k in FIELDS and v}
    if values:
        await services.redis.hset(_key(services, platform, user), mapping=values)
    return await load(services, platform, user)


def describe(values: dict[str, str]) -> str:
    if not values:
        return "You have no defaults yet; BeatBot uses its own."
    return "Your defaults: " + ", ".join(f"{k} {values[k]}" for k in FIELDS if k in values) + "."


def from_words(text: str) -> dict[str, str]:
    """ "duration 30 quality club wav" -> {"duration": "30", "quality": "club", "format": "wav"}
    (what a text-only settings command carries; unknown words are ignored)."""
    words = text.lower().replace("=", " ").split()
    values: dict[str, str] = {}
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in QUALITIES:
            values["quality"] = word
        elif word in FORMATS:
            values["format"] = word
        elif word in ("duration", "length") and re.fullmatch(r"\d+(\.\d+)?s?", following):
            seconds = float(following.rstrip("s"))
            if 1 <= seconds <= 600:
                values["duration"] = f"{seconds:g}"
    return values
