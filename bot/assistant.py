"""The assistant: one entry point, `handle(message)`, used by every adapter.

It understands the message, remembers the thread, checks limits, queues jobs and answers
with platform-neutral `Reply` objects. Job progress and results arrive later as events;
`replies_for_event` turns those into Replies the same way for every adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bot import phrasing, replies, takes, work
from bot.conversation import Offer, ThreadState, resolve
from bot.errors import APOLOGY, NotFound, UserError, from_engine
from bot.intents import Intent, is_yes, parse
from bot.jobs import JobRecord, JobState, JobType, Origin
from bot.links import with_links
from bot.messages import (
    Action,
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    OutputFile,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.policy import MIDI_REQUESTS
from bot.requests import MAX_SEED, BeatRequest, beat_request
from bot.services import Services
from bot.store import ClipStore
from bot.takes import TakeGroup, marker_of, new_group
from bot.tasks import announce_clip
from engine.errors import EngineInputError
from engine.master import PRESETS
from engine.separate import STEM_TYPES

log = logging.getLogger(__name__)


# Parts a result's buttons mute (or bring back): the beat made again without them.
PART_TOGGLES = ("drums", "melody")
# The button under an offered genre: "Make it house".
OFFER_LABEL = "Make it"
OFFER_SLUG = "make-it-"


def part_toggles(generation_id: str, exclude: Iterable[str] = ()) -> tuple[Action, ...]:
    """ "Mute drums" ("without drums"), or "Drums back" when the beat has none."""
    left_out = set(exclude)
    return tuple(
        Action(f"{part.title()} back", f"with {part} back", generation_id)
        if part in left_out
        else Action(f"Mute {part}", f"without {part}", generation_id)
        for part in PART_TOGGLES
    )


def actions_for(generation_id: str, exclude: Iterable[str] = ()) -> tuple[Action, ...]:
    """The buttons under a finished beat; each sends its command back as a message."""
    return (
        Action("Variation", "another one", generation_id),
        Action("Faster", "make it faster", generation_id),
        Action("Slower", "make it slower", generation_id),
        Action("Stems", "stems", generation_id),
        *part_toggles(generation_id, exclude),
        Action("Master", "master it for club", generation_id),
        Action("MIDI", "midi", generation_id),
    )


def every_action(generation_id: str) -> tuple[Action, ...]:
    """Every button a beat's result may carry, for adapters that look a pressed one up."""
    return (*actions_for(generation_id), *part_toggles(generation_id, PART_TOGGLES))


# Where a job reports back: an Origin, or (in a chat) the opening of its thread, done only
# once the request passed every check.
Place = Origin | Callable[[], Awaitable[Origin]]


async def _placed(place: Place) -> Origin:
    return place if isinstance(place, Origin) else await place()


async def queue_job(
    svc: Services, job_type: JobType, data: dict[str, Any], user: str, origin: Place
) -> JobRecord:
    """Count the request against the person's rate limit, then queue it."""
    await svc.limits.check_rate(user)
    return await svc.queue.enqueue(job_type, data, user_id=user, origin=await _placed(origin))


async def queue_beat(svc: Services, request: BeatRequest, user: str, origin: Place) -> JobRecord:
    """Count the request, reserve its audio from today's quota and queue it; the
    reservation is given back if queueing fails, so an outage never costs a person quota."""
    await svc.limits.check_rate(user)
    await svc.limits.reserve(user, request.charged_seconds)
    try:
        placed = await _placed(origin)
        return await svc.queue.enqueue(
            JobType.BEAT, request.model_dump(mode="json"), user_id=user, origin=placed
        )
    except BaseException:
        await svc.limits.refund(user, request.charged_seconds)
        raise


def button_slug(label: str) -> str:
    """A button's label as the id a platform carries back ("Mute drums" -> "mute-drums")."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def button_command(slug: str, generation_id: str) -> str | None:
    """The command behind a pressed button whose id carries only its label's slug and its
    clip (Discord, Slack): worked out, not stored, so buttons survive a restart. A beat's
    buttons, a take's "Pick 2", or an offered genre ("Make it house": "yes" takes the offer
    waiting in the thread); None for a button we no longer have."""
    for action in every_action(generation_id):
        if button_slug(action.label) == slug:
            return action.command
    if slug.startswith(OFFER_SLUG):
        return "yes"
    return takes.pick_command(slug)


def pick_actions(result: Mapping[str, Any]) -> tuple[Action, ...]:
    """One "Pick N" button per take that was made, each naming its take's clip."""
    return tuple(
        Action(f"Pick {take['take']}", f"pick {take['take']}", str(take["generationId"]))
        for take in result.get("takes", [])
        if take.get("state") == "completed"
    )


async def queue_takes(
    svc: Services, request: BeatRequest, count: int, user: str, origin: Place
) -> tuple[TakeGroup, list[JobRecord]]:
    """`count` takes of one request (seeds one apart from the request's): one request
    against the rate limit, `count` beats against today's quota, reserved together (all
    or none) and given back if queueing fails; each take that fails gives its own back."""
    await svc.limits.check_rate(user)
    seconds = request.charged_seconds * count
    await svc.limits.reserve(user, seconds)
    try:
        placed = await _placed(origin)
        seed = int(request.seed or 0)
        group = new_group(user, placed, [(seed + i) % (MAX_SEED + 1) for i in range(count)])
        records = await svc.queue.enqueue_takes(group, request.model_dump(mode="json"))
    except BaseException:
        await svc.limits.refund(user, seconds)
        raise
    return group, records


class Assistant:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, message: Message) -> AsyncIterator[Reply]:
        """Answer one message. Never raises: every failure becomes an ErrorReply."""
        try:
            async for reply in self._dispatch(message):
                yield reply
        except UserError as exc:
            yield ErrorReply(exc.message)
        except EngineInputError as exc:
            yield ErrorReply(from_engine(exc).message)
        except Exception:
            log.exception("could not handle a message from %s", message.origin.platform)
            yield ErrorReply(APOLOGY)

    async def _dispatch(self, message: Message) -> AsyncIterator[Reply]:
        text = message.text.strip()
        if text.lower() in MIDI_REQUESTS:
            yield await self._midi(message)
            return
        picked = takes.pick_number(text)
        if picked is not None and not message.attachments:
            yield await self._pick(message, picked)
            return
        intent = await self._taken_offer(message) or parse(text)
        if message.attachments and intent.kind in ("unknown", "generate", "refine"):
            intent = _intent_for_attachments(intent, message)
        kind = intent.kind
        if kind == "help":
            yield TextReply.of(replies.help_text())
        elif kind == "genres":
            yield TextReply.of(replies.genres_text())
        elif kind == "unknown":
            yield TextReply(replies.unknown_text())
        elif kind == "status":
            yield await self._status(message)
        elif kind == "cancel":
            yield await self._cancel(message)
        elif kind in ("generate", "variation", "refine"):
            yield await self._beat(message, intent)
        elif kind == "stems":
            yield await self._stems(message, intent)
        elif kind == "master":
            yield await self._master(message, intent)
        elif kind == "mix":
            yield await self._mix(message, intent)
        else:  # a kind the parser knows and we don't is a bug, not the person's fault
            raise RuntimeError(f"unhandled intent {kind!r}")

    # --- beats ------------------------------------------------------------------------

    async def _beat(self, message: Message, intent: Intent) -> Reply:
        svc = self.services
        count = intent.params.get("takes")
        if (
            isinstance(count, int)
            and count != 1
            and not takes.MIN_TAKES <= count <= takes.MAX_TAKES
        ):
            return TextReply(takes.too_many(count))
        state = await self._thread_state(message)
        resolution = resolve(intent, state)
        if resolution.question:
            return await self._ask(message, resolution.question, resolution.offer)
        request = beat_request(resolution.params, svc.settings, message.defaults)
        if isinstance(count, int) and count > 1:
            return await self._takes(message, request, count)
        record = await queue_beat(svc, request, message.user, message.job_origin)
        await svc.conversation.remember(
            record.origin.thread_key,  # the job's thread, which a chat may just have opened
            ThreadState(
                params=request.model_dump(mode="json"),
                generation_id=record.generation_id,
                job_id=record.job_id,
            ),
        )
        text = _surprise_text(request) if resolution.surprise else _accepted_text(request)
        text += phrasing.finish_note(intent.params)
        return JobAccepted(record.job_id, record.generation_id, text)

    async def _takes(self, message: Message, request: BeatRequest, count: int) -> Reply:
        """N takes rendered side by side; the thread's clip is take 1 until one is picked."""
        svc = self.services
        group, records = await queue_takes(svc, request, count, message.user, message.job_origin)
        first = records[0]
        await svc.conversation.remember(
            group.origin.thread_key,
            ThreadState(
                params=request.model_dump(mode="json") | {"seed": group.takes[0].seed},
                generation_id=first.generation_id,
                job_id=first.job_id,
                takes=group.group_id,
            ),
        )
        return JobAccepted(
            group.group_id,
            group.generation_id,
            _takes_text(request, group),
            tuple(r.job_id for r in records),
        )

    async def _pick(self, message: Message, number: int) -> Reply:
        """ "pick 2" (typed, or the take's button): take 2 becomes the thread's clip."""
        svc = self.services
        group = await self._take_group(message)
        if group is None:
            return TextReply(takes.NO_TAKES)
        take = group.take(number)
        if take is None:
            return TextReply(
                f"There are {group.size} takes here; pick one from 1 to {group.size} "
                f"(e.g. “pick {group.size}”)."
            )
        record = await svc.queue.status(take.job_id)
        if not record.finished:
            return TextReply(f"Take {number} is still rendering; I'll post the takes together.")
        if record.state is not JobState.COMPLETED or record.result is None:
            others = [t.index for t in group.takes if t.index != number]
            return TextReply(
                f"Take {number} didn't make it ({(record.error or '').rstrip('.')}), so there's "
                f"nothing to pick. "
                f"Pick another: {takes.joined([str(i) for i in others])}."
            )
        params = {k: v for k, v in record.data.items() if k != "take"}
        await svc.conversation.remember(
            message.origin.thread_key,
            ThreadState(
                params=params,
                generation_id=record.generation_id,
                job_id=record.job_id,
                takes=group.group_id,
            ),
        )
        await announce_clip(svc, record, record.result)
        return TextReply(
            f"Take {number} is now the clip: {params['genre']}, {float(params['bpm']):g} BPM, "
            f"seed {params['seed']}. Say “make it faster”, “stems” or “master it for club” "
            "and I'll work on this one.",
            actions_for(record.generation_id),
        )

    async def _take_group(self, message: Message) -> TakeGroup | None:
        """The takes a pick chooses from: the pressed button's, else the thread's last."""
        svc = self.services
        group_id: str | None = None
        if message.generation_id:
            record = await svc.queue.by_generation(message.generation_id)
            marker = marker_of(record.data)
            group_id = str(marker["groupId"]) if marker else None
        else:
            state = await svc.conversation.last(message.origin.thread_key)
            group_id = state.takes if state is not None else None
        return await svc.queue.takes.get(group_id) if group_id else None

    async def _ask(self, message: Message, question: str, offer: Offer | None) -> TextReply:
        """A question back; an offered genre waits in the thread for "yes", with a button."""
        if offer is None:
            return TextReply(question)
        await self.services.conversation.offer(message.origin.thread_key, offer)
        command = phrasing.prompt_for(offer.kind, offer.params, offer.adjust)
        return TextReply(question, (Action(f"{OFFER_LABEL} {offer.genre}", command, ""),))

    async def _taken_offer(self, message: Message) -> Intent | None:
        """ "yes" to "the closest is house — want that?": the offered beat, else None."""
        if message.attachments or not is_yes(message.text):
            return None
        offer = await self.services.conversation.take_offer(message.origin.thread_key)
        return offer.intent() if offer else None

    # --- your own audio ---------------------------------------------------------------

    async def _stems(self, message: Message, intent: Intent) -> Reply:
        svc = self.services
        types = list(intent.params.get("stems") or STEM_TYPES)
        if message.attachments:
            file_id = message.attachments[0].file_id
            svc.store.path_for(file_id)  # NotFound with a sentence if the upload is gone
            record = await queue_job(
                svc,
                JobType.STEMS,
                {"audio_file_id": file_id, "stem_types": types},
                message.user,
                message.job_origin,
            )
            return JobAccepted(
                record.job_id,
                record.generation_id,
                f"Splitting {message.attachments[0].name} into {', '.join(types)}…",
            )
        return await self._beat_stems(message, intent.params.get("stems") or [])

    async def _beat_stems(self, message: Message, asked: list[str]) -> Reply:
        """Every stem the beat has (or those asked for), adding up to its mix before
        mastering: from its folder when someone asked before, else rendered by a job."""
        svc = self.services
        source = await self._target(message)
        if source.type is JobType.STEMS:  # a track split earlier: hand its stems over again
            files = tuple(f for f in _files(source, svc.store) if f.kind == "stem")
            return ResultReply(source.job_id, source.generation_id, "Here are those stems.", files)
        if source.type is not JobType.BEAT:
            raise NotFound(
                "Stems come with the beats I make. To split your own track, send the file "
                "with “stems”."
            )
        folder = svc.store.generation_dir(source.generation_id)
        kept = work.summing_stems(folder / work.STEMS)
        if kept:
            chosen = [name for name in kept if not asked or Path(name).stem in asked]
            if not chosen:
                raise UserError(work.missing_stems(asked, kept))
            files = _hand_out(work.stem_files(svc.store, folder, chosen), svc.store)
            text = f"The stems of that beat: {', '.join(Path(n).stem for n in chosen)}."
            return ResultReply(
                source.job_id, source.generation_id, f"{text} {work.BEAT_STEMS_NOTE}", files
            )
        data = {"generation_id": source.generation_id, "beat": source.data, "stem_types": asked}
        record = await queue_job(svc, JobType.STEMS, data, message.user, message.origin)
        return JobAccepted(record.job_id, record.generation_id, "Rendering that beat's stems…")

    async def _master(self, message: Message, intent: Intent) -> Reply:
        svc = self.services
        quality = intent.params.get("quality")
        target = intent.params.get("target_lufs")
        if target is None:
            quality = quality or svc.settings.engine.default_quality
            target = PRESETS[quality]
        data: dict[str, Any] = {"target_lufs": float(target), "quality": quality}
        if message.attachments:
            data["track_id"] = message.attachments[0].file_id
            svc.store.path_for(data["track_id"])
            name = message.attachments[0].name
        else:
            source = await self._target(message)
            data["generation_id"] = source.generation_id
            name = "that beat"
        record = await queue_job(svc, JobType.MASTER, data, message.user, message.job_origin)
        label = f"for {quality} ({target:g} LUFS)" if quality else f"to {target:g} LUFS"
        return JobAccepted(record.job_id, record.generation_id, f"Mastering {name} {label}…")

    async def _mix(self, message: Message, intent: Intent) -> Reply:
        svc = self.services
        if len(message.attachments) < 2:
            return TextReply(
                "To mix, send two or more audio files in one message, e.g. drums.wav and "
                "bass.wav with “mix these bass heavy”."
            )
        for attachment in message.attachments:
            svc.store.path_for(attachment.file_id)
        profile = intent.params.get("mix_profile") or svc.settings.engine.default_profile
        record = await queue_job(
            svc,
            JobType.MIX,
            {"track_ids": [a.file_id for a in message.attachments], "mix_profile": profile},
            message.user,
            message.job_origin,
        )
        return JobAccepted(
            record.job_id,
            record.generation_id,
            f"Mixing {len(message.attachments)} tracks with the {profile} profile…",
        )

    async def _midi(self, message: Message) -> Reply:
        """A beat's MIDI, composed from its request and seed the first time it is asked for
        (no audio to render, so at once) and kept in its folder."""
        store = self.services.store
        source = await self._target(message)
        if source.type is not JobType.BEAT:
            raise NotFound("That clip has no MIDI file. Only generated beats come with MIDI.")
        folder = store.generation_dir(source.generation_id)
        path = await asyncio.to_thread(work.beat_midi, source.data, folder)
        files = _hand_out([work.midi_file(store, path)], store)
        return ResultReply(source.job_id, source.generation_id, "Here's the MIDI.", files)

    # --- jobs -------------------------------------------------------------------------

    async def _status(self, message: Message) -> Reply:
        svc = self.services
        stats = await svc.queue.stats()
        line = (
            f"Queue: {stats['waiting']} waiting, {stats['active']} working, "
            f"{stats['completed']} done, {stats['failed']} failed."
        )
        state = await self._thread_state(message)
        if state is not None and state.takes and not message.generation_id:
            line = f"{await self._takes_state(state.takes)} {line}"
        elif state is not None and state.job_id:
            with contextlib.suppress(NotFound):
                record = await svc.queue.status(state.job_id)
                line = f"Your last job is {_describe_state(record)}. {line}"
        return TextReply(line)

    async def _takes_state(self, group_id: str) -> str:
        """ "Your 3 takes: 1 done, 2 rendering." """
        group = await self.services.queue.takes.get(group_id)
        if group is None:
            return ""
        counts: dict[str, int] = {}
        for take in group.takes:
            record = await self.services.jobs.get(take.job_id)
            word = _TAKE_STATES[record.state.value] if record is not None else "gone"
            counts[word] = counts.get(word, 0) + 1
        told = ", ".join(f"{n} {word}" for word, n in counts.items())
        return f"Your {group.size} takes: {told}."

    async def _cancel(self, message: Message) -> Reply:
        state = await self._thread_state(message)
        if state is not None and state.takes and not message.generation_id:
            cancelled = await self.services.queue.cancel_takes(state.takes)
            if cancelled:
                count = len(cancelled)
                return TextReply(
                    f"Cancelled {count} take{'s' * (count != 1)} still rendering. Tell me what "
                    "to make instead whenever you like."
                )
        if state is None or not state.job_id:
            return TextReply("There's nothing running in this thread to cancel.")
        record = await self.services.queue.status(state.job_id)
        if record.finished:
            return TextReply(f"Your last job already {record.state.value}; nothing to cancel.")
        await self.services.queue.cancel(state.job_id)
        return TextReply("Cancelled. Tell me what to make instead whenever you like.")

    # --- helpers ----------------------------------------------------------------------

    async def _thread_state(self, message: Message) -> ThreadState | None:
        state = await self.services.conversation.last(message.origin.thread_key)
        if message.generation_id:
            record = await self.services.queue.by_generation(message.generation_id)
            params = record.data if record.type is JobType.BEAT else (state.params if state else {})
            return ThreadState(
                params=params, generation_id=record.generation_id, job_id=record.job_id
            )
        return state

    async def _target(self, message: Message) -> JobRecord:
        """The finished clip a follow-up ("stems for that", a button) refers to."""
        state = await self._thread_state(message)
        if state is None or not state.generation_id:
            raise NotFound("I don't have a clip in this thread yet. Ask me for a beat first!")
        record = await self.services.queue.by_generation(state.generation_id)
        if not record.finished:
            raise UserError("That beat is still cooking; I'll post it here when it's ready.")
        if record.result is None:
            raise UserError("That job didn't finish, so there's nothing to work on. Try again?")
        return record


def replies_for_event(name: str, data: Mapping[str, Any], store: ClipStore) -> Reply | None:
    """The Reply an adapter shows for a job event (None: nothing to show in chat); its files'
    links are signed with `store`, this process's, where the person will click them."""
    job_id = str(data.get("jobId", ""))
    generation_id = str(data.get("generationId", ""))
    if marker_of(data):
        return None  # one take of several: its group reports for it
    if name == "generation:progress":
        return ProgressReply(job_id, generation_id, int(data["percent"]), str(data["stage"]))
    if name == "generation:failed":
        return FailedReply(job_id, generation_id, str(data.get("error") or APOLOGY))
    if name == "generation:completed":
        result = with_links(data.get("result") or {}, store)
        files = tuple(_output_files(result, store))
        kind = result.get("kind")
        exclude = result.get("exclude") or ()
        actions = (
            actions_for(generation_id, exclude)
            if kind == "beat"
            else pick_actions(result)
            if kind == "takes"
            else ()
        )
        return ResultReply(
            job_id,
            generation_id,
            str(result.get("summary") or "Done."),
            files,
            actions,
            details=dict(result),
        )
    return None


def _intent_for_attachments(intent: Intent, message: Message) -> Intent:
    """Audio with a vague message: two or more files mean mix, one means master."""
    kind = "mix" if len(message.attachments) > 1 else "master"
    return Intent(kind, intent.params, intent.adjust)


def _accepted_text(request: BeatRequest) -> str:
    text = (
        f"On it: a {request.mood} {request.genre} beat at {request.bpm:g} BPM in "
        f"{request.key}, {replies.clip_length(request.total_seconds, request.bpm)}, "
        f"seed {request.seed}."
    )
    if request.notes:
        text += " " + " ".join(request.notes)
    return text


_TAKE_STATES = {
    "waiting": "waiting",
    "active": "rendering",
    "completed": "done",
    "failed": "failed",
}


def _takes_text(request: BeatRequest, group: TakeGroup) -> str:
    """ "On it: 3 takes of a dark trap beat at 140 BPM in Cm, 8 s (4 bars), seeds 7, 8 and 9;
    they render side by side and arrive together." """
    seeds = takes.joined([str(t.seed) for t in group.takes])
    text = (
        f"On it: {group.size} takes of a {request.mood} {request.genre} beat at "
        f"{request.bpm:g} BPM in {request.key}, "
        f"{replies.clip_length(request.duration, request.bpm)}, seeds {seeds}; they render side "
        "by side and arrive together, each with a pick button."
    )
    if request.notes:
        text += " " + " ".join(request.notes)
    return text


def _surprise_text(request: BeatRequest) -> str:
    """ "Surprise: a groovy house beat at 124 BPM in Am, 30 s (seed 7)." """
    return "Surprise: " + _accepted_text(request).removeprefix("On it: ")


def _describe_state(record: JobRecord) -> str:
    if record.state.value == "active":
        return f"at {record.progress}% ({record.stage})"
    if record.state.value == "failed":
        return f"failed: {record.error}"
    return record.state.value


def _files(record: JobRecord, store: ClipStore) -> list[OutputFile]:
    return _output_files(with_links(record.result or {}, store), store)


def _output_files(result: Mapping[str, Any], store: ClipStore) -> list[OutputFile]:
    """A signed result's files, found in this process's data dir."""
    files = []
    for f in result.get("files", []):
        ref = str(f["path"])
        path = store.local(ref) if store.is_ref(ref) else Path(ref)
        files.append(
            OutputFile(f["title"], f["kind"], path, f["url"], f["size"], int(f.get("take") or 0))
        )
    return files


def _hand_out(entries: list[dict[str, Any]], store: ClipStore) -> tuple[OutputFile, ...]:
    """File entries (storage references) as signed output files."""
    return tuple(_output_files(with_links({"files": entries}, store), store))
