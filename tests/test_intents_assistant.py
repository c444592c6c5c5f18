"""Issue 20's requests through the real Assistant, a real Redis and (for one) a real render:
offered genres and "yes", surprises, percentage changes, and beats that say how to mix and
master themselves."""

from __future__ import annotations

from typing import Any

import pytest

from bot.assistant import Assistant
from bot.config import Settings
from bot.connections import RedisHandle
from bot.intents import parse
from bot.jobs import JobState, Origin
from bot.messages import Action, JobAccepted, Message, Reply, TextReply
from bot.replies import unknown_text
from bot.services import Services
from bot.surprise import surprise
from engine.genres import get_genre
from tests.workers import run_worker


def origin(thread: str, user: str = "ada") -> Origin:
    return Origin(platform="cli", channel="terminal", thread=thread, user=user)


async def say(assistant: Assistant, text: str, thread: str, user: str = "ada") -> list[Reply]:
    return [r async for r in assistant.handle(Message(text, origin(thread, user)))]


async def queued(services: Services, reply: Reply) -> dict[str, Any]:
    assert isinstance(reply, JobAccepted), reply
    return (await services.queue.status(reply.job_id)).data


# --- a style we don't make: offer the nearest genre, and "yes" takes it -----------------------


@pytest.mark.parametrize("yes", ["yes", "sure", "ok do it", "yeah", "Yes please!", "👍"])
async def test_an_offered_genre_is_made_when_the_person_says_yes(
    services: Services, yes: str
) -> None:
    assistant = Assistant(services)
    [offer] = await say(assistant, "dark uk garage at 130, 20 seconds", "g1")
    assert isinstance(offer, TextReply), offer
    assert offer.text == "I don't do UK garage yet; the closest is house — want that?"
    assert "didn't name a genre" not in offer.text
    assert (await services.queue.stats())["waiting"] == 0  # nothing made before the answer
    # the button asks for the same beat in words any surface can send back
    assert offer.actions == (
        Action("Make it house", "make a dark house beat at 130 bpm, 20 seconds", ""),
    )
    assert parse(offer.actions[0].command).to_json() == {
        "intent": "generate",
        "params": {"genre": "house", "bpm": 130, "mood": "dark", "duration": 20},
        "adjust": {},
    }

    [accepted] = await say(assistant, yes, "g1")
    data = await queued(services, accepted)
    assert (data["genre"], data["bpm"], data["mood"], data["duration"]) == (
        "house",
        130,
        "dark",
        20,
    )
    assert accepted.text.startswith("On it: a dark house beat at 130 BPM")

    # the offer is taken once: a second "yes" is small talk again, and makes nothing
    [again] = await say(assistant, yes, "g1")
    assert isinstance(again, TextReply) and again.text == unknown_text()
    assert (await services.queue.stats())["waiting"] == 1


async def test_the_offer_button_makes_the_offered_beat(services: Services) -> None:
    assistant = Assistant(services)
    [offer] = await say(assistant, "something like daft punk, 15 seconds", "b1")
    assert isinstance(offer, TextReply)
    assert offer.text == "I can't copy Daft Punk, but the closest I make is house — want that?"
    [accepted] = await say(assistant, offer.actions[0].command, "b1")
    data = await queued(services, accepted)
    assert (data["genre"], data["duration"]) == ("house", 15)


async def test_an_offer_lives_in_its_thread_until_a_new_request(services: Services) -> None:
    assistant = Assistant(services)
    [offer] = await say(assistant, "phonk beat", "t1")
    assert isinstance(offer, TextReply) and "phonk" in offer.text and "trap" in offer.text
    # another thread's "yes" is not an answer to it
    [elsewhere] = await say(assistant, "yes", "t2")
    assert isinstance(elsewhere, TextReply) and (await services.queue.stats())["waiting"] == 0
    # a new request in the thread answers the offer another way
    [lofi] = await say(assistant, "lofi beat, 10 seconds", "t1")
    assert (await queued(services, lofi))["genre"] == "lo-fi"
    [late] = await say(assistant, "yes", "t1")
    assert isinstance(late, TextReply) and (await services.queue.stats())["waiting"] == 1


async def test_an_offer_as_a_change_to_the_last_beat(services: Services) -> None:
    assistant = Assistant(services)
    [first] = await say(assistant, "trap at 140 in Cm, 10 seconds", "r1")
    await queued(services, first)
    [offer] = await say(assistant, "now as reggaeton", "r1")
    assert isinstance(offer, TextReply) and "reggaeton" in offer.text and "hip hop" in offer.text
    [accepted] = await say(assistant, "go for it", "r1")
    data = await queued(services, accepted)
    # "now as hip hop": the last beat's key and length, hip hop's own tempo
    assert (data["genre"], data["key"], data["duration"]) == ("hip hop", "Cm", 10)
    assert data["bpm"] == get_genre("hip hop").default_bpm


# --- "surprise me" --------------------------------------------------------------------------


async def test_surprise_me_says_what_it_chose(services: Services) -> None:
    assistant = Assistant(services)
    [accepted] = await say(assistant, "surprise me", "s1")
    data = await queued(services, accepted)
    genre = get_genre(data["genre"])
    assert data["mood"] in genre.mood_options
    assert genre.bpm_range[0] <= data["bpm"] <= genre.bpm_range[1]
    assert accepted.text.startswith(
        f"Surprise: a {data['mood']} {data['genre']} beat at {data['bpm']:g} BPM in {data['key']}"
    )
    assert "didn't name a genre" not in accepted.text
    # the pick is the seed's: the same seed picks the same beat again
    picked = surprise(data["seed"], {})
    assert {k: data[k] for k in ("genre", "mood", "bpm", "key")} == {
        k: picked[k] for k in ("genre", "mood", "bpm", "key")
    }


async def test_a_surprise_keeps_what_was_said_and_its_seed(services: Services) -> None:
    assistant = Assistant(services)
    first = await queued(services, (await say(assistant, "surprise me, dark, seed 42", "s2"))[0])
    again = await queued(services, (await say(assistant, "surprise me, dark, seed 42", "s3"))[0])
    assert first["mood"] == "dark" and first["seed"] == 42
    assert first == again  # same message, same seed: the same beat
    picks = {
        (d["genre"], d["bpm"], d["key"])
        for seed in range(6)
        for d in [surprise(seed, {"mood": "dark"})]
    }
    assert len(picks) > 3  # different seeds, different surprises


# --- changes to the last beat ----------------------------------------------------------------


async def test_twenty_percent_faster_scales_the_last_tempo(services: Services) -> None:
    assistant = Assistant(services)
    [first] = await say(assistant, "boom bap at 100, 10 seconds", "p1")
    assert (await queued(services, first))["bpm"] == 100
    [faster] = await say(assistant, "20% faster", "p1")
    data = await queued(services, faster)
    assert (data["bpm"], data["genre"], data["duration"]) == (120, "boom bap", 10)
    [slower] = await say(assistant, "make it 10 percent slower", "p1")
    assert (await queued(services, slower))["bpm"] == 108
    [plain] = await say(assistant, "make it faster", "p1")  # no number: the usual step
    assert (await queued(services, plain))["bpm"] == 116
    [target] = await say(assistant, "faster, like 150", "p1")
    assert (await queued(services, target))["bpm"] == 150
    [longer] = await say(assistant, "make it longer, like 12 seconds", "p1")
    assert (await queued(services, longer))["duration"] == 12


# --- one request: a beat, its mix and its master ------------------------------------------------


async def test_a_beat_request_carries_its_mix_profile(services: Services) -> None:
    assistant = Assistant(services)
    [accepted] = await say(assistant, "house beat 124 bpm, mix it warm", "c1")
    data = await queued(services, accepted)
    assert (data["genre"], data["bpm"], data["mix_profile"]) == ("house", 124, "warm")
    assert accepted.text.endswith(" Warm mix.")
    [club] = await say(assistant, "edm 128 bpm, bright mix, club master", "c2")
    data = await queued(services, club)
    assert (data["genre"], data["mix_profile"], data["quality"], data["target_lufs"]) == (
        "edm",
        "bright",
        "club",
        -8,
    )
    assert club.text.endswith(" Bright mix, mastered for club.")


async def test_a_beat_mastered_at_minus_nine_lufs_measures_minus_nine(
    services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    assistant = Assistant(services)
    [accepted] = await say(assistant, "techno 130 mastered at -9 LUFS, mix it warm, 4 s", "m1")
    data = await queued(services, accepted)
    assert (data["genre"], data["bpm"], data["target_lufs"], data["mix_profile"]) == (
        "techno",
        130,
        -9,
        "warm",
    )
    assert accepted.text.endswith(" Warm mix, mastered at -9 LUFS.")
    await run_worker(settings, redis_handle)
    record = await services.queue.status(accepted.job_id)
    assert record.state is JobState.COMPLETED, record.error
    assert record.result is not None
    assert abs(record.result["lufs"] - -9) <= 0.5, record.result  # not the -14 default
    assert record.result["truePeak"] <= -1.0
