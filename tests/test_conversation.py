"""Thread memory in a real Redis, and how follow-ups resolve against the last request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio

from bot.config import Settings
from bot.conversation import (
    ASK_WHAT_TO_CHANGE,
    ASK_WHAT_TO_MAKE,
    ASK_WHICH_CLIP,
    Conversation,
    Offer,
    ThreadState,
    conversation_key,
    resolve,
)
from bot.intents import parse
from bot.requests import beat_request
from engine.genres import get_genre

THREAD = ("discord", "guild-1:chan-7", "thread-42")


def memory(redis_client: redis.asyncio.Redis, settings: Settings) -> Conversation:
    return Conversation(redis_client, settings.queue.key_prefix, settings.limits.conversation_ttl)


def last_beat(
    settings: Settings, text: str = "dark trap at 140 in Cm", seed: int = 11
) -> ThreadState:
    """What the assistant stores after a beat: the full validated request."""
    request = beat_request(parse(text).params, settings).model_copy(update={"seed": seed})
    return ThreadState(
        params=request.model_dump(mode="json"), generation_id="gen-1", job_id="job-1"
    )


# --- memory --------------------------------------------------------------------------------------


async def test_remember_and_recall_with_ttl(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    convo = memory(redis_client, settings)
    assert await convo.last(THREAD) is None
    state = last_beat(settings)
    stored = await convo.remember(THREAD, state)
    assert stored.updated_at > 0
    key = conversation_key(key_prefix, THREAD)
    assert key == f"{key_prefix}:conversation:discord:guild-1:chan-7:thread-42"
    assert await redis_client.exists(key) == 1
    ttl = await redis_client.ttl(key)
    assert settings.limits.conversation_ttl - 5 <= ttl <= settings.limits.conversation_ttl
    recalled = await convo.last(THREAD)
    assert recalled == stored
    assert recalled is not None and recalled.params["seed"] == 11
    assert recalled.params["genre"] == "trap" and recalled.params["bpm"] == 140


async def test_threads_are_separate_and_string_keys_work(
    redis_client: redis.asyncio.Redis, settings: Settings
) -> None:
    convo = memory(redis_client, settings)
    await convo.remember(THREAD, last_beat(settings))
    assert await convo.last(("discord", "guild-1:chan-7", "thread-43")) is None
    assert await convo.last(("slack", "guild-1:chan-7", "thread-42")) is None
    # bot.jobs.Origin.thread_key spells the same thread as one string
    assert await convo.last("discord:guild-1:chan-7:thread-42") is not None


async def test_a_new_request_replaces_the_last_and_restarts_the_ttl(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    convo = memory(redis_client, settings)
    await convo.remember(THREAD, last_beat(settings))
    key = conversation_key(key_prefix, THREAD)
    await redis_client.expire(key, 30)
    await convo.remember(THREAD, last_beat(settings, "chill lofi", seed=5))
    assert await redis_client.ttl(key) > 30
    state = await convo.last(THREAD)
    assert state is not None and (state.params["genre"], state.params["seed"]) == ("lo-fi", 5)


async def test_result_ids_are_added_to_the_same_generation(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    convo = memory(redis_client, settings)
    assert await convo.remember_result(THREAD, generation_id="gen-1", file_ids=["x"]) is None
    await convo.remember(THREAD, last_beat(settings))
    updated = await convo.remember_result(
        THREAD, generation_id="gen-1", file_ids=["beat.mp3", "stems/drums.wav"]
    )
    assert updated is not None and updated.file_ids == ("beat.mp3", "stems/drums.wav")
    assert (await convo.last(THREAD)) == updated
    assert await redis_client.ttl(conversation_key(key_prefix, THREAD)) > 0
    # a late result for an older generation doesn't overwrite the newer one
    assert await convo.remember_result(THREAD, generation_id="gen-0", file_ids=["old"]) is None
    state = await convo.last(THREAD)
    assert state is not None and state.file_ids == ("beat.mp3", "stems/drums.wav")


async def test_concurrent_result_updates_are_not_lost(
    redis_client: redis.asyncio.Redis, settings: Settings
) -> None:
    convo = memory(redis_client, settings)
    await convo.remember(THREAD, last_beat(settings))
    await asyncio.gather(
        convo.remember_result(THREAD, job_id="job-2"),
        convo.remember_result(THREAD, file_ids=["a.mp3"]),
    )
    state = await convo.last(THREAD)
    assert state is not None and (state.job_id, state.file_ids) == ("job-2", ("a.mp3",))


async def test_forget_and_expiry(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    convo = memory(redis_client, settings)
    await convo.remember(THREAD, last_beat(settings))
    await convo.forget(THREAD)
    assert await convo.last(THREAD) is None
    short = Conversation(redis_client, key_prefix, ttl=1)
    await short.remember(THREAD, last_beat(settings))
    assert await short.last(THREAD) is not None
    await asyncio.sleep(1.3)
    assert await short.last(THREAD) is None  # Redis expired it


async def test_unreadable_memory_is_no_memory(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    await redis_client.set(conversation_key(key_prefix, THREAD), b"{not json")
    assert await memory(redis_client, settings).last(THREAD) is None


async def test_an_offer_is_taken_once_and_a_new_request_clears_it(
    redis_client: redis.asyncio.Redis, settings: Settings, key_prefix: str
) -> None:
    convo = memory(redis_client, settings)
    offer = Offer("generate", {"genre": "house", "bpm": 130}, {}, "uk garage")
    await convo.offer(THREAD, offer)
    key = convo.offer_key(THREAD)
    assert key == f"{conversation_key(key_prefix, THREAD)}:offer"
    assert 0 < await redis_client.ttl(key) <= settings.limits.conversation_ttl
    assert await convo.take_offer(THREAD) == offer
    assert await convo.take_offer(THREAD) is None
    await convo.offer(THREAD, offer)
    await convo.remember(THREAD, last_beat(settings))  # a beat was asked for instead
    assert await convo.take_offer(THREAD) is None
    await redis_client.set(key, b"{not json")
    assert await convo.take_offer(THREAD) is None


# --- resolving follow-ups ------------------------------------------------------------------------


@pytest.fixture
def last(settings: Settings) -> ThreadState:
    return last_beat(settings)


def resolved(text: str, state: ThreadState | None) -> Any:
    return resolve(parse(text), state)


# auto_play is a per-request DAW switch, not part of the music a follow-up carries over.
SKIP = ("seed", "notes", "auto_play", "new_edit")


def test_again_keeps_everything_but_asks_for_a_new_seed(last: ThreadState) -> None:
    for text in ("again", "another one", "one more", "different take", "run it back"):
        res = resolved(text, last)
        assert res.kind == "variation" and res.question is None
        assert res.seed is None and "seed" not in res.params
        expected = {k: v for k, v in last.params.items() if k not in SKIP}
        assert {k: v for k, v in res.params.items() if v is not None} == {
            k: v for k, v in expected.items() if v is not None
        }
        assert res.generation_id == "gen-1"


def test_make_it_faster_adds_to_the_last_bpm_and_keeps_the_seed(last: ThreadState) -> None:
    res = resolved("make it faster", last)
    assert (res.kind, res.params["bpm"], res.seed) == ("refine", 148, 11)
    assert resolved("a lot slower", last).params["bpm"] == 124
    assert resolved("10 bpm faster", last).params["bpm"] == 150
    assert resolved("make it 120", last).params["bpm"] == 120
    assert resolved("a bit longer", last).params["duration"] == 40


def test_same_but_in_d_minor(last: ThreadState) -> None:
    res = resolved("same but in D minor", last)
    kept = {
        k: v
        for k, v in last.params.items()
        if k not in ("notes", "auto_play", "new_edit") and v is not None
    }
    assert res.params == {**kept, "key": "Dm"}


def test_now_as_house_takes_house_tempo_unless_stated(last: ThreadState) -> None:
    res = resolved("now as house", last)
    assert (res.params["genre"], res.params["bpm"], res.params["key"]) == ("house", 124, "Cm")
    assert resolved("now as house at 128", last).params["bpm"] == 128
    faster = resolved("now as house, a bit faster", last)
    assert (faster.params["genre"], faster.params["bpm"]) == ("house", 128)


def test_another_one_but_darker_changes_and_rerolls(last: ThreadState) -> None:
    res = resolved("one more, but sad", last)
    assert (res.kind, res.params["mood"], res.seed) == ("variation", "sad", None)


def test_new_quality_drops_the_old_loudness(last: ThreadState, settings: Settings) -> None:
    assert last.params["target_lufs"] == -14
    res = resolved("same but for club", last)
    assert res.params["quality"] == "club" and "target_lufs" not in res.params
    assert beat_request(res.params, settings).target_lufs == -8


def test_follow_ups_without_a_beat_ask_what_to_make() -> None:
    for text in ("again", "make it faster", "darker", "same but in D minor"):
        res = resolved(text, None)
        assert res.question == ASK_WHAT_TO_MAKE and res.params == {}
    empty = ThreadState()
    assert resolved("another one", empty).question == ASK_WHAT_TO_MAKE


def test_a_follow_up_naming_a_genre_starts_fresh() -> None:
    res = resolved("now as house", None)
    assert (res.kind, res.params, res.question) == ("generate", {"genre": "house"}, None)


def test_a_refine_that_changes_nothing_asks_what_to_change(last: ThreadState) -> None:
    res = resolved("make it", last)
    assert res.question == ASK_WHAT_TO_CHANGE


def test_stems_and_master_refer_to_the_last_clip(last: ThreadState) -> None:
    stems = resolved("stems for that", last)
    assert (stems.kind, stems.generation_id, stems.params) == ("stems", "gen-1", {})
    master = resolved("master it for club", last)
    assert (master.kind, master.generation_id, master.params) == ("master", "gen-1",
                                                                  {"quality": "club"})  # fmt: skip
    assert resolved("just the drums stem", None).question == ASK_WHICH_CLIP


def test_generate_applies_relative_words_to_the_genre_tempo(settings: Settings) -> None:
    res = resolved("a fast trap beat", None)
    assert res.params == {"genre": "trap", "bpm": 158}
    assert resolved("slow lofi beat", None).params == {"genre": "lo-fi", "bpm": 72}
    assert beat_request(res.params, settings).bpm == 158


def test_an_unsupported_style_gets_an_offer_not_a_random_beat() -> None:
    res = resolved("make me a polka beat at 110", None)
    assert res.question == "I don't do polka yet; the closest is pop — want that?"
    assert res.offer == Offer("generate", {"genre": "pop", "bpm": 110}, {}, "polka")
    assert res.params == {}  # nothing to make until the person says yes


def test_an_offered_change_keeps_its_kind(last: ThreadState) -> None:
    res = resolved("now as amapiano, a bit faster", last)
    assert res.offer == Offer("refine", {"genre": "house"}, {"bpm": 4}, "amapiano")
    taken = resolve(res.offer.intent(), last)
    assert (taken.kind, taken.params["genre"], taken.params["bpm"]) == ("refine", "house", 128)


def test_percent_changes_scale_the_last_value(last: ThreadState) -> None:
    assert last.params["bpm"] == 140 and last.params["duration"] == 30
    assert resolved("20% faster", last).params["bpm"] == 168
    assert resolved("slow it down by 15%", last).params["bpm"] == 119
    assert resolved("make it 50% longer", last).params["duration"] == 45
    assert resolved("10% slower", last).params["bpm"] == 126
    assert resolved("a trap beat 10% faster", None).params == {"genre": "trap", "bpm": 165}


def test_a_change_with_a_target_is_the_target(last: ThreadState) -> None:
    assert resolved("faster, like 150", last).params["bpm"] == 150
    assert resolved("slower, around 90", last).params["bpm"] == 90
    assert resolved("make it longer, like 60 seconds", last).params["duration"] == 60


def test_surprise_picks_from_the_seed_and_keeps_what_was_said(settings: Settings) -> None:
    res = resolved("surprise me with something dark, seed 9", None)
    assert res.surprise and res.kind == "generate" and res.question is None
    assert res.params["mood"] == "dark" and res.seed == 9
    assert res.params == resolved("surprise me with something dark, seed 9", None).params
    request = beat_request(res.params, settings)
    assert request.notes == []  # a surprise never says "you didn't name a genre"
    trap = resolved("random trap beat", None).params
    low, high = get_genre("trap").bpm_range
    assert trap["genre"] == "trap" and low <= trap["bpm"] <= high and trap["seed"] is not None


def test_resolved_params_validate(last: ThreadState, settings: Settings) -> None:
    for text in ("again", "make it faster", "same but in D minor", "now as house", "darker",
                 "a lot longer", "one more at 150", "warmer", "same but for cd"):  # fmt: skip
        res = resolved(text, last)
        request = beat_request(res.params, settings)
        assert request.notes == [] or "outside" in request.notes[0]
