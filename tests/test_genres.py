"""engine/genres.py: the single source of genre truth, checked against the seed."""

from __future__ import annotations

import pytest

from engine.genres import GENRE_NAMES, GENRES, MOODS, get_genre

# The seed's table (shared/seed/generation-engine.md, "Supported Genres").
SEED_RANGES = {
    "trap": (140, 160),
    "lo-fi": (70, 90),
    "boom bap": (80, 100),
    "house": (120, 130),
    "drill": (135, 145),
    "drum and bass": (160, 180),
    "techno": (125, 135),
    "hip hop": (85, 95),
    "r&b": (75, 95),
    "pop": (100, 130),
    "edm": (125, 130),
    "dubstep": (135, 145),
    "jazz": (100, 140),
    "rock": (110, 140),
}


def test_fourteen_genres_in_the_seed_order() -> None:
    assert tuple(SEED_RANGES) == GENRE_NAMES
    assert len(GENRES) == 14


@pytest.mark.parametrize("name", list(SEED_RANGES))
def test_ranges_match_the_seed_and_defaults_sit_inside(name: str) -> None:
    genre = get_genre(name)
    assert genre.bpm_range == SEED_RANGES[name]
    assert genre.allows_bpm(genre.default_bpm)
    assert genre.mood_options and set(genre.mood_options) <= set(MOODS)
    assert 0.0 <= genre.swing <= 1.0


def test_trap_matches_the_seed_example() -> None:
    data = get_genre("trap").to_json()
    assert data["bpmRange"] == [140, 160]
    assert data["defaultBpm"] == 150
    assert data["moodOptions"] == ["dark", "hype", "aggressive", "menacing"]
    assert "808" in data["characteristics"]
    assert set(data) == {
        "name",
        "aliases",
        "bpmRange",
        "defaultBpm",
        "characteristics",
        "moodOptions",
    }


def test_aliases_are_unique_across_genres() -> None:
    seen: dict[str, str] = {}
    for genre in GENRES:
        for alias in (genre.name, *genre.aliases):
            assert alias not in seen, f"{alias!r} names both {seen[alias]} and {genre.name}"
            seen[alias] = genre.name


def test_unknown_genre_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        get_genre("polka")
