"""The 14 genres: the single source of truth for names, aliases, tempo, moods and feel.

Everything that knows about a genre (the parser's vocabulary, validation, the composer,
`beatbot genres`, the REST API) reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Every mood the engine can express. Moods change harmony, timbre and density.
MOODS: tuple[str, ...] = (
    "dark",
    "hype",
    "aggressive",
    "menacing",
    "chill",
    "sad",
    "happy",
    "uplifting",
    "dreamy",
    "melancholic",
    "energetic",
    "romantic",
    "mellow",
    "epic",
    "groovy",
    "nostalgic",
    "hypnotic",
)


@dataclass(frozen=True)
class Genre:
    name: str
    aliases: tuple[str, ...]
    bpm_range: tuple[int, int]
    default_bpm: int
    characteristics: str
    mood_options: tuple[str, ...]
    default_key: str
    # 0.0 = straight, 1.0 = full triplet swing: the off-beat of the genre's swing unit
    # (grooves.Style.swing_unit: 16ths, or 8ths in the swung hip hop family and jazz) lands on
    # the triplet. The on/off length ratio is (1 + swing/3) / (1 - swing/3).
    swing: float
    # "half-time" genres put the backbeat on beat 3 (dubstep, drill).
    feel: str = "straight"

    @property
    def default_mood(self) -> str:
        return self.mood_options[0]

    def allows_bpm(self, bpm: float) -> bool:
        low, high = self.bpm_range
        return low <= bpm <= high

    def to_json(self) -> dict[str, Any]:
        """The seed's `GET /api/generate/genres` shape, plus aliases."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "bpmRange": list(self.bpm_range),
            "defaultBpm": self.default_bpm,
            "characteristics": self.characteristics,
            "moodOptions": list(self.mood_options),
        }


GENRES: tuple[Genre, ...] = (
    Genre(
        name="trap",
        aliases=("trap music", "atl trap"),
        bpm_range=(140, 160),
        default_bpm=150,
        characteristics="hi-hat rolls, 808 bass, snare rolls",
        mood_options=("dark", "hype", "aggressive", "menacing"),
        default_key="Cm",
        swing=0.0,
        feel="half-time",
    ),
    Genre(
        name="lo-fi",
        aliases=("lofi", "lo fi", "lo-fi hip hop", "lofi hip hop", "chillhop"),
        bpm_range=(70, 90),
        default_bpm=80,
        characteristics="vinyl crackle, jazz chords, lazy swung drums",
        mood_options=("chill", "nostalgic", "dreamy", "sad", "mellow"),
        default_key="Fm",
        swing=0.6,  # 8ths 1.5:1, the lazy lo-fi shuffle
    ),
    Genre(
        name="boom bap",
        aliases=("boombap", "boom-bap", "90s hip hop", "golden era"),
        bpm_range=(80, 100),
        default_bpm=90,
        characteristics="hard swung drums, dusty vinyl samples, punchy bass",
        mood_options=("nostalgic", "dark", "groovy", "aggressive"),
        default_key="Am",
        swing=0.55,  # 8ths 1.45:1, an MPC swing around 59%
    ),
    Genre(
        name="house",
        aliases=("deep house", "house music"),
        bpm_range=(120, 130),
        default_bpm=124,
        characteristics="four-on-the-floor kick, off-beat open hats, piano and organ stabs",
        mood_options=("groovy", "uplifting", "happy", "energetic"),
        default_key="Am",
        swing=0.15,
    ),
    Genre(
        name="drill",
        aliases=("uk drill", "ny drill", "brooklyn drill"),
        bpm_range=(135, 145),
        default_bpm=140,
        characteristics="sliding 808s, triplet hats, dark melodies",
        mood_options=("dark", "menacing", "aggressive"),
        default_key="F#m",
        swing=0.0,
        feel="half-time",
    ),
    Genre(
        name="drum and bass",
        aliases=("dnb", "d&b", "d and b", "drum n bass", "drum & bass", "drum'n'bass", "jungle"),
        bpm_range=(160, 180),
        default_bpm=174,
        characteristics="fast breakbeats, deep sub bass, rolling energy",
        mood_options=("energetic", "dark", "uplifting", "hype"),
        default_key="Fm",
        swing=0.0,
    ),
    Genre(
        name="techno",
        aliases=("tekno", "minimal techno", "berlin techno"),
        bpm_range=(125, 135),
        default_bpm=130,
        characteristics="driving kicks, hypnotic loops, industrial percussion",
        mood_options=("hypnotic", "dark", "energetic"),
        default_key="Am",
        swing=0.0,
    ),
    Genre(
        name="hip hop",
        aliases=("hiphop", "hip-hop", "rap", "hip hop beat"),
        bpm_range=(85, 95),
        default_bpm=90,
        characteristics="boom bap drums, groovy bass, soulful keys",
        mood_options=("groovy", "chill", "hype", "nostalgic"),
        default_key="Dm",
        swing=0.5,  # 8ths 1.4:1
    ),
    Genre(
        name="r&b",
        aliases=("rnb", "r and b", "r n b", "rhythm and blues", "randb"),
        bpm_range=(75, 95),
        default_bpm=85,
        characteristics="smooth drums, melodic bass, lush extended chords",
        mood_options=("romantic", "mellow", "sad", "dreamy"),
        default_key="Eb",
        swing=0.4,  # 8ths 1.3:1, a lighter shuffle
    ),
    Genre(
        name="pop",
        aliases=("pop music", "radio pop", "synth pop", "synthpop"),
        bpm_range=(100, 130),
        default_bpm=115,
        characteristics="catchy drums, bright sounds, big hooks",
        mood_options=("happy", "uplifting", "energetic", "romantic"),
        default_key="C",
        swing=0.0,
    ),
    Genre(
        name="edm",
        aliases=("electro", "big room", "electronic dance music", "festival"),
        bpm_range=(125, 130),
        default_bpm=128,
        characteristics="big drops, synth leads, sidechain pumping builds",
        mood_options=("energetic", "uplifting", "epic", "hype"),
        default_key="Fm",
        swing=0.0,
    ),
    Genre(
        name="dubstep",
        aliases=("brostep", "riddim", "dub step"),
        bpm_range=(135, 145),
        default_bpm=140,
        characteristics="half-time drums, wobble bass, heavy drops",
        mood_options=("aggressive", "dark", "epic", "hype"),
        default_key="Fm",
        swing=0.0,
        feel="half-time",
    ),
    Genre(
        name="jazz",
        aliases=("swing", "bebop", "jazzy", "jazz trio"),
        bpm_range=(100, 140),
        default_bpm=120,
        characteristics="swing ride, walking bass, complex chords",
        mood_options=("mellow", "groovy", "romantic", "melancholic"),
        default_key="Bb",
        swing=0.66,
    ),
    Genre(
        name="rock",
        aliases=("rock and roll", "rock n roll", "hard rock", "alt rock", "indie rock"),
        bpm_range=(110, 140),
        default_bpm=125,
        characteristics="live drums, distorted guitars, power chords",
        mood_options=("energetic", "aggressive", "epic", "uplifting"),
        default_key="E",
        swing=0.0,
    ),
)

_BY_NAME: dict[str, Genre] = {genre.name: genre for genre in GENRES}
GENRE_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def get_genre(name: str) -> Genre:
    """The genre with this canonical name; `KeyError` for anything else."""
    return _BY_NAME[name]
