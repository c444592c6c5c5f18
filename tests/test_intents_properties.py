"""Properties of the parser for any input: it never raises, and what it says fits the contract."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from num2words import num2words

from bot import phrasing, vocab
from bot.intents import KINDS, MAX_CHARS, is_yes, parse
from bot.number_words import digits_for_words
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
ALLOWED["generate"] |= {"exclude", "include", "restore", "extend_bars", "extend_seconds"}
ALLOWED["generate"] |= {"section", "part", "takes"}
ALLOWED["variation"] = ALLOWED["refine"] = ALLOWED["generate"]
PARTS = {"drums", "kick", "snare", "hats", "perc", "bass", "chords", "melody", "fx"}

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
    "one forty", "a hundred and twenty", "ninety-five", "one oh five", "half a minute",
    "20% faster", "10 percent slower", "faster, like 150", "surprise me", "anything",
    "dealer's choice", "uk garage", "2step", "two-step", "daft punk", "phonk", "funk", "tarp",
    "trpa", "rtap", "Drill.", "144.", "mastered at -9 LUFS", "mix it warm", "club master",
    "yes", "a minor change", "no hi-hats", "without melody", "drums only", "no problem",
    "with piano", "add strings", "extend it by 8 bars", "add 4 bars", "30 seconds longer",
    "redo the hook", "different drums in the verse", "drums back", "give me 4 versions",
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
    assert (
        {"intent", "params", "adjust"}
        <= set(data)
        <= {
            "intent",
            "params",
            "adjust",
            "suggestion",
            "surprise",
        }
    )
    kind, params, adjust = data["intent"], data["params"], data["adjust"]
    assert kind in KINDS
    assert set(params) <= ALLOWED.get(kind, set()), data
    if kind not in ("generate", "variation", "refine"):
        assert adjust == {} and "suggestion" not in data
    if "surprise" in data:
        assert kind == "generate" and data["surprise"] is True
    if "suggestion" in data:  # offered, never put in params as if it had been asked for
        assert data["suggestion"]["genre"] in GENRE_NAMES and "genre" not in params, data
        assert data["suggestion"]["exact"] is False and data["suggestion"]["asked"]
    assert set(adjust) <= {"bpm", "duration", "bpm_percent", "duration_percent"}
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
    for name in ("exclude", "restore"):  # parts, each once, in a non-empty list
        if name in params:
            assert params[name] and set(params[name]) <= PARTS, data
            assert len(set(params[name])) == len(params[name])
    if "include" in params:
        assert params["include"] and set(params["include"]) <= set(vocab.INCLUDE_WORDS)
    if "extend_bars" in params:
        assert kind == "refine" and isinstance(params["extend_bars"], int)
        assert params["extend_bars"] > 0 and "extend_seconds" not in params
    if "extend_seconds" in params:
        assert kind == "refine" and params["extend_seconds"] > 0
    if "section" in params:
        assert kind in ("variation", "refine") and params["section"] in vocab.SECTION_WORDS
    if "part" in params:
        assert "section" in params and params["part"] in PARTS
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


# --- numbers in words ------------------------------------------------------------------------


def number_forms(n: int) -> list[str]:
    """Ways people write n in words, from num2words' English (an independent speller):
    "one hundred and twenty-one", without "and", without hyphens, "a hundred ...", and the
    tempo talk "one twenty-one" / "one oh five"."""
    words = num2words(n)
    forms = {words, words.replace("-", " "), words.replace(" and ", " ")}
    if 100 <= n < 200:
        forms.add(words.replace("one hundred", "a hundred", 1))
    rest = n % 100
    if n > 100 and rest:
        tens = num2words(rest) if rest >= 10 else "oh " + num2words(rest)
        forms.add(f"{num2words(n // 100)} {tens}")
    return sorted(forms)


def test_every_number_word_form_from_one_to_three_hundred_is_a_tempo() -> None:
    misread = []
    for n in range(1, 301):
        for form in number_forms(n):
            contexts = [f"trap beat at {form} bpm", f"{form} bpm trap"]
            if n >= 10:  # "at 5" is not a tempo in digits either
                contexts.append(f"trap beat at {form}")
            for text in contexts:
                if parse(text).params != {"genre": "trap", "bpm": n}:
                    misread.append((text, parse(text).params))
    assert not misread, misread[:10]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(40, 300),
    st.data(),
    st.sampled_from(["", "dark ", "make a ", "yo <@123> ", "gimme a chill "]),
    st.sampled_from(["", " in C minor", " for two minutes", ", hype", " please"]),
)
def test_number_words_read_like_digits_anywhere_in_a_request(
    n: int, data: st.DataObject, before: str, after: str
) -> None:
    form = data.draw(st.sampled_from(number_forms(n)))
    in_words = parse(f"{before}drill at {form}{after}").to_json()
    in_digits = parse(f"{before}drill at {n}{after}").to_json()
    assert in_words == in_digits
    assert in_words["params"]["bpm"] == n


@settings(max_examples=300, deadline=None)
@given(messages)
def test_yes_and_number_words_take_any_text(text: str) -> None:
    assert isinstance(is_yes(text), bool)
    once = digits_for_words(text.lower())
    assert digits_for_words(once) == once  # digits stay digits


# --- a button's command reads back as the request it stands for ----------------------------

KEYS = ["C", "Cm", "C#m", "Db", "D", "Dm", "Eb", "Ebm", "E", "Em", "F", "Fm", "F#", "F#m", "G",
        "Gm", "G#m", "Ab", "A", "Am", "Bb", "Bbm", "B", "Bm"]  # fmt: skip
beat_params = st.fixed_dictionaries(
    {"genre": st.sampled_from(GENRE_NAMES)},
    optional={
        "bpm": st.one_of(st.integers(40, 240), st.integers(400, 2400).map(lambda b: b / 10)),
        "key": st.sampled_from(KEYS),
        "mood": st.sampled_from(MOODS),
        "duration": st.integers(5, 300),
        "mix_profile": st.sampled_from(vocab.PROFILES),
        "quality": st.sampled_from(vocab.QUALITIES),
        "target_lufs": st.integers(-30, -5),
        "seed": st.integers(0, 2**32 - 1),
    },
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "bpm": st.sampled_from([-16, -8, -4, 4, 8, 16, 10, -10]),
        "duration": st.sampled_from([-30, -15, 10, 15, 30]),
    },
) | st.fixed_dictionaries(
    {},
    optional={
        "bpm_percent": st.sampled_from([-50, -20, -10, 5, 10, 20, 50]),
        "duration_percent": st.sampled_from([-50, -25, 25, 50, 100]),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["generate", "refine", "variation"]), beat_params, changes)
def test_an_offer_buttons_command_reads_back_as_the_offer(
    kind: str, params: dict[str, Any], adjust: dict[str, Any]
) -> None:
    adjust = {k: v for k, v in adjust.items() if k.removesuffix("_percent") not in params}
    command = phrasing.prompt_for(kind, params, adjust)
    assert parse(command).to_json() == {"intent": kind, "params": params, "adjust": adjust}
