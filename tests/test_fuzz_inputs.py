"""Fuzz the language and request layers, and the assistant on real services.

Extends tests/test_intents_properties.py (which checks the parser's JSON contract on text):
here the parser also gets non-text and hostile text (lone surrogates, control characters,
bidi marks), the request models get arbitrary JSON-like values, and the assistant answers any
message, attachment and button with a Reply whose text is a sentence, never our apology.
"""

from __future__ import annotations

import asyncio
import string
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.assistant import Assistant
from bot.config import load_settings
from bot.errors import APOLOGY, InvalidRequest
from bot.intents import KINDS, parse
from bot.jobs import Origin
from bot.messages import (
    Attachment,
    ErrorReply,
    FailedReply,
    JobAccepted,
    Message,
    ProgressReply,
    ResultReply,
    TextReply,
)
from bot.requests import (
    BeatRequest,
    MasterRequest,
    MixRequest,
    StemsRequest,
    beat_request,
    friendly_validation_error,
)
from bot.services import Services
from tests.test_intents_properties import FRAGMENTS, check_contract

SETTINGS = load_settings()
QUICK = settings(deadline=None, derandomize=True, database=None)

# Text a chat platform or a JSON body can really carry: any code point, lone surrogates
# (JSON "\ud800" decodes to one), control characters, bidi overrides, zero-width marks.
hostile_chars = st.characters(codec=None, categories=None)
hostile_text = st.one_of(
    st.text(hostile_chars, max_size=200),
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.sampled_from(["\ud800", "\udfff", "\u202e", "\ufeff", "\x1b[31m", "\t", "\x7f"]),
            st.text(hostile_chars, max_size=6),
        ),
        max_size=12,
    ).map(" ".join),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(hostile_chars, max_size=50),
    st.sampled_from(FRAGMENTS),
    st.sampled_from(["140", "140bpm", "30s", "1e309", "-0", "nan", "inf", " ", "C#m", "Hm"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

BEAT_FIELDS = [
    "genre", "bpm", "key", "mood", "duration", "seed", "quality", "target_lufs", "targetLufs",
    "targetLoudness", "mix_profile", "mixProfile", "profile", "format", "project_id",
    "projectId", "auto_play", "autoPlay", "notes",
]  # fmt: skip
OTHER_FIELDS = [
    "audio_file_id", "audioFileId", "stem_types", "stemTypes", "track_ids", "trackIds",
    "track_id", "trackId", "quality", "targetLoudness", "mixProfile", "projectId",
]  # fmt: skip


def bodies(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.one_of(st.sampled_from(fields), st.text(max_size=10)), json_values, max_size=8
    )


def is_sentence(text: Any) -> bool:
    return (
        isinstance(text, str)
        and 3 <= len(text) <= 2000
        and text.strip() == text
        and "Traceback" not in text
        and "pydantic" not in text.lower()
        and "errors.pydantic.dev" not in text
    )


# --- the parser ----------------------------------------------------------------------------


@settings(QUICK, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_text)
def test_fuzz_parser_takes_hostile_text_and_is_deterministic(text: str) -> None:
    first = check_contract(text)
    assert parse(text).to_json() == first  # the cache and a fresh parse agree
    assert check_contract(f"  {text}\t") == first or first["intent"] == "unknown"


@settings(QUICK, max_examples=100)
@given(json_values)
def test_fuzz_parser_takes_anything_that_is_not_text(value: Any) -> None:
    intent = parse(value)  # adapters pass what a platform gave them; it may not be a str
    assert intent.kind in KINDS


# --- the request models --------------------------------------------------------------------


def _check_model(model: type, body: dict[str, Any]) -> None:
    try:
        request = model.model_validate(body, context={"settings": SETTINGS})
    except Exception as exc:  # only a ValidationError is allowed, and it must read well
        assert type(exc).__name__ == "ValidationError", repr(exc)
        assert is_sentence(friendly_validation_error(exc)), friendly_validation_error(exc)
        assert is_sentence(friendly_validation_error(exc, name_field=False))
        return
    request.model_dump_json()  # whatever it accepted can be queued as JSON


@settings(QUICK, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(BEAT_FIELDS))
def test_fuzz_beat_request_model_only_raises_validation_errors(body: dict[str, Any]) -> None:
    _check_model(BeatRequest, body)


@settings(QUICK, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([StemsRequest, MixRequest, MasterRequest]), bodies(OTHER_FIELDS))
def test_fuzz_stems_mix_master_models_only_raise_validation_errors(
    model: type, body: dict[str, Any]
) -> None:
    _check_model(model, body)


@settings(QUICK, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(BEAT_FIELDS), st.one_of(st.none(), bodies(BEAT_FIELDS)), st.booleans())
def test_fuzz_beat_request_is_valid_or_one_sentence(
    params: dict[str, Any], defaults: dict[str, Any] | None, name_field: bool
) -> None:
    try:
        request = beat_request(params, SETTINGS, defaults, name_field=name_field)
    except InvalidRequest as exc:
        assert is_sentence(exc.message), exc.message
        return
    engine = SETTINGS.engine
    assert engine.min_bpm <= request.bpm <= engine.max_bpm
    assert 1 <= request.duration <= engine.max_duration
    assert request.seed is not None and 0 <= request.seed < 2**32
    assert request.target_lufs is not None and -30 <= request.target_lufs <= -5
    request.model_dump_json()


# --- the assistant on real services --------------------------------------------------------

ids = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)


def sometimes(strategy: st.SearchStrategy[Any], otherwise: Any) -> st.SearchStrategy[Any]:
    """`strategy` one time in four, else `otherwise` (most chat messages are plain text)."""
    return st.integers(0, 3).flatmap(lambda n: strategy if n == 0 else st.just(otherwise))


requests_text = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6).map(
    lambda words: "make a " + " ".join(words) + " beat"
)
messages = st.builds(
    lambda text, user, thread, platform, attachments, generation_id: Message(
        text=text,
        origin=Origin(platform=platform, channel="c1", thread=thread, user=user),
        attachments=tuple(Attachment(a, n) for a, n in attachments),
        generation_id=generation_id,
    ),
    text=st.one_of(
        requests_text,
        hostile_text,
        st.sampled_from(["midi", "stems", "status", "cancel", "again", "master it", "mix these"]),
    ),
    user=st.one_of(ids, st.text(hostile_chars, max_size=20)),
    thread=st.one_of(st.just(""), ids, st.text(hostile_chars, max_size=20)),
    platform=st.sampled_from(["web", "discord", "slack", "cli"]),
    attachments=sometimes(
        st.lists(
            st.tuples(st.one_of(ids, st.text(hostile_chars, max_size=30)), st.text(max_size=30)),
            min_size=1,
            max_size=3,
        ),
        [],
    ),
    generation_id=sometimes(st.one_of(ids, st.text(hostile_chars, max_size=30)), None),
)


def _draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` deterministic examples of `strategy` (replayed below inside the event loop)."""
    drawn: list[Any] = []

    @settings(QUICK, max_examples=count, phases=[Phase.generate])
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


async def test_fuzz_assistant_always_answers_with_a_valid_reply(services: Services) -> None:
    assistant = Assistant(services)
    cases = _draw(messages, 250)
    kinds = set()

    async def answer(message: Message) -> None:
        replies = [reply async for reply in assistant.handle(message)]
        assert len(replies) >= 1, message
        for reply in replies:
            kinds.add(type(reply).__name__)
            assert isinstance(
                reply,
                TextReply | ErrorReply | JobAccepted | ProgressReply | ResultReply | FailedReply,
            )
            text = getattr(reply, "text", "x" * 3)
            assert is_sentence(text), (message, reply)
            assert text != APOLOGY, f"the assistant hit an internal error on {message!r}"

    for start in range(0, len(cases), 10):  # a few at a time, as several chats would
        await asyncio.gather(*(answer(m) for m in cases[start : start + 10]))
    assert {"TextReply", "ErrorReply", "JobAccepted"} <= kinds, kinds
