"""Per-thread memory: the last request of a chat thread and what it made, in Redis.

So "again", "make it faster", "same but in D minor", "now as house", "stems for that" and
"master it for club" act on the thread's last clip. Memory expires `limits.conversation_ttl`
seconds after the thread's last request; every BeatBot process sharing the Redis sees it.

`resolve` is pure (but for the seed a surprise draws when the message names none): it turns
a follow-up intent plus the remembered state into concrete params, or a friendly question
when there is nothing to follow up on, or a genre to offer instead of a style we don't make.
The offer waits in Redis beside the thread's memory until "yes" takes it or a new request
replaces it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio
from redis.exceptions import WatchError

from bot import phrasing
from bot.intents import Intent, Suggestion
from bot.requests import BEAT_INPUTS, MAX_SEED, choose_genre
from bot.surprise import surprise
from bot.vocab import DRUM_PARTS
from engine.genres import get_genre

ThreadKey = str | tuple[str, str, str]

# What a follow-up may carry over from the last request (notes are recomputed each time;
# auto_play is a per-request DAW switch, not part of the music; new_edit marks the render
# that made the last edit).
CARRIED = tuple(name for name in BEAT_INPUTS if name not in ("auto_play", "new_edit"))

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
    # The take group of the thread's last "give me N versions" (`bot.takes`): "pick 2"
    # picks from it; the clip above is the picked take (take 1 until one is picked).
    takes: str | None = None

    def to_json(self) -> str:
        data = {
            "params": self.params,
            "generation_id": self.generation_id,
            "job_id": self.job_id,
            "file_ids": list(self.file_ids),
            "updated_at": self.updated_at,
        }
        if self.takes:
            data["takes"] = self.takes
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ThreadState:
        data = json.loads(raw)
        return cls(
            params=dict(data.get("params") or {}),
            generation_id=data.get("generation_id"),
            job_id=data.get("job_id"),
            file_ids=tuple(data.get("file_ids") or ()),
            updated_at=float(data.get("updated_at") or 0.0),
            takes=data.get("takes") or None,
        )


@dataclass(frozen=True)
class Offer:
    """A genre offered instead of a style BeatBot can't make ("I don't do UK garage yet; the
    closest is house — want that?"): the request as asked, with the offered genre in it,
    waiting in the thread for a "yes"."""

    kind: str  # generate | variation | refine
    params: dict[str, Any]
    adjust: dict[str, Any] = field(default_factory=dict)
    asked: str = ""

    @property
    def genre(self) -> str:
        return str(self.params["genre"])

    def intent(self) -> Intent:
        return Intent(self.kind, dict(self.params), dict(self.adjust))

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "params": self.params, "adjust": self.adjust, "asked": self.asked}
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Offer:
        data = json.loads(raw)
        return cls(
            kind=str(data["kind"]),
            params=dict(data["params"]),
            adjust=dict(data.get("adjust") or {}),
            asked=str(data.get("asked") or ""),
        )


_Stored = TypeVar("_Stored", ThreadState, Offer)


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
            takes=state.takes,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key(thread), stamped.to_json(), ex=self.ttl)
            pipe.delete(self.offer_key(thread))  # a new request answers any open offer
            await pipe.execute()
        return stamped

    def offer_key(self, thread: ThreadKey) -> str:
        """String (JSON Offer): the genre offered in the thread, until "yes" or a new beat."""
        return f"{self.key(thread)}:offer"

    async def offer(self, thread: ThreadKey, offer: Offer) -> None:
        await self.redis.set(self.offer_key(thread), offer.to_json(), ex=self.ttl)

    async def take_offer(self, thread: ThreadKey) -> Offer | None:
        """The open offer, taken once (a second "yes" doesn't make a second beat)."""
        return _read(Offer, await self.redis.getdel(self.offer_key(thread)))

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
                        takes=state.takes,
                    )
                    pipe.multi()
                    pipe.set(key, updated.to_json(), ex=self.ttl)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    async def last(self, thread: ThreadKey) -> ThreadState | None:
        return _read(ThreadState, await self.redis.get(self.key(thread)))

    async def forget(self, thread: ThreadKey) -> None:
        await self.redis.delete(self.key(thread), self.offer_key(thread))


def _read(kind: type[_Stored], raw: str | bytes | None) -> _Stored | None:
    if raw is None:
        return None
    try:
        return kind.from_json(raw)
    except (ValueError, TypeError, KeyError):  # unreadable memory is no memory
        return None


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
    # The question offers a genre instead of one we can't make; "yes" takes it.
    offer: Offer | None = None
    # BeatBot chose what the message left open ("surprise me"); the reply says what.
    surprise: bool = False

    @property
    def seed(self) -> int | None:
        return self.params.get("seed")


def resolve(intent: Intent, last: ThreadState | None) -> Resolution:
    """Turn an intent into what to do, using the thread's last request where it refers to one."""
    kind = intent.kind
    if kind in ("generate", "variation", "refine"):
        if intent.suggestion and "genre" not in intent.params:
            return _offer(intent, intent.suggestion)
        if kind == "generate" and intent.surprise:
            return _surprise(intent)
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


def _offer(intent: Intent, suggestion: Suggestion) -> Resolution:
    """ "uk garage at 132" -> "I don't do UK garage yet; the closest is house — want that?" """
    offer = Offer(
        intent.kind,
        {**intent.params, "genre": suggestion.genre},
        dict(intent.adjust),
        suggestion.asked,
    )
    question = phrasing.offer_text(suggestion.asked, suggestion.genre)
    return Resolution(intent.kind, question=question, offer=offer)


def _surprise(intent: Intent) -> Resolution:
    """ "surprise me": a genre, mood, tempo and key picked from the seed (what was said stays)."""
    seed = intent.params.get("seed")
    if seed is None:
        seed = random.randint(0, MAX_SEED)
    picked = surprise(seed, intent.params)
    if "bpm" not in intent.params:  # "surprise me, something fast": faster than its pick
        picked["bpm"] = _changed(picked["bpm"], "bpm", intent.adjust)
    return Resolution("generate", {**picked, "seed": seed}, surprise=True)


# Producer controls that act on the thread's beat (see `_controls`), not request fields.
_EDIT_PARAMS = ("restore", "extend_bars", "extend_seconds", "section", "part")


def _generate(intent: Intent) -> dict[str, Any]:
    params = {k: v for k, v in intent.params.items() if k not in _EDIT_PARAMS}
    if "bpm" not in params and ("bpm" in intent.adjust or "bpm_percent" in intent.adjust):
        # "a faster trap beat", "a trap beat 10% faster": than the genre's usual tempo
        genre = params.get("genre") or choose_genre(params.get("mood"))[0]
        params["bpm"] = _changed(get_genre(genre).default_bpm, "bpm", intent.adjust)
    return params


def _changed(value: float, name: str, adjust: Mapping[str, Any]) -> float | int:
    """`value` after the relative changes asked for it: "+8" and/or "20%"."""
    value = float(value) + float(adjust.get(name, 0))
    percent = adjust.get(f"{name}_percent")
    if percent:
        return _tidy(round(value * (1 + float(percent) / 100), 1))
    return _tidy(value)


def _follow_up(intent: Intent, last: ThreadState) -> dict[str, Any]:
    base = {k: v for k, v in last.params.items() if k in CARRIED and v is not None}
    changes = {k: v for k, v in intent.params.items() if k not in _EDIT_PARAMS}
    changes.pop("exclude", None)
    changes.pop("include", None)
    params = {**base, **changes}
    if changes.get("genre") and changes["genre"] != base.get("genre") and "bpm" not in changes:
        params["bpm"] = get_genre(changes["genre"]).default_bpm  # "now as house": house tempo
    if "quality" in changes and "target_lufs" not in changes:
        params.pop("target_lufs", None)  # the new preset decides the loudness
    for name in ("bpm", "duration"):
        asked = name in intent.adjust or f"{name}_percent" in intent.adjust
        if asked and name not in changes and name in params:
            params[name] = _changed(params[name], name, intent.adjust)
    redo = intent.params.get("section")
    if intent.kind == "variation" and "seed" not in changes and not redo:
        params.pop("seed", None)  # a new take: the caller picks a new seed
    _controls(params, intent.params, base)
    return params


def _controls(params: dict[str, Any], said: Mapping[str, Any], base: Mapping[str, Any]) -> None:
    """The producer controls of a follow-up, applied to the thread's beat in `params`:
    parts left out accumulate ("now without melody"), "drums back" takes them out again,
    instruments add up, and an extend or a redo is appended to the beat's edits (its seed
    kept, so every bar not edited stays as it was)."""
    exclude = [*base.get("exclude", ()), *said.get("exclude", ())]
    exclude = _restored(list(dict.fromkeys(exclude)), said.get("restore", ()))
    include = list(dict.fromkeys([*base.get("include", ()), *said.get("include", ())]))
    edits = [dict(edit) for edit in base.get("edits", ())]
    genre_changed = params.get("genre") != base.get("genre")
    if genre_changed or ("seed" not in params):
        # another genre or a new take: a redone section may not exist there any more
        edits = [edit for edit in edits if "redo" not in edit]
    if genre_changed and include:
        from engine.palettes import includable

        include = [voice for voice in include if voice in includable(str(params["genre"]))]
    bars = _bars_to_add(said, float(params.get("bpm") or base.get("bpm") or 120))
    if bars:
        edits.append({"extend": bars})
    if said.get("section"):
        edits.append(_redo(str(said["section"]), str(said.get("part") or "all"), edits))
    if bars or said.get("section"):
        params["new_edit"] = True
    for name, value in (("exclude", exclude), ("include", include), ("edits", edits)):
        if value or name in base:
            params[name] = value


def _restored(exclude: list[str], restore: Any) -> list[str]:
    """ "drums back": every drum part out of `exclude`; "hats back" out of "drums" leaves
    the other drum parts out."""
    for part in restore or ():
        if part == "drums":
            exclude = [p for p in exclude if p != "drums" and p not in DRUM_PARTS]
        elif part in DRUM_PARTS and "drums" in exclude:
            others = [d for d in DRUM_PARTS if d != part and d not in exclude]
            exclude = [p for p in exclude if p not in ("drums", part)] + others
        else:
            exclude = [p for p in exclude if p != part]
    return exclude


def extended(beat: Mapping[str, Any], *, bars: int | None, seconds: float | None) -> dict[str, Any]:
    """A beat request (a beat job's data) with bars appended: its seed, parts and earlier
    edits kept; seconds become the whole bars nearest them at its tempo (at least one)."""
    added = _bars_to_add({"extend_bars": bars, "extend_seconds": seconds}, float(beat["bpm"]))
    return _with_edit(beat, {"extend": added})


def redone(beat: Mapping[str, Any], *, section: str, part: str) -> dict[str, Any]:
    """A beat request (a beat job's data) with `section` (`part`) drawn again: its seed,
    parts and earlier edits kept, so every other section stays as it was."""
    return _with_edit(beat, _redo(section, part, list(beat.get("edits") or ())))


def _with_edit(beat: Mapping[str, Any], edit: dict[str, Any]) -> dict[str, Any]:
    """The beat's request with `edit` after the edits it has, as this render's new edit."""
    params = {k: v for k, v in beat.items() if k in CARRIED and v is not None}
    params["edits"] = [*(dict(done) for done in beat.get("edits") or ()), edit]
    params["new_edit"] = True
    return params


def _bars_to_add(said: Mapping[str, Any], bpm: float) -> int:
    """ "extend it by 8 bars" -> 8; "make it 30 seconds longer" -> the whole bars nearest 30 s
    at the beat's tempo (at least one)."""
    if said.get("extend_bars"):
        return int(said["extend_bars"])
    if said.get("extend_seconds"):
        return max(1, round(float(said["extend_seconds"]) * bpm / (60.0 * 4)))
    return 0


def _redo(section: str, part: str, edits: list[dict[str, Any]]) -> dict[str, Any]:
    """A redo of `section` (`part`), one take after the last redo of the same."""
    takes = [
        int(edit.get("take", 1))
        for edit in edits
        if edit.get("redo") == section and edit.get("part", "all") == part
    ]
    return {"redo": section, "part": part, "take": max(takes, default=0) + 1}


def _tidy(value: float) -> float | int:
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value
