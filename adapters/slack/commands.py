"""`/beat`: Slack's one slash command, read like Discord's several.

Slack commands carry only text (no files, no thread), so the first word picks the command:
`/beat history`, `/beat settings wav club duration 30`, `/beat help`, `/beat genres`; anything
else is a request ("/beat dark trap at 140"), and `/beat` alone is help. What only the asker
needs (help, history, settings, errors) is answered privately, as on Discord.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import prefs
from bot.messages import Reply, TextReply
from bot.replies import history_text
from bot.services import Services

PLATFORM = "slack"


@dataclass(frozen=True)
class Command:
    request: str  # the sentence the assistant reads ("" when `answer` is set)
    answer: Callable[[], Awaitable[Reply]] | None = None  # a private answer of its own


def read(services: Services, user: str, text: str) -> Command:
    text = text.strip()
    first, _, rest = text.partition(" ")
    word = first.lower()
    if word == "history":

        async def history() -> Reply:
            entries = await services.history.list(user, limit=10)
            return TextReply.of(history_text(entries))

        return Command("", history)
    if word == "settings":

        async def settings() -> Reply:
            saved = await prefs.save(services, PLATFORM, user, prefs.from_words(rest))
            return TextReply(prefs.describe(saved))

        return Command("", settings)
    return Command(text or "help")
