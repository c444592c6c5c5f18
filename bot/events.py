"""Job and DAW events on one capped Redis Stream, for chat adapters, WebSockets and the DAW.

Publishing: `EventBus.publish(name, data, dedupe_key=...)` appends one entry
`{event: NAME, data: JSON}` to `<prefix>:events`. With a dedupe key, a Lua script checks and
appends in one step, so a job that arq runs twice (a retry, or a re-run after its worker died)
puts its `generation:completed` on the stream once, even when two workers race.

Consuming: every adapter has its own consumer group (Discord, Slack, ...), so each gets its own
copy. Delivery is at-least-once: an entry is acknowledged only after the handler returns;
a consumer that restarts reads its own pending entries first, and entries a dead consumer
left behind are taken over (XAUTOCLAIM) once they have been idle long enough. Handlers make
the side effect idempotent with `once(key)`, which together gives exactly-once posting.

WebSockets read without a group: `read_since(last_id)` returns what came after an id, so a
client reconnecting with `?since=ID` gets what it missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import redis.asyncio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from redis.exceptions import ResponseError

from bot import keys
from bot.connections import as_text
from bot.errors import InvalidRequest
from bot.jobs import Origin

log = logging.getLogger(__name__)

JobTypeName = Literal["generate-beat", "generate-stems", "mix-tracks", "master-track"]

# A dedupe marker outlives any retry or re-run of the job that set it.
DEDUPE_TTL = 7 * 24 * 3600
ONCE_TTL = 7 * 24 * 3600

_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")


def utc_timestamp() -> str:
    """Now as ISO-8601 UTC with milliseconds, like JavaScript's `new Date().toISOString()`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- event models ------------------------------------------------------------------------


class EventModel(BaseModel):
    """One event's data. Python names in snake_case; `to_data()` gives the seed's camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )
    NAME: ClassVar[str]

    timestamp: str = Field(default_factory=utc_timestamp)
    # Where the job came from, so a chat adapter posts into the thread that asked.
    origin: Origin | None = None

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TakeMarker(BaseModel):
    """On the events of one take of several (`bot.takes`): its group and place in it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)
    group_id: str = Field(
        description="The group's jobId: its combined progress and its one result."
    )
    index: int = Field(ge=1, description="Which take: 1, 2, ...")
    of: int = Field(ge=2, description="How many takes the group has.")


class GenerationStarted(EventModel):
    NAME: ClassVar[str] = "generation:started"
    job_id: str
    generation_id: str
    type: JobTypeName | None = None
    take: TakeMarker | None = None


class GenerationProgress(EventModel):
    NAME: ClassVar[str] = "generation:progress"
    job_id: str
    generation_id: str
    percent: int = Field(ge=0, le=100)
    stage: str
    take: TakeMarker | None = None


class GenerationCompleted(EventModel):
    NAME: ClassVar[str] = "generation:completed"
    job_id: str
    generation_id: str
    type: JobTypeName | None = None
    result: dict[str, Any]
    take: TakeMarker | None = None


class GenerationFailed(EventModel):
    NAME: ClassVar[str] = "generation:failed"
    job_id: str
    generation_id: str
    type: JobTypeName | None = None
    error: str
    take: TakeMarker | None = None


class Clip(BaseModel):
    """What a DAW timeline needs to place a clip; extra keys pass through.

    On the stream a clip names its files by storage reference (`path`, `download_path`); the
    server that sends the frame adds the signed `url` and `download_url` (`bot.links`)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )
    url: str | None = None
    duration: float = Field(ge=0)
    bpm: float | None = None
    key: str | None = None
    name: str | None = None
    download_url: str | None = None
    path: str | None = None
    download_path: str | None = None


class AudioLoaded(EventModel):
    NAME: ClassVar[str] = "daw:audio:loaded"
    generation_id: str
    track_id: str
    track_name: str  # "trap - 140 BPM"
    clip_id: str
    clip: Clip
    auto_play: bool = False


class TransportSync(EventModel):
    NAME: ClassVar[str] = "daw:transport:sync"
    bpm: float = Field(gt=0)
    generation_id: str | None = None


class TransportPlay(EventModel):
    NAME: ClassVar[str] = "daw:transport:play"
    clip_id: str
    generation_id: str | None = None


MODELS: dict[str, type[EventModel]] = {
    model.NAME: model
    for model in (
        GenerationStarted,
        GenerationProgress,
        GenerationCompleted,
        GenerationFailed,
        AudioLoaded,
        TransportSync,
        TransportPlay,
    )
}
EVENT_NAMES: tuple[str, ...] = tuple(MODELS)
JOB_EVENTS = EVENT_NAMES[:4]
DAW_EVENTS = EVENT_NAMES[4:]


def event_data(name: str, data: Mapping[str, Any] | EventModel) -> dict[str, Any]:
    """Validate `data` against the event's model and return the seed's camelCase JSON dict.

    A wrong name or missing field is a bug in the publisher, so it raises ValueError.
    """
    model = MODELS.get(name)
    if model is None:
        raise ValueError(f"unknown event {name!r}; events are {', '.join(EVENT_NAMES)}")
    if isinstance(data, EventModel):
        if not isinstance(data, model):
            raise ValueError(f"{type(data).__name__} is not the data of {name!r}")
        return data.to_data()
    try:
        return model.model_validate(dict(data)).to_data()
    except ValidationError as exc:
        raise ValueError(f"invalid data for {name}: {exc}") from None


@dataclass(frozen=True)
class Event:
    """One entry read from the stream."""

    id: str
    name: str
    data: dict[str, Any]

    @property
    def origin(self) -> dict[str, Any]:
        origin = self.data.get("origin")
        return origin if isinstance(origin, dict) else {}

    @property
    def platform(self) -> str | None:
        return self.origin.get("platform")

    def frame(self) -> dict[str, Any]:
        """The WebSocket frame: `{"event", "data", "id"}`."""
        return {"event": self.name, "data": self.data, "id": self.id}


def _decode_entry(entry_id: bytes | str, fields: Mapping[Any, Any] | None) -> Event | None:
    """An Event, or None for an entry trimmed away or not written by us."""
    if not fields:
        return None
    plain = {as_text(k): as_text(v) for k, v in fields.items()}
    name = plain.get("event")
    try:
        data = json.loads(plain.get("data", ""))
    except json.JSONDecodeError:
        return None
    if name not in MODELS or not isinstance(data, dict):
        return None
    return Event(id=as_text(entry_id), name=name, data=data)


def check_stream_id(value: str) -> str:
    """A stream id from a client (`?since=`), or InvalidRequest with a sentence."""
    value = value.strip()
    if value in ("0", "$") or _STREAM_ID.match(value):
        return value
    raise InvalidRequest(
        f"{value[:40]!r} is not an event id; use the `id` of the last event you received "
        "(like 1718000000000-0), or 0 for everything kept."
    )


# --- publishing ------------------------------------------------------------------------------

# KEYS[1] stream, KEYS[2] dedupe marker ('' for none); ARGV: maxlen, name, data, ttl.
# Check and append happen in one step, so two workers finishing the same job can't both post,
# and a crash can't leave a marker without its entry (or an entry without its marker).
_PUBLISH = """
if KEYS[2] ~= '' then
  local seen = redis.call('GET', KEYS[2])
  if seen then return {seen, 0} end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'event', ARGV[2], 'data', ARGV[3])
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], id, 'EX', ARGV[4]) end
return {id, 1}
"""


class EventBus:
    """Publishes events on `<prefix>:events` and reads them back in order."""

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        prefix: str,
        maxlen: int = 10_000,
        *,
        dedupe_ttl: int = DEDUPE_TTL,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = keys.events(prefix)
        self.maxlen = maxlen
        self.dedupe_ttl = dedupe_ttl
        self._script = redis.register_script(_PUBLISH)

    async def publish(
        self,
        name: str,
        data: Mapping[str, Any] | EventModel,
        dedupe_key: str | None = None,
    ) -> str:
        """Append one event; returns its stream id.

        With `dedupe_key`, the first publish of that key appends and later ones return the
        first entry's id without appending. A `timestamp` is added when `data` has none.
        """
        payload = event_data(name, data)
        marker = keys.event_dedupe(self.prefix, dedupe_key) if dedupe_key else ""
        entry_id, _created = await self._script(
            keys=[self.stream, marker],
            args=[self.maxlen, name, json.dumps(payload, separators=(",", ":")), self.dedupe_ttl],
        )
        return as_text(entry_id)

    async def last_id(self) -> str:
        """The id of the newest entry ("0-0" when the stream is empty): read from here on."""
        newest = await self.redis.xrevrange(self.stream, count=1)
        return as_text(newest[0][0]) if newest else "0-0"

    async def length(self) -> int:
        return int(await self.redis.xlen(self.stream))

    async def read_since(
        self, last_id: str, block_ms: int = 0, count: int = 100
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Entries after `last_id` as (id, name, data), oldest first; waits up to `block_ms`
        for new ones when there are none (0: don't wait). `last_id` "0" means all kept."""
        last_id = check_stream_id(last_id)
        if last_id == "$":
            last_id = await self.last_id()
        reply = await self.redis.xread(
            {self.stream: last_id}, count=count, block=block_ms if block_ms > 0 else None
        )
        events: list[tuple[str, str, dict[str, Any]]] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                event = _decode_entry(entry_id, fields)
                if event is not None:
                    events.append((event.id, event.name, event.data))
        return events


async def once(redis: redis.asyncio.Redis, prefix: str, key: str, ttl: int = ONCE_TTL) -> bool:
    """True the first time `key` is claimed (within `ttl`), False after: guard a side effect."""
    return bool(await redis.set(keys.once(prefix, key), "1", nx=True, ex=ttl))


async def forget(redis: redis.asyncio.Redis, prefix: str, key: str) -> None:
    """Release a `once` claim whose side effect failed, so the retry may try again."""
    await redis.delete(keys.once(prefix, key))


# --- consuming with a group ---------------------------------------------------------------

Handler = Callable[[Event], Awaitable[None]]


class EventConsumer:
    """One member of a consumer group on the event stream (one group per adapter).

    `consumer_name` should be stable across restarts of the same adapter process (e.g. the
    host name), so a restart picks up its own unacknowledged entries at once; entries of a
    consumer that never comes back are claimed after `claim_idle_ms`.
    """

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        prefix: str,
        group: str,
        consumer_name: str,
        *,
        platform: str | None = None,
        names: Collection[str] | None = None,
        block_ms: int = 1000,
        batch: int = 50,
        claim_idle_ms: int = 60_000,
        claim_every: float = 5.0,
        max_deliveries: int = 5,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = keys.events(prefix)
        self.group = group
        self.consumer = consumer_name
        self.platform = platform
        self.names = frozenset(names) if names is not None else None
        self.block_ms = block_ms
        self.batch = batch
        self.claim_idle_ms = claim_idle_ms
        self.claim_every = claim_every
        self.max_deliveries = max_deliveries

    async def ensure_group(self) -> bool:
        """Create the group at the stream's end if it doesn't exist; True if created.

        "$", not "0": an adapter that starts for the first time shouldn't replay old history.
        The group then stays, so a restart resumes exactly where it stopped.
        """
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    def wants(self, event: Event) -> bool:
        """Events outside this consumer's platform/names are acknowledged without handling."""
        if self.names is not None and event.name not in self.names:
            return False
        return self.platform is None or event.platform == self.platform

    async def once(self, key: str, ttl: int = ONCE_TTL) -> bool:
        """`once` scoped to this group: another adapter's claim doesn't block ours."""
        return await once(self.redis, self.prefix, f"{self.group}:{key}", ttl)

    async def forget(self, key: str) -> None:
        await forget(self.redis, self.prefix, f"{self.group}:{key}")

    async def run(self, handler: Handler, *, stop: asyncio.Event) -> None:
        """Deliver events to `handler` until `stop` is set: first this consumer's pending
        entries (from before a restart), then new ones, taking over idle entries now and then.
        """
        await self.ensure_group()
        await self.deliver_pending(handler, stop)
        next_claim = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_claim:
                await self.claim_idle(handler, stop)
                next_claim = time.monotonic() + self.claim_every
                await self.heartbeat()
            if stop.is_set():
                break
            for entry_id, fields in await self._read(">", self.block_ms):
                if stop.is_set():
                    break  # the rest stays pending for us and comes back on restart
                await self._deliver(entry_id, fields, handler)

    async def heartbeat(self) -> None:
        """Say this adapter is delivering (`beatbot doctor` reads it): a key that expires
        a few beats after the loop stops. Redis can't tell an idle group from a dead one."""
        ttl = max(15, round(self.claim_every * 3))
        await self.redis.set(keys.consumer_alive(self.prefix, self.group), self.consumer, ex=ttl)

    async def deliver_pending(self, handler: Handler, stop: asyncio.Event) -> int:
        """Re-deliver entries this consumer read but never acknowledged; returns how many."""
        start = "0"
        count = 0
        while not stop.is_set():
            entries = await self._read(start, None)
            if not entries:
                break
            for entry_id, fields in entries:
                if stop.is_set():
                    break
                await self._deliver(entry_id, fields, handler)
                start = as_text(entry_id)
                count += 1
        return count

    async def claim_idle(self, handler: Handler, stop: asyncio.Event) -> int:
        """Take over entries idle longer than `claim_idle_ms` (from dead consumers, or our own
        failed tries) and deliver them; returns how many."""
        cursor: bytes | str = "0-0"
        count = 0
        while not stop.is_set():
            reply = await self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                self.claim_idle_ms,
                start_id=cursor,
                count=self.batch,
            )
            cursor, entries = reply[0], reply[1]
            if any(entry_id is None for entry_id, _fields in entries):
                await self._ack_trimmed()  # Redis 6.2 claims trimmed entries as nil
            for entry_id, fields in entries:
                if stop.is_set():
                    break
                if entry_id is None:
                    continue
                await self._deliver(entry_id, fields, handler)
                count += 1
            if as_text(cursor) == "0-0":
                break
        return count

    async def _ack_trimmed(self) -> None:
        """Acknowledge our pending entries that the cap already trimmed off the stream."""
        pending = await self.redis.xpending_range(
            self.stream, self.group, min="-", max="+", count=1000, consumername=self.consumer
        )
        for item in pending:
            entry_id = as_text(item["message_id"])
            if not await self.redis.xrange(self.stream, min=entry_id, max=entry_id):
                await self.ack(entry_id)

    async def _read(self, start: str, block_ms: int | None) -> list[tuple[Any, Any]]:
        reply = await self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: start},
            count=self.batch,
            block=block_ms if block_ms else None,
        )
        return [entry for _stream, entries in reply or [] for entry in entries]

    async def _deliver(self, entry_id: Any, fields: Any, handler: Handler) -> None:
        event = _decode_entry(entry_id, fields)
        if event is None or not self.wants(event):
            await self.ack(as_text(entry_id))
            return
        try:
            await handler(event)
        except Exception:
            log.exception("handler of group %s failed on %s %s", self.group, event.name, event.id)
            await self._maybe_give_up(event)
            return
        await self.ack(event.id)

    async def _maybe_give_up(self, event: Event) -> None:
        """Stop retrying an entry that failed `max_deliveries` times: it would block nothing,
        but it would be retried forever."""
        pending = await self.redis.xpending_range(
            self.stream, self.group, min=event.id, max=event.id, count=1
        )
        if pending and int(pending[0]["times_delivered"]) >= self.max_deliveries:
            log.error(
                "group %s gives up on %s %s after %d deliveries",
                self.group,
                event.name,
                event.id,
                self.max_deliveries,
            )
            await self.ack(event.id)

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.stream, self.group, entry_id)

    async def pending_count(self) -> int:
        summary = await self.redis.xpending(self.stream, self.group)
        return int(summary["pending"])
