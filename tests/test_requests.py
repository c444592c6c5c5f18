"""Validation: complete beat requests from partial chat params, the seed's JSON bodies, and one
friendly sentence for every way a request can be wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings, load_settings
from bot.errors import InvalidRequest
from bot.intents import parse
from bot.requests import (
    MAX_SEED,
    BeatRequest,
    MasterRequest,
    MixRequest,
    StemsRequest,
    beat_request,
    choose_genre,
    friendly_validation_error,
)
from engine.genres import GENRE_NAMES, GENRES, get_genre
from engine.master import PRESETS


def test_genre_defaults_fill_what_was_not_said(settings: Settings) -> None:
    for genre in GENRES:
        request = beat_request({"genre": genre.name}, settings)
        assert (request.genre, request.bpm, request.key, request.mood) == (
            genre.name, genre.default_bpm, genre.default_key, genre.default_mood,
        )  # fmt: skip
        assert request.duration == settings.engine.default_duration
        assert request.quality == settings.engine.default_quality
        assert request.target_lufs == PRESETS[settings.engine.default_quality]
        assert request.mix_profile == settings.engine.default_profile
        assert request.format == settings.engine.default_format
        assert 0 <= request.seed <= MAX_SEED and request.notes == []  # picked, so reproducible


def test_what_was_said_wins(settings: Settings) -> None:
    request = beat_request(parse("sad lofi at 75 in Ebm for 45 seconds, warm, for club").params,
                           settings)  # fmt: skip
    assert request.model_dump(mode="json") == {
        "genre": "lo-fi", "bpm": 75.0, "key": "Ebm", "mood": "sad", "duration": 45.0,
        "seed": request.seed, "quality": "club", "target_lufs": -8.0, "mix_profile": "warm",
        "format": settings.engine.default_format, "notes": [], "project_id": None,
        "auto_play": False, "exclude": [], "include": [], "edits": [], "new_edit": False,
    }  # fmt: skip


def test_defaults_argument_fills_before_the_genre(settings: Settings) -> None:
    last = {"genre": "trap", "bpm": 150, "key": "Gm", "mood": "hype", "seed": 7, "notes": ["x"]}
    request = beat_request({"key": "Dm"}, settings, defaults=last)
    assert (request.genre, request.bpm, request.key, request.mood, request.seed) == (
        "trap", 150, "Dm", "hype", 7,
    )  # fmt: skip
    assert request.notes == []  # notes are recomputed, never carried


def test_no_genre_picks_one_for_the_mood_and_says_so(settings: Settings) -> None:
    request = beat_request({"mood": "chill"}, settings)
    assert request.genre == "lo-fi" and "chill" in get_genre("lo-fi").mood_options
    assert request.notes == ["You didn't name a genre, so I went with lo-fi for chill."]
    request = beat_request({"mood": "hypnotic"}, settings)
    assert request.genre == "techno"
    request = beat_request({}, settings)
    assert (request.genre, request.notes) == ("hip hop", [
        "You didn't name a genre, so I went with hip hop."])  # fmt: skip
    for mood in ("dark", "happy", "romantic", "epic", "melancholic"):
        genre, note = choose_genre(mood)
        assert mood in get_genre(genre).mood_options and genre in note


def test_bpm_outside_the_genre_is_allowed_but_noted(settings: Settings) -> None:
    request = beat_request({"genre": "lo-fi", "bpm": 140}, settings)
    assert request.bpm == 140
    assert request.notes == [
        "140 BPM is outside lo-fi's usual 70-90, so it will feel different; making it anyway."
    ]


def test_aliases_and_spellings_are_accepted(settings: Settings) -> None:
    request = beat_request(
        {"genre": "LoFi", "key": "f sharp minor", "mood": "Gloomy", "quality": "Spotify",
         "mixProfile": "bass heavy", "format": ".WAV", "bpm": "85", "seed": 42.0},
        settings,
    )  # fmt: skip
    assert (request.genre, request.key, request.mood, request.quality, request.mix_profile,
            request.format, request.bpm, request.seed) == (
        "lo-fi", "F#m", "dark", "streaming", "bass-heavy", "wav", 85.0, 42,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"genre": "polka"},
         "I don't know 'polka' yet — did you mean pop? I can do: " + ", ".join(GENRE_NAMES) + "."),
        ({"genre": "trap", "bpm": 9000}, "I can do 40-240 BPM; 9000 is out of range."),
        ({"genre": "trap", "bpm": 12}, "I can do 40-240 BPM; 12 is out of range."),
        ({"genre": "trap", "bpm": "fast"}, "BPM must be a number, not 'fast'."),
        ({"genre": "trap", "bpm": float("nan")}, "BPM must be a real number, not nan."),
        ({"genre": "trap", "duration": 600},
         "I can make beats up to 180 seconds; 600 s is too long."),
        ({"genre": "trap", "duration": 0}, "A beat must be 1-180 seconds long; 0 s is too short."),
        ({"genre": "trap", "key": "H minor"},
         "I don't know the key 'H minor'; use a note A-G with # or b, and m for minor, like C, "
         "F#, Bb, Am or F#m."),
        ({"genre": "trap", "mood": "purple"},
         "I don't know the mood 'purple'; try one of: dark, hype, aggressive, menacing, chill, "
         "sad, happy, uplifting, dreamy, melancholic, energetic, romantic, mellow, epic, groovy, "
         "nostalgic, hypnotic."),
        ({"genre": "trap", "seed": -3}, "The seed must be a whole number from 0 to 4294967295."),
        ({"genre": "trap", "seed": 1.5}, "The seed must be a whole number from 0 to 4294967295."),
        ({"genre": "trap", "target_lufs": -2},
         "I can master to -30 to -5 LUFS; -2 LUFS is out of range."),
        ({"genre": "trap", "quality": "loud"},
         "Quality must be one of streaming, cd, club, not 'loud'."),
        ({"genre": "trap", "mix_profile": "muddy"},
         "The mix profile must be one of balanced, bass-heavy, bright, warm, not 'muddy'."),
        ({"genre": "trap", "format": "ogg"}, "The format must be wav, flac or mp3, not 'ogg'."),
    ],
)  # fmt: skip
def test_each_problem_is_one_friendly_sentence(
    settings: Settings, params: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        beat_request(params, settings)
    assert str(caught.value) == sentence


def test_limits_come_from_the_settings(data_dir: Any) -> None:
    tight = load_settings(
        data_dir=data_dir,
        env={"BEATBOT_ENGINE__MIN_BPM": "60", "BEATBOT_ENGINE__MAX_BPM": "200",
             "BEATBOT_ENGINE__MAX_DURATION": "60", "BEATBOT_ENGINE__DEFAULT_DURATION": "20"},
    )  # fmt: skip
    assert beat_request({"genre": "trap"}, tight).duration == 20
    with pytest.raises(InvalidRequest, match=r"^I can do 60-200 BPM; 210 is out of range\.$"):
        beat_request({"genre": "trap", "bpm": 210}, tight)
    with pytest.raises(InvalidRequest, match=r"up to 60 seconds; 90 s is too long"):
        beat_request({"genre": "trap", "duration": 90}, tight)


def test_to_spec_is_the_engine_beat_spec(settings: Settings) -> None:
    from engine.compose import BeatSpec

    spec = beat_request({"genre": "drill", "bpm": 142, "key": "F#m"}, settings).to_spec()
    assert spec == BeatSpec(genre="drill", bpm=142.0, key="F#m", mood="dark", duration=30.0)


def test_every_key_the_parser_emits_is_one_the_engine_reads(settings: Settings) -> None:
    from engine.theory import parse_key

    for note in ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A",
                 "A#", "Bb", "B"):  # fmt: skip
        for key in (note, note + "m"):
            assert beat_request({"genre": "trap", "key": key}, settings).key == key
            parse_key(key)


# --- the seed's REST bodies ----------------------------------------------------------------------


def test_seed_beat_body() -> None:
    body = {"genre": "trap", "bpm": 140, "key": "Cm", "mood": "dark", "duration": 30,
            "projectId": "p-1", "seed": 9}  # fmt: skip
    request = BeatRequest.model_validate(body)
    assert (request.project_id, request.seed, request.target_lufs) == ("p-1", 9, -14.0)
    assert BeatRequest.model_validate(request.model_dump(mode="json")) == request


def test_seed_stems_mix_master_bodies_camel_and_snake() -> None:
    stems = StemsRequest.model_validate(
        {"audioFileId": "audio-123", "stemTypes": ["drums", "Vocal", "drums"], "projectId": "p"}
    )
    assert (stems.audio_file_id, stems.stem_types, stems.project_id) == (
        "audio-123", ["drums", "vocals"], "p",
    )  # fmt: skip
    assert StemsRequest.model_validate({"audio_file_id": "a"}).stem_types == [
        "drums", "bass", "melody", "vocals",
    ]  # fmt: skip
    mix = MixRequest.model_validate(
        {"trackIds": ["track-1", "track-2"], "mixProfile": "bass-heavy"}
    )
    assert (mix.track_ids, mix.mix_profile) == (["track-1", "track-2"], "bass-heavy")
    assert MixRequest(track_ids=["a", "b"]).mix_profile == "balanced"
    master = MasterRequest.model_validate(
        {"trackId": "t", "targetLoudness": -14, "quality": "streaming"}
    )
    assert (master.track_id, master.target_lufs, master.quality) == ("t", -14.0, "streaming")
    assert MasterRequest.model_validate({"trackId": "t", "quality": "club"}).target_lufs == -8.0
    assert MasterRequest.model_validate({"track_id": "t", "quality": "cd"}).target_lufs == -9.0
    explicit = MasterRequest.model_validate(
        {"trackId": "t", "quality": "club", "targetLoudness": -10}
    )
    assert explicit.target_lufs == -10.0  # a stated target beats the preset


@pytest.mark.parametrize(
    ("model", "body", "sentence"),
    [
        (BeatRequest, {"bpm": 140}, "The request needs “genre”."),
        (BeatRequest, {"genre": "trap", "bpm": 300, "key": "C", "mood": "dark", "duration": 30},
         "bpm: I can do 40-240 BPM; 300 is out of range."),
        (StemsRequest, {"audioFileId": "a", "stemTypes": ["guitar"]},
         "stemTypes: Each stem must be one of drums, bass, melody, vocals, not 'guitar'."),
        (StemsRequest, {"audioFileId": "a", "stemTypes": []},
         "stemTypes: Pick at least one stem: drums, bass, melody, vocals."),
        (StemsRequest, {"audioFileId": ""}, "audioFileId: can't be empty."),
        (StemsRequest, {}, "The request needs “audioFileId”."),
        (MixRequest, {"trackIds": ["only-one"]}, "trackIds: A mix needs 2 to 16 tracks; you sent 1."),  # noqa: E501
        (MixRequest, {"trackIds": "a,b"}, "trackIds: trackIds must be a list of uploaded file ids."),  # noqa: E501
        (MixRequest, {"trackIds": ["a", "b"], "mixProfile": "loud"},
         "mixProfile: The mix profile must be one of balanced, bass-heavy, bright, warm, not 'loud'."),  # noqa: E501
        (MasterRequest, {"trackId": "t", "quality": "vinyl"},
         "quality: Quality must be one of streaming, cd, club, not 'vinyl'."),
        (MasterRequest, {"trackId": "t", "targetLoudness": "loud"},
         "targetLoudness: The loudness target must be a number, not 'loud'."),
        (MasterRequest, {"trackId": 5}, "trackId: has the wrong type (input should be a valid string)."),  # noqa: E501
    ],
)  # fmt: skip
def test_friendly_validation_error_names_the_field(
    model: type[Any], body: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    assert friendly_validation_error(caught.value) == sentence


def test_vocabulary_matches_the_engine() -> None:
    from bot import vocab
    from bot.config import AudioFormat, Profile, Quality
    from engine.mix import PROFILES
    from engine.separate import STEM_TYPES

    assert vocab.STEM_TYPES == STEM_TYPES
    assert vocab.PROFILES == PROFILES == Profile.__args__
    assert vocab.QUALITIES == tuple(PRESETS) == Quality.__args__
    assert AudioFormat.__args__ == ("wav", "flac", "mp3")
