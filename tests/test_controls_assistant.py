"""Issue 22's producer controls through the real Assistant, a real Redis and the real worker:
an extend keeps the seed and appends whole bars (measured on the clip), the card says what
was extended or left out, "Mute drums" makes the beat again without drums (its stems have
none), and a section the beat doesn't have comes back as a sentence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import soundfile

from bot.assistant import Assistant, actions_for
from bot.config import Settings
from bot.connections import RedisHandle
from bot.conversation import ThreadState, resolve
from bot.intents import parse
from bot.jobs import JobRecord, JobState, Origin
from bot.messages import ErrorReply, JobAccepted, Message, Reply
from bot.services import Services
from tests.workers import run_worker

BPM = 90
BAR_SECONDS = 4 * 60.0 / BPM


def origin(thread: str, user: str = "ada") -> Origin:
    return Origin(platform="cli", channel="terminal", thread=thread, user=user)


async def say(
    assistant: Assistant, text: str, thread: str, generation_id: str | None = None
) -> list[Reply]:
    message = Message(text, origin(thread), generation_id=generation_id)
    return [r async for r in assistant.handle(message)]


async def rendered(
    services: Services, settings: Settings, handle: RedisHandle, reply: Reply
) -> JobRecord:
    assert isinstance(reply, JobAccepted), reply
    await run_worker(settings, handle)
    record = await services.queue.status(reply.job_id)
    assert record.state is JobState.COMPLETED, record.error
    assert record.result is not None
    return record


def clip_seconds(services: Services, record: JobRecord) -> float:
    """The length of the clip as decoded from its file."""
    assert record.result is not None
    info = soundfile.info(str(services.store.local(record.result["audioPath"])))
    return info.frames / info.samplerate


async def test_extend_appends_the_bars_asked_for_and_the_card_says_so(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    assistant = Assistant(services)
    [first] = await say(assistant, f"boom bap at {BPM} bpm for 8 seconds", "x1")
    original = await rendered(services, settings, redis_handle, first)
    [accepted] = await say(assistant, "extend it by 2 bars", "x1")
    assert isinstance(accepted, JobAccepted)
    assert "13 s (5 bars)" in accepted.text  # 3 bars of 90 BPM, and 2 more
    extended = await rendered(services, settings, redis_handle, accepted)
    assert extended.data["seed"] == original.data["seed"]  # the same beat, bars appended
    assert extended.data["edits"] == [{"extend": 2}]
    added = clip_seconds(services, extended) - clip_seconds(services, original)
    assert abs(added - 2 * BAR_SECONDS) < 0.05, added
    assert extended.result is not None
    assert "Extended by 2 bars to 13 s (5 bars)." in extended.result["summary"]
    # The quota counts what each render delivers: the 8 s asked for, and the bars extends add.
    used = (await services.limits.usage("ada")).used
    assert used == pytest.approx(8 + 8 + 2 * BAR_SECONDS, abs=0.01)  # kept in ms
    # "make it 10 seconds longer": the whole bars nearest 10 s at 90 BPM (4 bars)
    [longer] = await say(assistant, "make it 10 seconds longer", "x1")
    data = (await services.queue.status(longer.job_id)).data  # type: ignore[union-attr]
    assert data["edits"] == [{"extend": 2}, {"extend": 4}] and data["seed"] == original.data["seed"]
    later = (await services.limits.usage("ada")).used
    assert later == pytest.approx(used + 8 + 6 * BAR_SECONDS, abs=0.01)


async def test_mute_drums_makes_the_beat_again_without_drums(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    assistant = Assistant(services)
    [first] = await say(assistant, f"boom bap at {BPM} bpm for 8 seconds", "m1")
    original = await rendered(services, settings, redis_handle, first)
    assert original.result is not None
    mute = next(a for a in actions_for(original.generation_id) if a.label == "Mute drums")
    [accepted] = await say(assistant, mute.command, "m1", generation_id=mute.generation_id)
    muted = await rendered(services, settings, redis_handle, accepted)
    assert muted.result is not None
    assert muted.data["exclude"] == ["drums"] and muted.data["seed"] == original.data["seed"]
    assert "No drums." in muted.result["summary"]
    labels = [a.label for a in actions_for(muted.generation_id, muted.result["exclude"])]
    assert "Drums back" in labels and "Mute drums" not in labels
    # its stems, made on demand from the same request: no drum stem with sound in it
    [stems] = await say(assistant, "stems", "m1")
    record = await rendered(services, settings, redis_handle, stems)
    assert record.result is not None
    names = record.result["stems"]
    assert names and "bass.wav" in names
    folder = services.store.generation_dir(muted.generation_id) / "stems"
    for name in ("drums.wav", "kick.wav", "snare.wav", "hats.wav"):
        if (folder / name).exists():
            audio, _ = soundfile.read(str(folder / name))
            assert float(np.max(np.abs(audio))) < 1e-4, name
    # "Drums back" brings them back: the same request as the original
    [back] = await say(assistant, "with drums back", "m1")
    data: dict[str, Any] = (await services.queue.status(back.job_id)).data  # type: ignore[union-attr]
    assert data["exclude"] == [] and data["seed"] == original.data["seed"]


async def test_what_the_engine_cant_do_is_a_sentence(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    assistant = Assistant(services)
    # the thread's beat, as its request was remembered (no need to render it for this)
    beat = {
        "genre": "boom bap", "bpm": BPM, "key": "Am", "mood": "nostalgic", "duration": 8,
        "seed": 5, "quality": "streaming", "mix_profile": "balanced", "format": "mp3",
    }  # fmt: skip
    await services.conversation.remember(origin("e1").thread_key, ThreadState(params=beat))
    [harp] = await say(assistant, "add a harp", "e1")
    assert isinstance(harp, ErrorReply) and harp.text.startswith("I don't have harp for boom bap")
    assert "piano" in harp.text
    [long] = await say(assistant, "extend it by 200 bars", "e1")
    assert isinstance(long, ErrorReply) and "extend it by less" in long.text
    # a section the beat doesn't have: the job fails with the engine's sentence
    [drop] = await say(assistant, "regenerate the drop", "e1")
    assert isinstance(drop, JobAccepted)
    await run_worker(settings, redis_handle)
    record = await services.queue.status(drop.job_id)
    assert record.state is JobState.FAILED
    assert record.error and "no drop" in record.error and "its sections are" in record.error


def test_redo_takes_count_up_per_section_and_part() -> None:
    state = ThreadState(
        params={"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 20,
                "seed": 7, "edits": [{"redo": "hook", "part": "all", "take": 1}]},
        generation_id="g",
    )  # fmt: skip
    again = resolve(parse("redo the hook"), state)
    assert again.kind == "variation" and again.seed == 7
    assert again.params["edits"][-1] == {"redo": "hook", "part": "all", "take": 2}
    drums = resolve(parse("different drums in the hook"), state)
    assert drums.params["edits"][-1] == {"redo": "hook", "part": "drums", "take": 1}
    # a new take (another seed) or another genre drops the redone sections, keeps the rest
    assert "edits" not in resolve(parse("another one"), state).params or not any(
        "redo" in e for e in resolve(parse("another one"), state).params["edits"]
    )
    house = resolve(parse("now as house"), state).params
    assert house["genre"] == "house" and not any("redo" in e for e in house["edits"])


def test_parts_left_out_add_up_and_come_back() -> None:
    state = ThreadState(
        params={"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 20,
                "seed": 7, "exclude": ["hats"], "include": []},
        generation_id="g",
    )  # fmt: skip
    melody = resolve(parse("now without melody"), state)
    assert (melody.kind, melody.params["exclude"], melody.seed) == ("refine", ["hats", "melody"], 7)
    assert resolve(parse("bring back the hats"), state).params["exclude"] == []
    drums_out = ThreadState(params={**state.params, "exclude": ["drums"]}, generation_id="g")
    assert resolve(parse("put the hats back"), drums_out).params["exclude"] == [
        "kick", "snare", "perc",
    ]  # fmt: skip
    piano = resolve(parse("add piano"), state).params
    assert piano["include"] == ["piano"] and piano["exclude"] == ["hats"]
