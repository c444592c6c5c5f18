"""Properties of the parser for any input: it never raises, and what it says fits the contract."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import vocab
from bot.intents import KINDS, MAX_CHARS, parse
from engine.genres import GENRE_NAMES, MOODS

KEY = re.compile(r"^[A-G](#|b)?m?$")
ALLOWED = {
    "generate": {
        "genre",
        "bpm",
        "key",
        "mood",
        "duration",
        "mix_profile",
        "quality",
        "target_lufs",
    },
    "stems": {"stems"},
    "master": {"quality", "target_lufs"},
    "mix": {"mix_profile", "quality", "target_lufs"},
}
ALLOWED["variation"] = ALLOWED["refine"] = ALLOWED["generate"]

# Pieces of real requests, so generated messages hit the interesting paths, not only noise.
FRAGMENTS = [
    "trap", "lofi", "lo fi", "boom bap", "house", "my house", "dnb", "d&b", "techno", "tecno",
    "hip hop", "hiphopp", "r&b", "rnb", "pop", "edm", "dubstep", "jazz", "jazzy", "rock",
    "dark", "darker", "not too", "chill", "hype", "gloomy", "sad", "epic", "C minor", "Cm",
    "F#m", "F sharp minor", "Bb", "in A", "a minor", "am", "140", "140bpm", "at 95", "bpm 120",
    "-14 LUFS", "2 minutes", "30s", "1:30", "90s", "4 bars", "2024", "808s", "faster",
    "a lot slower", "10 bpm faster", "make it", "same but", "now as", "another one", "again",
    "stems", "just the drums", "vocals", "acapella", "master it for club", "spotify", "dj",
    "mix these", "bass heavy", "warmer", "help", "genres", "status", "cancel", "stop", "hi",
    "lol", "<@123>", "<@!42>", "<@U07ABC>", "🔥", "привет", "你好", "\n", "\r\n", "\x00", ",",
    "?", "!", "-", "+", "#", "'", "\u200b", "♯", "♭", "ｔｒａｐ", "reggae", "polka",
]  # fmt: skip
messages = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=10).map("".join),
)


def check_contract(text: str) -> dict[str, Any]:
    intent = parse(text)
    data = intent.to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"intent", "params", "adjust"}
    kind, params, adjust = data["intent"], data["params"], data["adjust"]
    assert kind in KINDS
    assert set(params) <= ALLOWED.get(kind, set()), data
    if kind not in ("generate", "variation", "refine"):
        assert adjust == {}
    assert set(adjust) <= {"bpm", "duration"}
    for value in adjust.values():
        assert isinstance(value, int | float) and value != 0
    if "genre" in params:
        assert params["genre"] in GENRE_NAMES
    if "mood" in params:
        assert params["mood"] in MOODS
    if "key" in params:
        assert KEY.match(params["key"]), params["key"]
    for name in ("bpm", "duration"):
        if name in params:
            # What was said, even "0:00" or 9000 bpm: the request model refuses it in words.
            assert isinstance(params[name], int | float) and params[name] >= 0
    if "target_lufs" in params:
        assert isinstance(params["target_lufs"], int | float) and params["target_lufs"] <= 0
    if "mix_profile" in params:
        assert params["mix_profile"] in vocab.PROFILES
    if "quality" in params:
        assert params["quality"] in vocab.QUALITIES
    if "stems" in params:
        assert params["stems"] and set(params["stems"]) <= set(vocab.STEM_TYPES)
        assert len(set(params["stems"])) == len(params["stems"])
    return data


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_any_message_fits_the_contract(text: str) -> None:
    check_contract(text)


@settings(max_examples=200, deadline=None)
@given(messages, messages)
def test_a_line_break_is_a_space(first: str, second: str) -> None:
    assert parse(f"{first}\n{second}").to_json() == parse(f"{first} {second}").to_json()


@settings(max_examples=200, deadline=None)
@given(messages)
def test_mentions_change_nothing(text: str) -> None:
    assert parse(f"<@123456> {text}").to_json() == parse(f" {text}").to_json()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=40), st.sampled_from(FRAGMENTS))
def test_ten_kilobyte_messages(chunk: str, fragment: str) -> None:
    big = (chunk + " " + fragment + " ") * (10_240 // (len(chunk) + len(fragment) + 2) + 1)
    assert len(big) >= 10_240
    data = check_contract(big)
    # only the first MAX_CHARS characters are read
    assert data == check_contract(big[:MAX_CHARS])


def test_other_scripts_and_emoji_alone_are_unknown() -> None:
    for text in ("привет, как дела?", "你好，今天天气很好", "こんにちは", "مرحبا", "שלום",
                 "γειά σου", "🔥🔥🔥🎶🎧", "👋", "ℌ𝔢𝔩𝔩𝔬", "\u202ehello"):  # fmt: skip
        assert parse(text).kind == "unknown", text


def test_music_words_inside_other_languages_still_count() -> None:
    assert parse("做一个trap节拍 140bpm").to_json() == {
        "intent": "generate",
        "params": {"genre": "trap", "bpm": 140},
        "adjust": {},
    }
