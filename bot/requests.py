"""Validated job requests: what a beat, stems, mix or master job needs, checked once.

Chat requests come from the parser (`bot.intents`), REST requests from the seed's JSON bodies
(camelCase: audioFileId, stemTypes, trackIds, mixProfile, trackId, targetLoudness, projectId);
both end up here. Every failure is ONE friendly sentence that says what to change:
`beat_request` raises `InvalidRequest`, and `friendly_validation_error` turns a pydantic
`ValidationError` from a direct `model_validate` (the REST API's 400s) into that sentence.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot import vocab
from bot.config import AudioFormat, EngineSettings, Profile, Quality, Settings, load_settings
from bot.errors import InvalidRequest
from engine.genres import GENRE_NAMES, GENRES, MOODS, get_genre

if TYPE_CHECKING:
    from engine.compose import BeatSpec

MAX_SEED = 2**32 - 1  # numpy's seed range; bigger seeds would not be reproducible
# Loudness targets a master can sensibly reach: quieter than -30 is a whisper, louder than -5
# is only distortion.
LUFS_RANGE = (-30.0, -5.0)
FALLBACK_GENRE = "hip hop"
MAX_TRACKS = 16
MIN_DURATION = 1.0  # seconds; shorter than a bar at any tempo we play
# The most an extend may ask for at once (the beat's total length is checked too).
MAX_EXTEND_BARS = 512
MAX_EXTEND_SECONDS = 3600.0
FORMATS: tuple[str, ...] = get_args(AudioFormat)
QUALITIES: tuple[str, ...] = get_args(Quality)
PROFILES: tuple[str, ...] = get_args(Profile)
# Every key spelling the key validator hands back (vocab.key_name), major then minor.
KEY_NAMES: tuple[str, ...] = tuple(
    vocab.key_name(letter, accidental, minor)
    for minor in (False, True)
    for letter in "CDEFGAB"
    for accidental in ("", "#", "b")
)


def _quality_lufs(quality: str) -> float:
    from engine.master import PRESETS  # numpy/scipy: imported only when a request needs it

    return PRESETS[quality]


@lru_cache(maxsize=1)
def _packaged_engine() -> EngineSettings:
    return load_settings().engine


def _engine(info: ValidationInfo) -> EngineSettings:
    """Limits from the settings passed as validation context, else this process's config."""
    context = info.context if isinstance(info.context, Mapping) else {}
    settings = context.get("settings")
    return settings.engine if isinstance(settings, Settings) else _packaged_engine()


def _genre_list() -> str:
    return ", ".join(GENRE_NAMES)


def unknown_genre_sentence(name: str) -> str:
    """ "I don't know 'polka' yet — did you mean pop? I can do: trap, lo-fi, ..." """
    shown = str(name).strip()[:40]
    nearest = vocab.nearest_genre(shown)
    hint = f" — did you mean {nearest}?" if nearest else "."
    return f"I don't know '{shown}' yet{hint} I can do: {_genre_list()}."


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value}.")
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("bpm").removesuffix("s").strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what} must be a number, not '{value[:40]}'.") from None
    if not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a real number, not {value}.")
    return number


def _choice(value: Any, table: Mapping[str, tuple[str, ...]], what: str) -> str:
    text = str(value).strip().lower()
    if text in table:
        return text
    phrase = tuple(vocab.tokenize(text))
    for name, words in table.items():
        if phrase == tuple(vocab.tokenize(name)) or any(
            phrase == tuple(vocab.tokenize(w)) for w in words
        ):
            return name
    raise ValueError(f"{what} must be one of {', '.join(table)}, not '{str(value)[:40]}'.")


class _Request(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    project_id: str | None = Field(
        default=None, validation_alias=AliasChoices("project_id", "projectId")
    )


class BeatRequest(_Request):
    """One beat to render; also the seed's POST /api/generate/beat body."""

    genre: str
    bpm: float
    key: str
    mood: str
    duration: float
    seed: int | None = None
    quality: Quality = "streaming"
    target_lufs: float | None = Field(
        default=None,
        validation_alias=AliasChoices("target_lufs", "targetLoudness", "targetLufs"),
    )
    mix_profile: Profile = Field(
        default="balanced", validation_alias=AliasChoices("mix_profile", "mixProfile", "profile")
    )
    format: AudioFormat = "mp3"
    # The DAW starts playback when the clip lands (daw:transport:play).
    auto_play: bool = Field(default=False, validation_alias=AliasChoices("auto_play", "autoPlay"))
    notes: list[str] = Field(default_factory=list)
    # Producer controls (issue 22): parts left out, instruments asked for, and edits in the
    # engine's JSON form ([{"extend": 8}, {"redo": "hook", "part": "drums", "take": 2}]).
    exclude: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    edits: list[dict[str, Any]] = Field(default_factory=list)
    # This request appended the last edit (the card says what it did); never carried over.
    new_edit: bool = Field(default=False, validation_alias=AliasChoices("new_edit", "newEdit"))

    @field_validator("genre", mode="before")
    @classmethod
    def _genre(cls, value: Any) -> str:
        genre = vocab.genre_from_text(str(value)) if value is not None else None
        if genre is None:
            raise ValueError(unknown_genre_sentence(str(value)))
        return genre

    @field_validator("bpm", mode="before")
    @classmethod
    def _bpm(cls, value: Any, info: ValidationInfo) -> float:
        bpm = _number(value, "BPM")
        engine = _engine(info)
        if not engine.min_bpm <= bpm <= engine.max_bpm:
            raise ValueError(
                f"I can do {engine.min_bpm:g}-{engine.max_bpm:g} BPM; {bpm:g} is out of range."
            )
        return bpm

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, value: Any) -> str:
        key = vocab.normalize_key(str(value)) if value is not None else None
        if key is None or not _engine_knows_key(key):
            raise ValueError(
                f"I don't know the key '{str(value)[:20]}'; use a note A-G with # or b, "
                "and m for minor, like C, F#, Bb, Am or F#m."
            )
        return key

    @field_validator("mood", mode="before")
    @classmethod
    def _mood(cls, value: Any) -> str:
        mood = vocab.mood_from_text(str(value)) if value is not None else None
        if mood is None:
            raise ValueError(
                f"I don't know the mood '{str(value)[:30]}'; try one of: {', '.join(MOODS)}."
            )
        return mood

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any, info: ValidationInfo) -> float:
        seconds = _number(value, "The duration")
        longest = _engine(info).max_duration
        if seconds < MIN_DURATION:
            raise ValueError(
                f"A beat must be 1-{longest:g} seconds long; {seconds:g} s is too short."
            )
        if seconds > longest:
            raise ValueError(
                f"I can make beats up to {longest:g} seconds; {seconds:g} s is too long."
            )
        return seconds

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> int | None:
        if value is None:
            return None
        number = _number(value, "The seed")
        if not number.is_integer() or not 0 <= number <= MAX_SEED:
            raise ValueError(f"The seed must be a whole number from 0 to {MAX_SEED}.")
        return int(number)

    @field_validator("quality", mode="before")
    @classmethod
    def _quality(cls, value: Any) -> str:
        return _choice(value, vocab.QUALITY_WORDS, "Quality")

    @field_validator("mix_profile", mode="before")
    @classmethod
    def _profile(cls, value: Any) -> str:
        return _choice(value, vocab.PROFILE_WORDS, "The mix profile")

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> str:
        text = str(value).strip().lower().lstrip(".")
        if text not in FORMATS:
            choices = f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}"
            raise ValueError(f"The format must be {choices}, not '{str(value)[:20]}'.")
        return text

    @field_validator("target_lufs", mode="before")
    @classmethod
    def _lufs(cls, value: Any) -> float | None:
        return None if value is None else _target_lufs(value)

    @field_validator("exclude", mode="before")
    @classmethod
    def _exclude(cls, value: Any) -> list[str]:
        return _part_names(value)

    @field_validator("include", mode="before")
    @classmethod
    def _include(cls, value: Any, info: ValidationInfo) -> list[str]:
        return _instrument_names(value, info.data.get("genre"))

    @field_validator("edits", mode="before")
    @classmethod
    def _edits(cls, value: Any, info: ValidationInfo) -> list[dict[str, Any]]:
        from engine.compose.model import edits_from_json, edits_to_json
        from engine.errors import EngineInputError

        try:
            edits = edits_from_json([] if value is None else value)
        except EngineInputError as exc:
            raise ValueError(str(exc)) from None
        data = edits_to_json(edits)
        _check_length(info.data.get("bpm"), info.data.get("duration"), data, _engine(info))
        return data

    @model_validator(mode="after")
    def _fill(self) -> BeatRequest:
        from engine.errors import EngineInputError

        try:
            spec_of(self.model_dump()).validated()  # parts, voices and edits together
        except EngineInputError as exc:
            raise ValueError(str(exc)) from None
        if self.target_lufs is None:
            self.target_lufs = _quality_lufs(self.quality)
        genre = get_genre(self.genre)
        if not genre.allows_bpm(self.bpm):
            low, high = genre.bpm_range
            note = (
                f"{self.bpm:g} BPM is outside {genre.name}'s usual {low}-{high}, "
                "so it will feel different; making it anyway."
            )
            if note not in self.notes:
                self.notes.append(note)
        return self

    def to_spec(self) -> BeatSpec:
        """The engine's view of this request."""
        return spec_of(self.model_dump())

    @property
    def charged_seconds(self) -> float:
        return charged_seconds(self.model_dump())

    @property
    def total_seconds(self) -> float:
        """How long the beat will be: its length in whole bars plus the bars extends add."""
        return total_seconds(self.bpm, self.duration, self.edits)


def spec_of(data: Mapping[str, Any]) -> BeatSpec:
    """The engine's BeatSpec of a beat request or a beat job's data (the one place that
    builds it, so stems and MIDI on demand reproduce the clip, edits and all)."""
    from engine.compose import BeatSpec
    from engine.compose.model import edits_from_json

    return BeatSpec(
        genre=str(data["genre"]),
        bpm=float(data["bpm"]),
        key=str(data["key"]),
        mood=str(data["mood"]),
        duration=float(data["duration"]),
        exclude=tuple(data.get("exclude") or ()),
        include=tuple(data.get("include") or ()),
        edits=edits_from_json(list(data.get("edits") or [])),
    )


def charged_seconds(data: Mapping[str, Any]) -> float:
    """What a beat request or beat job counts against the daily quota: the length asked for
    plus the bars its extends add (an extended beat is rendered and delivered whole)."""
    from engine.compose.model import BEATS_PER_BAR

    extra = extended_bars(data.get("edits") or ())
    seconds = float(data.get("duration") or 0)
    return seconds + extra * BEATS_PER_BAR * 60.0 / float(data["bpm"]) if extra else seconds


def total_seconds(bpm: float, duration: float, edits: list[dict[str, Any]]) -> float:
    """A beat's length after its extends (edits in JSON form): whole bars at its tempo."""
    from engine.compose.model import BEATS_PER_BAR, bars_for

    return (bars_for(duration, bpm) + extended_bars(edits)) * BEATS_PER_BAR * 60.0 / bpm


def extended_bars(edits: Iterable[Mapping[str, Any]]) -> int:
    """The bars a beat's extends add (edits in JSON form)."""
    return sum(int(edit["extend"]) for edit in edits if "extend" in edit)


def _check_length(
    bpm: Any, duration: Any, edits: list[dict[str, Any]], engine: EngineSettings
) -> None:
    """An extend may not take the beat past the longest one we render."""
    if not isinstance(bpm, float) or not isinstance(duration, float) or not edits:
        return
    seconds = total_seconds(bpm, duration, edits)
    if seconds > engine.max_duration + 1e-6:
        raise ValueError(
            f"That makes the beat {seconds:.0f} s long; I make beats up to "
            f"{engine.max_duration:g} seconds, so extend it by less."
        )


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{what} must be a list of names, like ["hats", "melody"].')
    return [" ".join(v.strip().lower().split()) for v in value]


def _part_names(value: Any) -> list[str]:
    """ "hi-hats", "808" -> "hats", "bass": the engine's part names, each once."""
    from engine.compose.model import PARTS

    parts: list[str] = []
    for name in _names(value, "exclude"):
        part = _part_name(name)
        if part is None:
            raise ValueError(f"I can't leave out '{name[:30]}'; the parts are {', '.join(PARTS)}.")
        if part not in parts:
            parts.append(part)
    return parts


def _part_name(name: str) -> str | None:
    """ "hi-hats" -> "hats": one of the engine's parts (vocab.PART_WORDS), or None."""
    return vocab.PART_PHRASES.get(tuple(vocab.tokenize(name)))


def _instrument_names(value: Any, genre: str | None) -> list[str]:
    """ "e-piano", "sax" -> "rhodes", "brass"; one the genre can't take gets a sentence that
    names the ones it can."""
    from engine.palettes import INSTRUMENT_LABELS, includable

    names: list[str] = []
    for name in _names(value, "include"):
        voice = name if name in INSTRUMENT_LABELS else None
        voice = voice or vocab.INCLUDE_PHRASES.get(tuple(vocab.tokenize(name)), name)
        if genre is not None and voice not in includable(genre):
            have = [INSTRUMENT_LABELS.get(v, v) for v in includable(genre)]
            shown = INSTRUMENT_LABELS.get(voice, voice)
            raise ValueError(
                f"I don't have {shown[:30]} for {genre}; I can add "
                f"{', '.join(have[:-1])} or {have[-1]}."
            )
        if voice not in names:
            names.append(voice)
    return names


def _target_lufs(value: Any) -> float:
    lufs = _number(value, "The loudness target")
    low, high = LUFS_RANGE
    if not low <= lufs <= high:
        raise ValueError(
            f"I can master to {low:g} to {high:g} LUFS; {lufs:g} LUFS is out of range."
        )
    return lufs


@lru_cache(maxsize=256)
def _engine_knows_key(key: str) -> bool:
    from engine.errors import EngineInputError
    from engine.theory import parse_key

    try:
        parse_key(key)
    except EngineInputError:
        return False
    return True


class _BeatEdit(_Request):
    """An edit of a beat made before, named by its generationId."""

    generation_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[\w-]+$",
        validation_alias=AliasChoices("generation_id", "generationId"),
    )


class ExtendRequest(_BeatEdit):
    """Extend a beat made before; the DAW API's POST /api/generate/extend body:
    {"generationId": "...", "bars": 8} or {"generationId": "...", "seconds": 30}."""

    bars: int | None = Field(default=None, ge=1, le=MAX_EXTEND_BARS)
    seconds: float | None = Field(default=None, gt=0, le=MAX_EXTEND_SECONDS)

    @field_validator("bars", mode="before")
    @classmethod
    def _bars(cls, value: Any) -> int | None:
        if value is None:
            return None
        number = _number(value, "bars")
        if not number.is_integer() or number < 1:
            raise ValueError(f"bars must be a whole number of bars, 1 or more, not {value}.")
        return int(number)

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float | None:
        if value is None:
            return None
        number = _number(value, "seconds")
        if number <= 0:
            raise ValueError(f"seconds must be more than 0, not {value}.")
        return number

    @model_validator(mode="after")
    def _one_amount(self) -> ExtendRequest:
        if (self.bars is None) == (self.seconds is None):
            raise ValueError('Say how much to add with "bars" or "seconds" (one of them).')
        return self


class RedoRequest(_BeatEdit):
    """Draw one section of a beat made before again; the DAW API's POST /api/generate/redo
    body: {"generationId": "...", "section": "hook"}, with "part": "drums" for that part only."""

    section: str = Field(
        description='One of the beat\'s sections ("chorus" is read as hook).',
        json_schema_extra={"enum": list(vocab.REDO_SECTIONS)},
    )
    part: str = Field(
        default="all",
        description='The whole section, or one part of it ("hi-hats" is read as hats).',
        json_schema_extra={"enum": ["all", *vocab.PART_WORDS]},
    )

    @field_validator("section", mode="before")
    @classmethod
    def _section(cls, value: Any) -> str:
        name = vocab.SECTION_PHRASES.get(tuple(vocab.tokenize(value))) if _word(value) else None
        if name not in vocab.REDO_SECTIONS:
            sections = ", ".join(vocab.REDO_SECTIONS)
            raise ValueError(f"name one of {sections}, not {str(value)[:30]!r}.")
        return str(name)

    @field_validator("part", mode="before")
    @classmethod
    def _part(cls, value: Any) -> str:
        if value is None or value == "all":
            return "all"
        name = _part_name(value) if _word(value) else None
        if name is None:
            raise ValueError(
                f"say all or one of {', '.join(vocab.PART_WORDS)}, not {str(value)[:30]!r}."
            )
        return name


def _word(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 40


class StemsRequest(_Request):
    """Separate an uploaded track; the seed's POST /api/generate/stems body."""

    audio_file_id: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("audio_file_id", "audioFileId")
    )
    stem_types: list[str] = Field(
        default_factory=lambda: list(vocab.STEM_TYPES),
        validation_alias=AliasChoices("stem_types", "stemTypes"),
    )

    @field_validator("stem_types", mode="before")
    @classmethod
    def _stems(cls, value: Any) -> list[str]:
        if value is None:
            return list(vocab.STEM_TYPES)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"Pick at least one stem: {', '.join(vocab.STEM_TYPES)}.")
        chosen: list[str] = []
        for item in value:
            stem = _choice(item, vocab.STEM_WORDS, "Each stem")
            if stem not in chosen:
                chosen.append(stem)
        return chosen


class MixRequest(_Request):
    """Auto-mix uploaded tracks; the seed's POST /api/generate/mix body."""

    track_ids: list[str] = Field(validation_alias=AliasChoices("track_ids", "trackIds"))
    mix_profile: Profile = Field(
        default="balanced", validation_alias=AliasChoices("mix_profile", "mixProfile", "profile")
    )

    @field_validator("track_ids", mode="before")
    @classmethod
    def _tracks(cls, value: Any) -> list[str]:
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise ValueError("trackIds must be a list of uploaded file ids.")
        if not 2 <= len(value) <= MAX_TRACKS:
            raise ValueError(f"A mix needs 2 to {MAX_TRACKS} tracks; you sent {len(value)}.")
        return [v.strip() for v in value]

    @field_validator("mix_profile", mode="before")
    @classmethod
    def _profile(cls, value: Any) -> str:
        return _choice(value, vocab.PROFILE_WORDS, "The mix profile")


class MasterRequest(_Request):
    """Master an uploaded track; the seed's POST /api/generate/master body.

    An explicit loudness target wins over the quality preset's.
    """

    track_id: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("track_id", "trackId")
    )
    target_lufs: float | None = Field(
        default=None,
        validation_alias=AliasChoices("target_lufs", "targetLoudness", "targetLufs"),
    )
    quality: Quality = "streaming"

    @field_validator("quality", mode="before")
    @classmethod
    def _quality(cls, value: Any) -> str:
        return _choice(value, vocab.QUALITY_WORDS, "Quality")

    @field_validator("target_lufs", mode="before")
    @classmethod
    def _lufs(cls, value: Any) -> float | None:
        return None if value is None else _target_lufs(value)

    @model_validator(mode="after")
    def _fill(self) -> MasterRequest:
        if self.target_lufs is None:
            self.target_lufs = _quality_lufs(self.quality)
        return self


def _voices_every_genre_has() -> tuple[str, ...]:
    from engine.palettes import includable

    first = includable(GENRE_NAMES[0])
    return tuple(v for v in first if all(v in includable(g) for g in GENRE_NAMES))


def field_constraints(engine: EngineSettings) -> dict[str, dict[str, Any]]:
    """JSON-Schema limits and choices of each request field, by field name, taken from what
    the validators above check (the engine settings, the genre table, the key speller), so
    the API's documentation can't drift from the server. The validators also accept
    spellings a person would type ("lofi", "c minor", "140bpm"); these are the canonical
    values."""
    low, high = LUFS_RANGE
    return {
        "genre": {"enum": list(GENRE_NAMES)},
        "bpm": {"minimum": engine.min_bpm, "maximum": engine.max_bpm},
        "key": {"enum": list(KEY_NAMES)},
        "mood": {"enum": list(MOODS)},
        "duration": {"minimum": MIN_DURATION, "maximum": engine.max_duration},
        "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
        "quality": {"enum": list(QUALITIES)},
        "target_lufs": {"minimum": low, "maximum": high},
        "mix_profile": {"enum": list(PROFILES)},
        "format": {"enum": list(FORMATS)},
        "stem_types": {"minItems": 1, "items": {"enum": list(vocab.STEM_TYPES)}},
        # Up to 4 parts always leave one to play; one instrument of those every genre has
        # always finds its place (more may, and the error says when they don't).
        "exclude": {"maxItems": 4, "items": {"enum": list(vocab.PART_WORDS)}},
        "include": {"maxItems": 1, "items": {"enum": list(_voices_every_genre_has())}},
        "bars": {"minimum": 1, "maximum": MAX_EXTEND_BARS},
        "seconds": {"exclusiveMinimum": 0, "maximum": MAX_EXTEND_SECONDS},
        "track_ids": {
            "minItems": 2,
            "maxItems": MAX_TRACKS,
            "items": {"type": "string", "pattern": r"\S"},
        },
    }


# --- building requests from chat ---------------------------------------------------------------

_CAMEL = {
    "mixProfile": "mix_profile",
    "targetLufs": "target_lufs",
    "targetLoudness": "target_lufs",
    "projectId": "project_id",
    "autoPlay": "auto_play",
}
BEAT_INPUTS = (
    "genre",
    "bpm",
    "key",
    "mood",
    "duration",
    "seed",
    "quality",
    "target_lufs",
    "mix_profile",
    "format",
    "project_id",
    "auto_play",
    "exclude",
    "include",
    "edits",
    "new_edit",
)


def choose_genre(mood: str | None) -> tuple[str, str]:
    """A genre for a request that names none, and the note that says so."""
    canonical = vocab.mood_from_text(mood) if mood else None
    if canonical:
        for genre in GENRES:
            if genre.mood_options and genre.mood_options[0] == canonical:
                return (
                    genre.name,
                    f"You didn't name a genre, so I went with {genre.name} for {canonical}.",
                )
        for genre in GENRES:
            if canonical in genre.mood_options:
                return (
                    genre.name,
                    f"You didn't name a genre, so I went with {genre.name} for {canonical}.",
                )
    return FALLBACK_GENRE, f"You didn't name a genre, so I went with {FALLBACK_GENRE}."


def beat_request(
    params: Mapping[str, Any],
    settings: Settings,
    defaults: Mapping[str, Any] | None = None,
    *,
    name_field: bool = False,
) -> BeatRequest:
    """Chat params (only what was said) -> a complete, validated BeatRequest.

    `defaults` (e.g. the thread's last request) fill what `params` leaves out; the genre's
    tempo, key and mood and the configured length, quality, profile and format fill the rest.
    Raises InvalidRequest with one sentence.
    """
    data: dict[str, Any] = {}
    for source in (defaults or {}, params):
        for name, value in source.items():
            name = _CAMEL.get(name, name)
            if name in BEAT_INPUTS and value is not None:
                data[name] = value
    notes: list[str] = []
    if "genre" not in data:
        data["genre"], note = choose_genre(data.get("mood"))
        notes.append(note)
    genre_name = vocab.genre_from_text(str(data["genre"]))
    if genre_name is None:
        sentence = unknown_genre_sentence(str(data["genre"]))
        raise InvalidRequest(f"genre: {sentence}" if name_field else sentence)
    genre = get_genre(genre_name)
    engine = settings.engine
    data["genre"] = genre.name
    data.setdefault("bpm", genre.default_bpm)
    data.setdefault("key", genre.default_key)
    data.setdefault("mood", genre.default_mood)
    data.setdefault("duration", engine.default_duration)
    data.setdefault("quality", engine.default_quality)
    data.setdefault("mix_profile", engine.default_profile)
    data.setdefault("format", engine.default_format)
    try:
        request = BeatRequest.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        raise InvalidRequest(friendly_validation_error(exc, name_field=name_field)) from None
    request.notes[:0] = notes
    if request.seed is None:  # every render is reproducible: pick its seed now, record it
        request.seed = random.randint(0, MAX_SEED)
    return request


# --- one sentence for a ValidationError --------------------------------------------------------

_FIELD_NAMES = {
    "genre": "genre",
    "bpm": "bpm",
    "key": "key",
    "mood": "mood",
    "duration": "duration",
    "seed": "seed",
    "quality": "quality",
    "target_lufs": "targetLoudness",
    "targetLoudness": "targetLoudness",
    "targetLufs": "targetLoudness",
    "mix_profile": "mixProfile",
    "mixProfile": "mixProfile",
    "format": "format",
    "audio_file_id": "audioFileId",
    "audioFileId": "audioFileId",
    "stem_types": "stemTypes",
    "stemTypes": "stemTypes",
    "track_ids": "trackIds",
    "trackIds": "trackIds",
    "track_id": "trackId",
    "trackId": "trackId",
    "project_id": "projectId",
    "projectId": "projectId",
    "generation_id": "generationId",
    "generationId": "generationId",
    "new_edit": "newEdit",
}


def public_name(field: str) -> str:
    """A request field's name on the wire (the seed's camelCase): target_lufs ->
    targetLoudness, mix_profile -> mixProfile."""
    return _FIELD_NAMES.get(field) or to_camel(field)


def friendly_validation_error(exc: ValidationError, *, name_field: bool = True) -> str:
    """The first problem as one sentence that names the field ("bpm: I can do 40-240 ...").

    `name_field=False` leaves out the "field: " lead where our own sentence already says what
    is wrong (chat replies); generic pydantic problems always name the field.
    """
    errors = exc.errors(include_url=False)
    if not errors:
        return "That request is not valid."
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if not isinstance(part, int)]
    field = _FIELD_NAMES.get(loc[0], loc[0]) if loc else "request"
    ctx = first.get("ctx") or {}
    kind = first.get("type", "")
    if isinstance(ctx.get("error"), Exception):
        message = str(ctx["error"])
        if not name_field:
            return message
    elif kind == "missing":
        message = f"the request needs “{field}”."
    elif kind == "literal_error":
        message = f"must be one of {ctx.get('expected', '')}."
    elif kind in ("string_too_short", "too_short"):
        message = "can't be empty."
    elif kind in ("string_too_long", "too_long"):
        message = "is too long."
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"has the wrong type ({first.get('msg', '').lower()})."
    else:
        message = str(first.get("msg", "is not valid")).rstrip(".") + "."
    if kind == "missing":
        return message[0].upper() + message[1:]
    return f"{field}: {message}"
