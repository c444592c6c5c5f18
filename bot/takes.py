"""Several takes of one beat: "give me 4 versions", "3 takes of a drill beat".

A request for N takes queues N ordinary beat jobs (same request, seeds one apart) and a
*take group* that ties them together. Each take is a whole beat of its own: its record,
generation id, folder, history entry, retries, stems and MIDI on demand, so the worker runs
the takes side by side on whichever render processes are free (on this worker or another)
and a take picked later is a clip like any other.

The group keeps, in one Redis hash, which jobs are its takes, each take's progress, and each
take's outcome once it has one. Take events carry `take: {groupId, index, of}` so chats can
leave them to the group; the group announces, under its own job id:
- `generation:progress` with the takes' mean percent (a finished take counts 100), and
- one `generation:completed` (kind "takes": every take's result or failure) when the last
  take is settled, or `generation:failed` when none of them made it.
Settling a take is idempotent and the group's announcements are de-duplicated, so a take
that runs twice (a retry, a re-run after a dead worker) still makes one result message.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from redis.exceptions import LockError

from bot.events import EventBus
from bot.jobs import JobRecord, JobState, Origin, new_ids
from bot.number_words import TEENS, UNITS

MIN_TAKES = 2
MAX_TAKES = 4
TOO_MANY = "ask for {least} to {most} (e.g. “give me {most} versions”)."
NO_TAKES = (
    "There are no takes in this thread to pick from. Ask for some, e.g. “give me 3 versions”."
)
# "pick 2", "pick take 2", "take 2", "I'll take 3", "choose number 1", "use #4", "pick two"
_PICK = re.compile(
    r"^\s*(?:i'?ll\s+|let'?s\s+)?(?:pick|choose|use|take|keep|go\s+with)\s+"
    r"(?:(?:take|version|option|number|no\.?)\s*|#\s*)?(?P<n>\d{1,2}|[a-z]+)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_PICK_SLUG = re.compile(r"^pick-(?P<n>\d{1,2})$")

log = logging.getLogger(__name__)


def joined(items: list[str]) -> str:
    """ "1", "1 and 2", "1, 2 and 3" """
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def too_many(asked: int) -> str:
    """ "5 takes is more than I make at once ..." for a count outside 2..4."""
    ask = TOO_MANY.format(least=MIN_TAKES, most=MAX_TAKES)
    if asked < 1:
        return f"I can't make {asked} takes; {ask}"
    return f"{asked} takes is more than I make at once; {ask}"


def pick_number(text: str) -> int | None:
    """The take a message picks ("pick 2", "take two"), or None when it picks none."""
    match = _PICK.match(text.strip())
    if match is None:
        return None
    raw = match["n"].lower()
    number = int(raw) if raw.isdigit() else {**UNITS, **TEENS}.get(raw)
    return number if number is not None and number >= 1 else None


def pick_command(action_slug: str) -> str | None:
    """A pick button's command from its slug ("pick-2" -> "pick 2"), for adapters whose
    buttons carry a slug; None for any other slug."""
    match = _PICK_SLUG.match(action_slug)
    return f"pick {int(match['n'])}" if match else None


# --- the group -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    index: int  # 1-based: "take 2"
    job_id: str
    generation_id: str
    seed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "take": self.index,
            "jobId": self.job_id,
            "generationId": self.generation_id,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class TakeGroup:
    """N takes of one request. `group_id` is hex like a job id, so it is what the chat's
    status message, "cancel" and the API's 202 name; `generation_id` names its result."""

    group_id: str
    generation_id: str
    user: str
    origin: Origin
    takes: tuple[Take, ...]

    @property
    def size(self) -> int:
        return len(self.takes)

    def take(self, index: int) -> Take | None:
        return next((t for t in self.takes if t.index == index), None)

    def belongs_to(self, user: str) -> bool:
        """Whose takes these are: the same rule as a job record's."""
        return (self.origin.user or self.user) == user

    def to_json(self) -> str:
        return json.dumps(
            {
                "groupId": self.group_id,
                "generationId": self.generation_id,
                "user": self.user,
                "origin": self.origin.model_dump(),
                "takes": [t.to_json() for t in self.takes],
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> TakeGroup:
        data = json.loads(raw)
        return cls(
            group_id=data["groupId"],
            generation_id=data["generationId"],
            user=data["user"],
            origin=Origin.model_validate(data["origin"]),
            takes=tuple(
                Take(int(t["take"]), t["jobId"], t["generationId"], int(t["seed"]))
                for t in data["takes"]
            ),
        )


def take_marker(group: TakeGroup, take: Take) -> dict[str, Any]:
    """What a take's job data and events carry: which group, which take, of how many."""
    return {"groupId": group.group_id, "index": take.index, "of": group.size}


def marker_of(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """A take job's (or take event's) marker, None for an ordinary beat."""
    marker = data.get("take")
    return marker if isinstance(marker, dict) and marker.get("groupId") else None


def marker_field(data: Mapping[str, Any]) -> dict[str, Any]:
    """`{"take": marker}` for a take job's events, {} for an ordinary job's."""
    marker = marker_of(data)
    return {"take": marker} if marker else {}


def new_group(user: str, origin: Origin, seeds: list[int]) -> TakeGroup:
    """A group with fresh ids for each take (queued by `TakeBook.create`)."""
    group_id, generation_id = new_ids()
    takes = []
    for index, seed in enumerate(seeds, start=1):
        job_id, take_generation = new_ids()
        takes.append(Take(index, job_id, take_generation, seed))
    return TakeGroup(group_id, generation_id, user, origin, tuple(takes))


# Record a take's progress (never backwards) and return the group's new mean percent, or -1
# when the mean did not move. KEYS[1] the group hash; ARGV: take index, percent, takes.
_PROGRESS = """
local field = 'progress:' .. ARGV[1]
local now = tonumber(ARGV[2])
if tonumber(redis.call('HGET', KEYS[1], field) or '0') >= now then return -1 end
redis.call('HSET', KEYS[1], field, now)
local total = 0
for i = 1, tonumber(ARGV[3]) do
  total = total + tonumber(redis.call('HGET', KEYS[1], 'progress:' .. i) or '0')
end
local mean = math.floor(total / tonumber(ARGV[3]))
if mean <= tonumber(redis.call('HGET', KEYS[1], 'progress') or '0') then return -1 end
redis.call('HSET', KEYS[1], 'progress', mean)
return mean
"""


class TakeBook:
    """Take groups in Redis (`<prefix>:takes:<group id>`), kept as long as job records."""

    def __init__(
        self, redis: redis.asyncio.Redis, prefix: str, events: EventBus, ttl: int | None
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.events = events
        self.ttl = ttl

    def key(self, group_id: str) -> str:
        return f"{self.prefix}:takes:{group_id}"

    async def create(self, group: TakeGroup) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(group.group_id), "group", group.to_json())
            if self.ttl:
                pipe.expire(self.key(group.group_id), self.ttl)
            await pipe.execute()

    async def get(self, group_id: str) -> TakeGroup | None:
        raw = await self.redis.hget(self.key(group_id), "group")
        return TakeGroup.from_json(raw) if raw else None

    async def outcomes(self, group_id: str) -> dict[int, dict[str, Any]]:
        """Each settled take's outcome by index: {"state", "result"} or {"state", "error"}."""
        raw = await self.redis.hgetall(self.key(group_id))
        settled = {}
        for field, value in raw.items():
            name = field.decode() if isinstance(field, bytes) else str(field)
            if name.startswith("outcome:"):
                settled[int(name.split(":", 1)[1])] = json.loads(value)
        return settled

    async def mean_progress(self, group_id: str) -> int:
        """The takes' mean percent as last announced (0 before any take moved)."""
        raw = await self.redis.hget(self.key(group_id), "progress")
        return int(float(raw)) if raw else 0

    async def finished(self, group_id: str) -> bool:
        group = await self.get(group_id)
        return group is not None and len(await self.outcomes(group_id)) >= group.size

    # --- from the takes' jobs ------------------------------------------------------------

    async def progress(self, record: JobRecord, percent: int, stage: str) -> None:
        """A take moved on: announce the group's mean progress if it moved too."""
        marker = marker_of(record.data)
        if marker is None:
            return
        group = await self.get(marker["groupId"])
        if group is None:
            return
        key = self.key(group.group_id)
        # Takes report at once from several jobs: the new mean and its event go out under one
        # lock, or a mean worked out first could be published after a higher one (83%, 81%).
        try:
            async with self.redis.lock(
                f"{key}:progress", timeout=10, sleep=0.005, blocking_timeout=5
            ):
                mean = await self.redis.eval(
                    _PROGRESS, 1, key, marker["index"], percent, group.size
                )
                if int(mean) < 0:
                    return
                await self.events.publish(
                    "generation:progress",
                    {
                        **_group_ids(group),
                        "percent": min(99, int(mean)),
                        "stage": f"Take {marker['index']} of {group.size}: {stage}",
                        "origin": group.origin.model_dump(),
                    },
                )
        except LockError:  # a stuck holder: this step goes unannounced, the next one says it
            log.warning("take group %s: progress lock not had in 5 s", group.group_id)

    async def settle(self, record: JobRecord) -> None:
        """A take finished (completed, failed or cancelled): record its outcome once, and
        when every take has one, announce the group's result once. Runs again safely after
        a crash (the outcome is set only if absent, the announcement is de-duplicated)."""
        marker = marker_of(record.data)
        if marker is None or not record.finished:
            return
        group = await self.get(marker["groupId"])
        if group is None:
            return
        if record.state is JobState.COMPLETED:
            outcome: dict[str, Any] = {"state": "completed", "result": record.result or {}}
        else:
            outcome = {"state": "failed", "error": record.error or "It didn't finish."}
        await self.redis.hsetnx(
            self.key(group.group_id), f"outcome:{marker['index']}", json.dumps(outcome)
        )
        settled = await self.outcomes(group.group_id)
        if len(settled) < group.size:
            await self.progress(
                record, 100, "done" if outcome["state"] == "completed" else "failed"
            )
            return
        await self._announce(group, settled)

    async def _announce(self, group: TakeGroup, settled: dict[int, dict[str, Any]]) -> None:
        made = [t for t in group.takes if settled[t.index]["state"] == "completed"]
        base = {**_group_ids(group), "type": "generate-beat", "origin": group.origin.model_dump()}
        dedupe = f"{group.generation_id}:finished"
        if not made:
            error = failed_text(group, settled, none_made=True)
            await self.events.publish(
                "generation:failed", {**base, "error": error}, dedupe_key=dedupe
            )
            return
        result = group_result(group, settled)
        await self.events.publish(
            "generation:completed", {**base, "result": result}, dedupe_key=dedupe
        )


def _group_ids(group: TakeGroup) -> dict[str, str]:
    return {"jobId": group.group_id, "generationId": group.generation_id}


# --- the group's result ------------------------------------------------------------------------

_SHOWN_KINDS = ("audio", "preview", "image")


def group_result(group: TakeGroup, settled: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """The one result of N takes: each take's own result (or its failure), the takes' audio
    and waveforms as files marked with their take, and what they share (genre, tempo...)."""
    takes: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    first: Mapping[str, Any] | None = None
    for take in group.takes:
        outcome = settled[take.index]
        entry = take.to_json() | {"state": outcome["state"]}
        if outcome["state"] == "completed":
            result = outcome["result"]
            first = first or result
            entry["result"] = result
            for file in result.get("files", []):
                if file.get("kind") in _SHOWN_KINDS:
                    files.append(
                        {**file, "title": f"Take {take.index}: {file['title']}"} | _of(take)
                    )
        else:
            entry["error"] = outcome["error"]
        takes.append(entry)
    assert first is not None  # a group with no take made is announced as failed instead
    shared = {name: first.get(name) for name in ("genre", "bpm", "key", "mood", "duration")}
    return {
        "kind": "takes",
        **shared,
        "summary": takes_text(group, settled, first),
        "takes": takes,
        "files": files,
    }


def _of(take: Take) -> dict[str, int]:
    return {"take": take.index}


def takes_text(
    group: TakeGroup, settled: Mapping[int, Mapping[str, Any]], shared: Mapping[str, Any]
) -> str:
    """ "3 takes of your dark trap beat (140 BPM, Cm, 8 s): take 1 (seed 11), take 2 (seed
    12), take 3 (seed 13). Pick the one you like: “pick 2”." plus which failed, and why."""
    made = [t for t in group.takes if settled[t.index]["state"] == "completed"]
    listed = ", ".join(f"take {t.index} (seed {t.seed})" for t in made)
    text = (
        f"{len(made)} take{'s' * (len(made) != 1)} of your {shared.get('mood')} "
        f"{shared.get('genre')} beat ({float(shared.get('bpm') or 0):g} BPM, {shared.get('key')}, "
        f"{float(shared.get('duration') or 0):.0f} s): {listed}. "
        f"Pick the one you like (“pick {made[0].index}”) and I'll carry on with it."
    )
    failed = failed_text(group, settled)
    return f"{text} {failed}" if failed else text


def failed_text(
    group: TakeGroup, settled: Mapping[int, Mapping[str, Any]], *, none_made: bool = False
) -> str:
    """Which takes failed and why, one sentence each ("" when none did)."""
    lines = [
        f"Take {t.index} failed: {settled[t.index]['error']}"
        for t in group.takes
        if settled[t.index]["state"] != "completed"
    ]
    if none_made:
        lines.insert(0, f"None of the {group.size} takes finished.")
    return " ".join(line if line.endswith((".", "!", "?")) else line + "." for line in lines)
