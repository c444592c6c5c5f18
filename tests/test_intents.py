"""Parser details the table does not show: cleaning, numbers that are not tempo, key spellings,
false friends of the fuzzy matcher, the vocabulary, and the reply texts."""

from __future__ import annotations

import json

import pytest

from bot import replies, vocab
from bot.intents import KINDS, Intent, parse, parse_json
from engine.genres import GENRE_NAMES, GENRES, MOODS


def params(text: str) -> dict:
    return parse(text).params


# --- cleaning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mention", ["<@123>", "<@!123>", "<@U07ABC>", "<@U07ABC|beatbot>", "<#C024BE7LR|general>",
                "<@&987>", "<:fire:123456>"],
)  # fmt: skip
def test_chat_mentions_are_ignored(mention: str) -> None:
    bare = parse("dark trap at 140").to_json()
    assert parse(f"{mention} dark trap at 140").to_json() == bare
    assert parse(f"dark {mention} trap at 140 {mention}").to_json() == bare
    assert parse(mention).kind == "unknown"


def test_multi_line_message_is_one_message() -> None:
    got = parse("yo\nmake a dark trap beat\r\nat 140\n\nin C minor").to_json()
    assert got == {
        "intent": "generate",
        "params": {"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark"},
        "adjust": {},
    }


def test_links_and_control_characters_are_noise() -> None:
    assert params("trap\x00\x07 at 140 https://example.com/track/808?t=150") == {
        "genre": "trap",
        "bpm": 140,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F♯m drill", {"genre": "drill", "key": "F#m"}),
        ("B♭ jazz", {"genre": "jazz", "key": "Bb"}),
        ("ｔｒａｐ ａｔ １４０", {"genre": "trap", "bpm": 140}),  # full-width, folded by NFKC
        ("tr\u200bap", {}),  # a zero-width space is removed, not a separator... see below
        ("lo–fi at 80", {"genre": "lo-fi", "bpm": 80}),  # en dash
        ("drum’n’bass", {"genre": "drum and bass"}),  # curly apostrophes
        ("Trap −14 LUFS", {"genre": "trap", "target_lufs": -14}),  # unicode minus
    ],
)
def test_unicode_is_folded(text: str, expected: dict) -> None:
    if text == "tr\u200bap":
        expected = {"genre": "trap"}  # "tr" + "ap" join again once the zero-width char is gone
    assert params(text) == expected


# --- numbers that are not tempo ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trap 2 minutes", {"genre": "trap", "duration": 120}),
        ("trap at -14 LUFS", {"genre": "trap", "target_lufs": -14}),
        ("trap -14lufs", {"genre": "trap", "target_lufs": -14}),
        ("trap, 14 LUFS", {"genre": "trap", "target_lufs": -14}),  # loudness targets are negative
        ("trap 4 bars", {"genre": "trap"}),
        ("trap 1:30", {"genre": "trap", "duration": 90}),
        ("trap beat in 2024", {"genre": "trap"}),
        ("trap for $50", {"genre": "trap"}),
        ("trap 50% darker", {"genre": "trap", "mood": "dark"}),
        ("trap in 4/4", {"genre": "trap"}),
        ("trap 24 bit wav", {"genre": "trap"}),
        ("trap 320k mp3", {"genre": "trap"}),
        ("trap with 808s", {"genre": "trap"}),
        ("trap at 9am", {"genre": "trap"}),
        ("trap, -1 dBTP ceiling", {"genre": "trap"}),
        ("trap 2x", {"genre": "trap"}),
        ("trap 30", {"genre": "trap"}),  # 30 is below any tempo we render
        ("trap 400", {"genre": "trap"}),  # so is 400 without "bpm"
        ("trap 400 bpm", {"genre": "trap", "bpm": 400}),  # ...but stated is stated
        ("trap at 9000 bpm", {"genre": "trap", "bpm": 9000}),  # validation explains later
        ("trap 140.5 bpm", {"genre": "trap", "bpm": 140.5}),
        ("90s boom bap at 92", {"genre": "boom bap", "bpm": 92}),
        ("80s pop at 118", {"genre": "pop", "bpm": 118}),
        ("lofi, 90s long", {"genre": "lo-fi", "duration": 90}),
        ("lofi for 60s", {"genre": "lo-fi", "duration": 60}),
    ],
)
def test_numbers_go_where_they_belong(text: str, expected: dict) -> None:
    assert params(text) == expected


def test_bpm_is_int_when_whole_and_float_otherwise() -> None:
    assert type(params("trap 140 bpm")["bpm"]) is int
    assert params("lofi 85-90 bpm")["bpm"] == 87.5
    assert type(params("house 2 minutes")["duration"]) is int


def test_absolute_tempo_wins_over_relative_words() -> None:
    assert parse("make it faster, like 150 bpm").to_json() == {
        "intent": "refine",
        "params": {"bpm": 150},
        "adjust": {},
    }


@pytest.mark.parametrize(
    ("text", "adjust"),
    [
        ("make it faster", {"bpm": 8}),
        ("a little faster", {"bpm": 4}),
        ("much faster", {"bpm": 16}),
        ("slightly slower", {"bpm": -4}),
        ("slow it down a bit", {"bpm": -4}),
        ("20 bpm slower", {"bpm": -20}),
        ("speed it up by 10", {"bpm": 10}),
        ("-6 bpm", {"bpm": -6}),
        ("bpm +3", {"bpm": 3}),
        ("lower the tempo by 7", {"bpm": -7}),
        ("make it 15 seconds shorter", {"duration": -15}),
        ("darker and longer by 20 seconds", {"duration": 20}),  # with a change: re-rendered
        ("a lot longer", {"duration": 30}),
        ("faster, +1 minute", {"bpm": 8, "duration": 60}),
        # percentages of the last beat's tempo or length
        ("20% quicker", {"bpm_percent": 20}),
        ("speed it up 15%", {"bpm_percent": 15}),
        ("tempo -5%", {"bpm_percent": -5}),
        ("faster, like 12.5 percent", {"bpm_percent": 12.5}),
        ("increase the length by 20%", {"duration_percent": 20}),
        ("cut the length by 10%", {"duration_percent": -10}),
        ("extend it by 50%", {"duration_percent": 50}),
        ("trim it 10%", {"duration_percent": -10}),
        ("50% of the time", {}),  # a percentage with no change word is not a change
    ],
)
def test_relative_changes(text: str, adjust: dict) -> None:
    assert parse(text).adjust == adjust


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("trap in C minor", "Cm"), ("trap in c minor", "Cm"), ("trap c min", "Cm"),
        ("trap Cm", "Cm"), ("trap cmin", "Cm"), ("trap C-minor", "Cm"), ("trap Cminor", "Cm"),
        ("trap in C", "C"), ("trap C major", "C"), ("trap Cmaj", "C"), ("trap c maj", "C"),
        ("trap F#m", "F#m"), ("trap f#m", "F#m"), ("trap F# minor", "F#m"),
        ("trap F sharp minor", "F#m"), ("trap f-sharp minor", "F#m"), ("trap in F#", "F#"),
        ("trap Bb", "Bb"), ("trap in Bb", "Bb"), ("trap B flat", "Bb"), ("trap b flat major", "Bb"),
        ("trap Bbm", "Bbm"), ("trap bbm", "Bbm"), ("trap Bb minor", "Bbm"),
        ("trap B flat minor", "Bbm"), ("trap E♭ minor", "Ebm"), ("trap Ebm", "Ebm"),
        ("trap in A", "A"), ("trap in A minor", "Am"), ("trap in a minor", "Am"), ("trap Am", "Am"),
        ("trap key of g", "G"), ("trap key: D", "D"), ("trap key=C#m", "C#m"),
        ("trap in the key of E", "E"), ("trap G#m", "G#m"), ("trap A# minor", "A#m"),
        ("trap Db major", "Db"), ("trap Gb", "Gb"), ("trap in E moll", "Em"),
        ("trap in D dur", "D"),
    ],
)  # fmt: skip
def test_key_spellings(text: str, key: str) -> None:
    assert params(text) == {"genre": "trap", "key": key}


@pytest.mark.parametrize(
    "text",
    [
        "make a minor change to the trap", "trap, am i right", "trap in a minute",
        "dm me the trap", "trap, a flat mix", "trap in a minor key", "trap FM radio",
        "trap at 9 AM", "plan b trap", "trap in e", "trap eb", "trap, give me a b",
    ],
)  # fmt: skip
def test_words_that_only_look_like_keys(text: str) -> None:
    assert "key" not in params(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [("c minor", "Cm"), ("F sharp m", "F#m"), ("Bb", "Bb"), ("a#m", "A#m"), ("key of e flat", "Eb"),
     ("  Gb major ", "Gb"), ("CM", "C"), ("d♭", "Db"), ("in A", "A")],
)  # fmt: skip
def test_normalize_key(text: str, key: str) -> None:
    assert vocab.normalize_key(text) == key


@pytest.mark.parametrize("text", ["H", "C minorish", "", "Cmm", "X#", "trap", "12"])
def test_normalize_key_rejects(text: str) -> None:
    assert vocab.normalize_key(text) is None


# --- fuzzy, and its false friends ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "genre"),
    [("trapp", "trap"), ("hiphopp", "hip hop"), ("hip hopp", "hip hop"), ("tecno", "techno"),
     ("tehcno", "techno"), ("drll", "drill"), ("dubstp", "dubstep"), ("hous", "house"),
     ("jaz", "jazz"), ("boombapp", "boom bap"), ("lo fii", "lo-fi"), ("rnbb", "r&b")],
)  # fmt: skip
def test_genre_typos(typo: str, genre: str) -> None:
    assert params(f"{typo} beat") == {"genre": genre}


@pytest.mark.parametrize(
    ("typo", "mood"),
    [("agressive", "aggressive"), ("melancolic", "melancholic"), ("energitic", "energetic"),
     ("nostalgik", "nostalgic"), ("hypnotc", "hypnotic"), ("romantik", "romantic"),
     ("upliftin", "uplifting"), ("menacin", "menacing")],
)  # fmt: skip
def test_mood_typos(typo: str, mood: str) -> None:
    assert params(f"{typo} trap") == {"genre": "trap", "mood": mood}


@pytest.mark.parametrize(
    "text",
    ["strap", "hill", "turn", "mood", "lifting", "progressive", "passive", "houses", "dill",
     "hose", "chilly", "tramp", "rocks", "rocky", "lofty", "electron", "teach", "happen",
     "hopping", "poppy", "rapper", "wrap", "trip", "tap", "tape measure", "my house",
     "the house is on fire", "in my house", "my mom's house", "I went to the club yesterday",
     "its a trap", "you rock", "pop off", "draw me a picture", "what time is it",
     # one edit from a slang or describing word, which is why those are matched exactly
     "range", "mental", "tech", "echo", "sing", "wing", "meal", "seoul", "rand", "dems",
     "elector", "dumbass", "trace", "sewing", "meta",
     # a swap away from a genre, and an everyday word all the same
     "a tarp", "buy a tarp", "need a tarp", "the tarp is wet", "I'm tarp-ing the car",
     "part", "prat", "no problem", "yes", "sure"],
)  # fmt: skip
def test_ordinary_words_are_not_beats(text: str) -> None:
    assert parse(text).kind == "unknown", parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("tarp", {"genre": "trap"}), ("make a tarp beat", {"genre": "trap"}),
     ("dark tarp at 140", {"genre": "trap", "mood": "dark", "bpm": 140}),
     ("tarp type beat", {"genre": "trap"}), ("put a tarp on the drill beat", {"genre": "drill"}),
     ("a tarp over the lofi beat, 80 bpm", {"genre": "lo-fi", "bpm": 80})],
)  # fmt: skip
def test_a_lookalike_is_the_genre_only_in_a_beat_request(text: str, expected: dict) -> None:
    assert params(text) == expected


def test_transposed_letters_are_one_edit_and_changed_letters_only_count_in_long_words() -> None:
    assert vocab.fuzzy_lookup("trpa") == ("genre", "trap")  # a swap
    assert vocab.fuzzy_lookup("tarp") == ("genre_lookalike", "trap")  # a swap, and a word
    assert vocab.fuzzy_lookup("hosue") == ("genre", "house")
    assert vocab.fuzzy_lookup("horse") is None  # a changed letter in a short word
    assert vocab.fuzzy_lookup("grill") is None
    assert vocab.fuzzy_lookup("creamy") is None
    assert vocab.fuzzy_lookup("energitic") == ("mood", "energetic")  # long: one change is ok
    assert vocab.fuzzy_lookup("agressvie") == ("mood", "aggressive")  # very long: two edits
    assert vocab.fuzzy_lookup("xyzzy") is None


def test_every_alias_in_the_genre_table_is_understood() -> None:
    for genre in GENRES:
        for name in (genre.name, *genre.aliases):
            assert params(f"{name} beat").get("genre") == genre.name, name


def test_every_mood_and_synonym_is_understood() -> None:
    for mood in MOODS:
        assert params(f"a {mood} trap beat") == {"genre": "trap", "mood": mood}
    for mood, words in vocab.MOOD_SYNONYMS.items():
        for word in words:
            assert vocab.mood_from_text(word) == mood, word


def test_unsupported_style_is_named_with_the_genre_to_offer() -> None:
    intent = parse("make me a reggae beat")
    assert intent.to_json() == {
        "intent": "generate",
        "params": {},
        "adjust": {},
        "suggestion": {"genre": "hip hop", "asked": "reggae", "exact": False},
    }
    assert intent.unsupported_genre == "reggae"
    assert parse("reggae trap").suggestion is None  # a genre we do wins


def test_every_style_we_cant_make_offers_its_nearest_genre() -> None:
    for hint in vocab.STYLE_HINTS:
        assert hint.nearest in GENRE_NAMES, hint
        offered = {"genre": hint.nearest, "asked": hint.name, "exact": False}
        for spelling in hint.spellings:
            assert tuple(vocab.tokenize(spelling)) not in vocab.GENRE_PHRASES, spelling
            for text in (spelling, f"make something like {spelling}", f"{spelling} beat at 120"):
                intent = parse(text)
                assert intent.to_json().get("suggestion") == offered, text
                assert "genre" not in intent.params, text


def test_negation() -> None:
    assert params("not too dark, chill lofi") == {"genre": "lo-fi", "mood": "chill"}
    assert params("lofi, nothing sad") == {"genre": "lo-fi"}
    assert parse("no, make it darker").to_json()["params"] == {"mood": "dark"}
    assert parse("stems but no vocals").params == {"stems": ["drums", "bass", "melody"]}


# --- the contract --------------------------------------------------------------------------------


def test_results_are_fresh_objects() -> None:
    first = parse("stems: drums and bass")
    first.params["stems"].append("vocals")
    first.params["x"] = 1
    again = parse("stems: drums and bass")
    assert again.params == {"stems": ["drums", "bass"]}


def test_parse_json_is_one_line_of_the_contract() -> None:
    line = parse_json("dark trap at 140\nplease")
    assert "\n" not in line
    assert json.loads(line) == {
        "intent": "generate",
        "params": {"genre": "trap", "bpm": 140, "mood": "dark"},
        "adjust": {},
    }


def test_non_string_input_does_not_raise() -> None:
    assert parse(None).kind == "unknown"  # type: ignore[arg-type]
    assert parse(140).kind == "unknown"  # type: ignore[arg-type]
    assert isinstance(parse(b"trap"), Intent)  # type: ignore[arg-type]


def test_kinds_match_the_contract() -> None:
    assert set(KINDS) == {"generate", "variation", "refine", "stems", "mix", "master", "help",
                          "genres", "status", "cancel", "unknown"}  # fmt: skip


# --- replies -------------------------------------------------------------------------------------


def test_every_example_prompt_parses_into_a_beat() -> None:
    for prompt in replies.EXAMPLE_PROMPTS:
        intent = parse(prompt)
        assert intent.kind == "generate" and intent.params.get("genre") in GENRE_NAMES, prompt


def test_help_shows_what_to_type() -> None:
    text = replies.help_text().plain()
    for phrase in ("dark trap beat at 140", "make it faster", "stems", "master it for club",
                   "mix these", "genres", "status", "cancel"):  # fmt: skip
        assert phrase in text
    quoted = [part.split("”")[0] for part in text.split("“")[1:]]
    assert parse(quoted[0]).kind == "generate"


def test_genres_text_is_the_table() -> None:
    text = replies.genres_text().plain()
    for genre in GENRES:
        low, high = genre.bpm_range
        assert f"• {genre.name} {low}-{high} BPM (default {genre.default_bpm})" in text
        assert ", ".join(genre.mood_options) in text


def test_unknown_text_nudges_with_two_prompts() -> None:
    seen = set()
    for message in ("hi", "lol", "what's up", "asdf", "🔥", ""):
        text = replies.unknown_text(message)
        quoted = [part.split("”")[0] for part in text.split("“")[1:]]
        assert quoted[2:] == ["help"]
        prompts = quoted[:2]
        assert prompts[0] != prompts[1]
        assert all(parse(p).kind == "generate" for p in prompts)
        seen.update(prompts)
    assert len(seen) > 2  # different messages get different ideas
