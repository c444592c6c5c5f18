"""Per-thread memory: the last request of a chat thread and what it made, in Redis.

So "again", "make it faster", "same but in D minor", "now as house", "stems for that" and
"master it for club" act on the thread's last clip. Memory expires `limits.conversation_ttl`
seconds after the thread's last request; every BeatBot process sharing the Redis sees it.

`resolve` is pure: it turns a follow-up intent plus the remembered state into concrete
params (or a friendly question when there is nothing to follow up on).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
from redis.exceptions import WatchError

from bot.intents import Intent
from bot.requests import BEAT_INPUTS, choose_genre, unknown_genre_sentence
from engine.genres import get_genre

ThreadKey = str | tuple[str, str, str]

# What a follow-up may carry over from the last request (notes are recomputed each time;
# auto_play is a per-request DAW switch, not part of the music).
CARRIED = tuple(name for name in BEAT_INPUTS if name != "auto_play")

EXAMPLES = "Try “dark trap beat at 140” or “chill lo-fi in F minor, 1 minute”."
ASK_WHAT_TO_MAKE = "I don't have a beat in this thread yet. What should I make? " + EXAMPLES
ASK_WHAT_TO_CHANGE = (
    "What should I change? Try “faster”, “darker”, “same but in D minor” or “now as house”."
)
ASK_WHICH_CLIP = (
    "I don't have a clip in this thread yet. Ask me for a beat first, or send an audio file."
)


def thread_id(thread: ThreadKey) -> str:
    """ "discord:123:456" or ("discord", "123", "456") -> "discord:123:456"."""
    if isinstance(thread, tuple):
        return ":".join(str(part) for part in thread)
    return str(thread)


def conversation_key(prefix: str, thread: ThreadKey) -> str:
    """String (JSON ThreadState): one thread's memory, expiring after the conversation TTL."""
    return f"{prefix}:conversation:{thread_id(thread)}"


@dataclass(frozen=True)
class ThreadState:
    """The thread's last request (complete params incl. seed) and what it produced."""

    params: dict[str, Any] = field(default_factory=dict)
    generation_id: str | None = None
    job_id: str | None = None
    file_ids: tuple[str, ...] = ()
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {
                "params": self.params,
                "generation_id": self.generation_id,
                "job_id": self.job_id,
                "file_ids": list(self.file_ids),
                "updated_at": self.updated_at,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ThreadState:
        data = json.loads(raw)
        return cls(
            params=dict(data.get("params") or {}),
            generation_id=data.get("generation_id"),
            job_id=data.get("job_id"),
            file_ids=tuple(data.get("file_ids") or ()),
            updated_at=float(data.get("updated_at") or 0.0),
        )


class Conversation:
    def __init__(self, redis: redis.asyncio.Redis, prefix: str, ttl: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def key(self, thread: ThreadKey) -> str:
        return conversation_key(self.prefix, thread)

    async def remember(self, thread: ThreadKey, state: ThreadState) -> ThreadState:
        """Store the thread's latest request; the TTL starts again."""
        stamped = ThreadState(
            params=dict(state.params),
            generation_id=state.generation_id,
            job_id=state.job_id,
            file_ids=tuple(state.file_ids),
            updated_at=state.updated_at or time.time(),
        )
        await self.redis.set(self.key(thread), stamped.to_json(), ex=self.ttl)
        return stamped

    async def remember_result(
        self,
        thread: ThreadKey,
        *,
        generation_id: str | None = None,
        job_id: str | None = None,
        file_ids: tuple[str, ...] | list[str] = (),
    ) -> ThreadState | None:
        """Add result ids to the remembered request. Ignored (None) when the thread has moved
        on to another generation meanwhile, or remembers nothing."""
        key = self.key(thread)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        await pipe.unwatch()
                        return None
                    state = ThreadState.from_json(raw)
                    if generation_id and state.generation_id not in (None, generation_id):
                        await pipe.unwatch()
                        return None
                    updated = ThreadState(
                        params=state.params,
                        generation_id=generation_id or state.generation_id,
                        job_id=job_id or state.job_id,
                        file_ids=tuple(file_ids) or state.file_ids,
                        updated_at=time.time(),
                    )
                    pipe.multi()
                    pipe.set(key, updated.to_json(), ex=self.ttl)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    async def last(self, thread: ThreadKey) -> ThreadState | None:
        raw = await self.redis.get(self.key(thread))
        if raw is None:
            return None
        try:
            return ThreadState.from_json(raw)
        except (ValueError, TypeError):  # unreadable memory is no memory
            return None

    async def forget(self, thread: ThreadKey) -> None:
        await self.redis.delete(self.key(thread))


# --- resolving follow-ups ---------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """Concrete params for the intent, or a question to ask instead (`question` set).

    For beats, `params` has no "seed" (or None) when a new seed is wanted.
    `generation_id` names the clip a stems/master follow-up acts on.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    generation_id: str | None = None
    question: str | None = None

    @property
    def seed(self) -> int | None:
        return self.params.get("seed")


def resolve(intent: Intent, last: ThreadState | None) -> Resolution:
    """Turn an intent into what to do, using the thread's last request where it refers to one."""
    kind = intent.kind
    if kind in ("generate", "variation", "refine"):
        if intent.unsupported_genre and "genre" not in intent.params:
            return Resolution(kind, question=unknown_genre_sentence(intent.unsupported_genre))
        if kind == "generate":
            return Resolution("generate", _generate(intent))
        if last is None or not last.params.get("genre"):
            if intent.params.get("genre"):  # "another trap beat" in a new thread
                return Resolution("generate", _generate(intent))
            return Resolution(kind, question=ASK_WHAT_TO_MAKE)
        if kind == "refine" and not intent.params and not intent.adjust:
            return Resolution(kind, question=ASK_WHAT_TO_CHANGE)
        return Resolution(kind, _follow_up(intent, last), generation_id=last.generation_id)
    if kind in ("stems", "master"):
        if last is None or not last.generation_id:
            return Resolution(kind, dict(intent.params), question=ASK_WHICH_CLIP)
        return Resolution(kind, dict(intent.params), generation_id=last.generation_id)
    generation = last.generation_id if last is not None else None
    return Resolution(kind, dict(intent.params), generation_id=generation)


def _generate(intent: Intent) -> dict[str, Any]:
    params = dict(intent.params)
    delta = intent.adjust.get("bpm")
    if delta and "bpm" not in params:  # "a faster trap beat": faster than the genre's usual
        genre = params.get("genre") or choose_genre(params.get("mood"))[0]
        params["bpm"] = _tidy(get_genre(genre).default_bpm + delta)
    return params


def _follow_up(intent: Intent, last: ThreadState) -> dict[str, Any]:
    base = {k: v for k, v in last.params.items() if k in CARRIED and v is not None}
    changes: Mapping[str, Any] = intent.params
    params = {**base, **changes}
    if changes.get("genre") and changes["genre"] != base.get("genre") and "bpm" not in changes:
        params["bpm"] = get_genre(changes["genre"]).default_bpm  # "now as house": house tempo
    if "quality" in changes and "target_lufs" not in changes:
        params.pop("target_lufs", None)  # the new preset decides the loudness
    for name, delta in intent.adjust.items():
        if name in ("bpm", "duration") and name not in changes and name in params:
            params[name] = _tidy(float(params[name]) + float(delta))
    if intent.kind == "variation" and "seed" not in changes:
        params.pop("seed", None)  # a new take: the caller picks a new seed
    return params


def _tidy(value: float) -> float | int:
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value
