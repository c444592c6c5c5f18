"""Open requests ("surprise me", "anything", "dealer's choice"): BeatBot picks the beat.

The pick is a function of the seed, so a surprise is as reproducible as any other beat: the
same seed picks the same genre, mood, tempo and key (and renders the same audio). What the
message did say ("surprise me with something dark", "random trap beat") is kept.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from engine.genres import GENRES, get_genre

# Roots people play in, as the engine spells them.
ROOTS: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def surprise(seed: int, stated: Mapping[str, Any]) -> dict[str, Any]:
    """The genre, mood, tempo and key for a surprise with this seed; `stated` wins."""
    from engine.theory import MOOD_COLOUR  # numpy: only when a surprise is asked for

    rng = random.Random(f"surprise:{seed}")  # its own stream: the render's seed stays free
    genre = get_genre(stated["genre"]) if stated.get("genre") else rng.choice(GENRES)
    mood = stated.get("mood") or rng.choice(genre.mood_options)
    low, high = genre.bpm_range
    bpm = stated.get("bpm") or rng.randint(low, high)
    # Dark and sad moods want a minor key; otherwise the genre's usual mode.
    minor = MOOD_COLOUR.get(mood) in ("dark", "sad") or genre.default_key.endswith("m")
    key = stated.get("key") or rng.choice(ROOTS) + ("m" if minor else "")
    return {**stated, "genre": genre.name, "mood": mood, "bpm": bpm, "key": key}
