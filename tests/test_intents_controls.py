"""The producer controls of issue 22 against a table of chat messages, in the style of
tests/test_intents_table.py: parts left out ("no hi-hats", "drums only"), parts brought back,
instruments asked for ("with piano"), extends ("extend it by 8 bars", "make it 30 seconds
longer"), sections redone ("redo the hook") and takes ("give me 4 versions"), and everyday
phrases that must not change ("no problem", "not too fast").

Each row is (message, intent, params, adjust), compared with exact dict equality.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.intents import parse

Row = tuple[str, str, dict[str, Any], dict[str, Any]]
EVERYTHING_BUT_DRUMS = ["bass", "chords", "melody", "fx"]

EXCLUDE: list[Row] = [
    ("no hi-hats", "refine", {"exclude": ["hats"]}, {}),
    ("no hihats", "refine", {"exclude": ["hats"]}, {}),
    ("make a trap beat with no hi-hats", "generate", {"genre": "trap", "exclude": ["hats"]}, {}),
    ("without melody", "refine", {"exclude": ["melody"]}, {}),
    ("now without melody", "refine", {"exclude": ["melody"]}, {}),
    ("no 808", "refine", {"exclude": ["bass"]}, {}),
    ("lose the 808s", "refine", {"exclude": ["bass"]}, {}),
    ("drums only", "refine", {"exclude": EVERYTHING_BUT_DRUMS}, {}),
    ("just the drums", "refine", {"exclude": EVERYTHING_BUT_DRUMS}, {}),
    ("just chords and bass", "refine", {"exclude": ["drums", "melody", "fx"]}, {}),
    (
        "kick and bass only",
        "refine",
        {"exclude": ["snare", "hats", "perc", "chords", "melody", "fx"]},
        {},
    ),
    (
        "trap beat, just drums and bass",
        "generate",
        {"genre": "trap", "exclude": ["chords", "melody", "fx"]},
        {},
    ),
    ("drop the hats", "refine", {"exclude": ["hats"]}, {}),
    ("take out the snare", "refine", {"exclude": ["snare"]}, {}),
    ("mute drums", "refine", {"exclude": ["drums"]}, {}),
    ("without drums", "refine", {"exclude": ["drums"]}, {}),
    ("make it without the hats and the melody", "refine", {"exclude": ["hats", "melody"]}, {}),
    ("make it darker and drop the hats", "refine", {"mood": "dark", "exclude": ["hats"]}, {}),
    (
        "lofi at 80 without drums",
        "generate",
        {"genre": "lo-fi", "bpm": 80, "exclude": ["drums"]},
        {},
    ),
    ("a beat with no hats", "generate", {"exclude": ["hats"]}, {}),
    # brought back
    ("with drums back", "refine", {"restore": ["drums"]}, {}),
    ("drums back", "refine", {"restore": ["drums"]}, {}),
    ("bring back the melody", "refine", {"restore": ["melody"]}, {}),
    ("put the hats back", "refine", {"restore": ["hats"]}, {}),
    ("unmute the drums", "refine", {"restore": ["drums"]}, {}),
]

INCLUDE: list[Row] = [
    ("with piano", "refine", {"include": ["piano"]}, {}),
    ("add strings", "refine", {"include": ["strings"]}, {}),
    ("use a rhodes", "refine", {"include": ["rhodes"]}, {}),
    ("ok now add strings and piano", "refine", {"include": ["strings", "piano"]}, {}),
    ("lofi beat with keys", "generate", {"genre": "lo-fi", "include": ["piano"]}, {}),
    (
        "lofi beat with some dusty e-piano and sax",
        "generate",
        {"genre": "lo-fi", "include": ["rhodes", "brass"]},
        {},
    ),
    ("house with an organ", "generate", {"genre": "house", "include": ["organ"]}, {}),
    ("trap with flute", "generate", {"genre": "trap", "include": ["flute"]}, {}),
    ("jazz with bells", "generate", {"genre": "jazz", "include": ["bell"]}, {}),
    ("add a harp", "refine", {"include": ["harp"]}, {}),  # the request says we have none
    (
        "drill with piano, no hi-hats",
        "generate",
        {"genre": "drill", "exclude": ["hats"], "include": ["piano"]},
        {},
    ),
    # "with" that names no instrument
    ("drill with 808s", "generate", {"genre": "drill"}, {}),
    ("with good vibes", "generate", {"mood": "happy"}, {}),
    ("lofi at 80 with seed=123", "generate", {"genre": "lo-fi", "bpm": 80, "seed": 123}, {}),
]

EXTEND: list[Row] = [
    ("extend it by 8 bars", "refine", {"extend_bars": 8}, {}),
    ("extend it by 8 bars please", "refine", {"extend_bars": 8}, {}),
    ("add 4 bars", "refine", {"extend_bars": 4}, {}),
    ("can you add 2 bars", "refine", {"extend_bars": 2}, {}),
    ("add another 8 bars", "refine", {"extend_bars": 8}, {}),
    ("4 more bars", "refine", {"extend_bars": 4}, {}),
    ("make it 16 bars longer", "refine", {"extend_bars": 16}, {}),
    ("longer by 8 bars", "refine", {"extend_bars": 8}, {}),
    ("extend it by eight bars", "refine", {"extend_bars": 8}, {}),
    ("make it 30 seconds longer", "refine", {"extend_seconds": 30}, {}),
    ("extend by half a minute", "refine", {"extend_seconds": 30}, {}),
    ("extend it by 20 seconds", "refine", {"extend_seconds": 20}, {}),
    ("extend the beat by a minute", "refine", {"extend_seconds": 60}, {}),
    ("longer by 20 seconds", "refine", {"extend_seconds": 20}, {}),
    # no amount, a percentage, or with other changes: re-rendered longer, as before
    ("make it longer", "refine", {}, {"duration": 15}),
    ("extend it", "refine", {}, {"duration": 15}),
    ("extend it by 50%", "refine", {}, {"duration_percent": 50}),
    ("now as trap, 10 seconds longer", "refine", {"genre": "trap"}, {"duration": 10}),
    ("make it 15 seconds shorter", "refine", {}, {"duration": -15}),
    ("make it 16 bars", "refine", {}, {}),  # a length, not an extend: "what to change?"
]

REDO: list[Row] = [
    ("redo the hook", "variation", {"section": "hook"}, {}),
    ("new intro", "variation", {"section": "intro"}, {}),
    ("give me a new chorus", "variation", {"section": "hook"}, {}),
    ("regenerate the drop", "variation", {"section": "drop"}, {}),
    ("different drums in the verse", "variation", {"section": "verse", "part": "drums"}, {}),
    ("redo the verse drums", "variation", {"section": "verse", "part": "drums"}, {}),
    ("change the melody in the hook", "variation", {"section": "hook", "part": "melody"}, {}),
    ("the hook again", "variation", {"section": "hook"}, {}),
    ("new bassline for the outro", "variation", {"section": "outro", "part": "bass"}, {}),
    ("redo the bridge", "variation", {"section": "bridge"}, {}),  # the engine names its sections
    # sections named without a redo
    ("I love the hook", "unknown", {}, {}),
    ("drop the tempo", "refine", {}, {"bpm": -8}),
    ("a new trap beat", "generate", {"genre": "trap"}, {}),
]

TAKES: list[Row] = [
    ("give me 4 versions", "variation", {"takes": 4}, {}),
    ("3 takes of a drill beat", "generate", {"genre": "drill", "takes": 3}, {}),
    ("four options", "variation", {"takes": 4}, {}),
]

# Everyday phrases with "no"/"not"/"with" that name no part: not controls ("not too fast" is
# a tempo nudge, slower).
UNCHANGED: list[Row] = [
    ("no problem", "unknown", {}, {}),
    ("no thanks", "unknown", {}, {}),
    ("no worries", "unknown", {}, {}),
    ("not too fast", "refine", {}, {"bpm": -4}),  # a nudge slower, not faster
    ("a trap beat, not too fast", "generate", {"genre": "trap"}, {"bpm": -4}),
    ("less slow", "refine", {}, {"bpm": 4}),
    ("just the vocals", "stems", {"stems": ["vocals"]}, {}),
    ("just the drums stem", "stems", {"stems": ["drums"]}, {}),
    ("stems without vocals", "stems", {"stems": ["drums", "bass", "melody"]}, {}),
    ("break it down", "unknown", {}, {}),
    ("automix with a bright profile", "mix", {"mix_profile": "bright"}, {}),
]

TABLE = EXCLUDE + INCLUDE + EXTEND + REDO + TAKES + UNCHANGED


def test_every_message_is_in_the_table_once() -> None:
    assert len({row[0] for row in TABLE}) == len(TABLE)


@pytest.mark.parametrize("row", TABLE, ids=[r[0][:40] for r in TABLE])
def test_message(row: Row) -> None:
    text, intent, params, adjust = row
    assert parse(text).to_json() == {"intent": intent, "params": params, "adjust": adjust}
