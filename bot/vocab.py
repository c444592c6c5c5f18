"""The words BeatBot understands, built once from `engine/genres.py` plus chat slang.

Every table maps a phrase (a tuple of tokens, as `tokenize` produces them) to what it means.
The parser looks phrases up greedily, longest first, so "drum and bass" wins over "bass" and
"bass heavy" wins over the stem "bass". Fuzzy matching (rapidfuzz) is deliberately narrow: it
only sees tokens that are no ordinary word, and only compares them with genre names and the
canonical moods, so "trapp", "hiphopp" and "tecno" are understood while "strap", "hill" or
"turn" never become a genre or a mood.

Choices worth knowing:
- "house" after a possessive ("my house", "your house") or in "the house" is a place, not a
  genre. Everywhere else it is the genre: this is a beat bot.
- "jazzy", "swing", "electro", "festival" are weak genre words: in "jazzy lo-fi beat" the noun
  (lo-fi) wins. Between two strong genres the first one mentioned wins.
- "love" is not a mood on its own ("I love trap" is about trap), "love song" is romantic.
- 50s/60s/70s/80s/90s are decades (see `intents`), not durations, unless the text says "long".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from engine.genres import GENRES, MOODS

Phrase = tuple[str, ...]

# Tokens: runs of ASCII letters/digits, plus "&" (r&b, d&b). Apostrophes are removed before
# tokenizing ("drum'n'bass" -> "drumnbass", "don't" -> "dont").
_TOKEN = re.compile(r"[a-z0-9]+|&")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("'", ""))


def _phrase(text: str) -> Phrase:
    return tuple(tokenize(text))


# --- genres -------------------------------------------------------------------------------

# Slang and spellings people type that engine/genres.py does not list as aliases.
GENRE_SLANG: dict[str, tuple[str, ...]] = {
    "trap": ("trap beat", "trapp", "trapbeat", "atlanta trap", "rage", "rage beat"),
    "lo-fi": (
        "lowfi",
        "low fi",
        "lo fi hip hop",
        "chill hop",
        "lofi beats",
        "jazzhop",
        "jazz hop",
        "study beats",
        "lofi girl",
    ),
    "boom bap": (
        "boom bapp",
        "boombapp",
        "old school hip hop",
        "oldschool hip hop",
        "old school rap",
        "90s rap",
        "east coast",
    ),
    "house": ("tech house", "house beat", "afro house", "garage house", "chicago house"),
    "drill": ("drill beat", "chicago drill", "drillbeat"),
    "drum and bass": (
        "drumnbass",
        "drum n bass",
        "drum and base",
        "dnb beat",
        "liquid dnb",
        "liquid drum and bass",
        "neurofunk",
        "dnb",
        "d n b",
        "drum & bass",
        "drum bass",
    ),
    "techno": ("tecno", "techo", "industrial techno", "acid techno", "hard techno", "techno beat"),
    "hip hop": (
        "hip hop",
        "hiphop beat",
        "rap beat",
        "hiphopp",
        "hip hopp",
        "hip-hop beat",
        "hiphip",
        "hip hip",
        "rapp",
    ),
    "r&b": (
        "r & b",
        "r n b",
        "rnb beat",
        "neo soul",
        "neosoul",
        "randb",
        "r and b",
        "r b",
        "rb",
        "rhythm n blues",
        "soul",
        "soulful",
        "rnbb",
        "rnnb",
    ),
    "pop": ("pop beat", "pop song", "k pop", "kpop", "popp", "dance pop", "electropop"),
    "edm": (
        "edm beat",
        "edm drop",
        "electronic",
        "dance music",
        "future bass",
        "trance",
        "progressive house",
        "big room house",
        "electro house",
        "edms",
    ),
    "dubstep": ("dub step", "dub-step", "dubstepp", "wub", "wubs", "wobble", "dubstep drop"),
    "jazz": ("jaz", "jazz beat", "swing jazz", "smooth jazz", "jazzz"),
    "rock": (
        "rock n roll",
        "rocknroll",
        "rock & roll",
        "punk",
        "punk rock",
        "metal",
        "grunge",
        "rock beat",
        "classic rock",
    ),
}

# Genre words that describe rather than name: a strong genre elsewhere in the message wins.
WEAK_GENRE_WORDS: frozenset[Phrase] = frozenset(
    _phrase(w) for w in ("jazzy", "swing", "electro", "electronic", "festival", "wobble", "rage")
)


def _genre_table() -> dict[Phrase, str]:
    table: dict[Phrase, str] = {}
    for genre in GENRES:
        for text in (genre.name, *genre.aliases, *GENRE_SLANG.get(genre.name, ())):
            phrase = _phrase(text)
            if phrase:
                table.setdefault(phrase, genre.name)
    return table


GENRE_PHRASES: dict[Phrase, str] = _genre_table()

# Styles people ask for that BeatBot does not make (yet), each with the nearest of the 14 by
# groove and tempo (not by spelling), so the answer can offer it ("I don't do UK garage yet;
# the closest is house — want that?") instead of quietly making something else.


@dataclass(frozen=True)
class StyleHint:
    """A style or an artist we can't make, and the genre we offer instead."""

    nearest: str  # one of the 14 canonical genre names
    spellings: tuple[str, ...]  # how people type it; the first is the canonical name
    display: str = ""  # how a reply writes it ("UK garage"); default: the canonical name
    artist: bool = False

    @property
    def name(self) -> str:
        return self.spellings[0]

    @property
    def shown(self) -> str:
        return self.display or (self.name.title() if self.artist else self.name)


def _hints(nearest: str, *spellings: str, display: str = "", artist: bool = False) -> StyleHint:
    return StyleHint(nearest, spellings, display, artist)


STYLE_HINTS: tuple[StyleHint, ...] = (
    # house: four-on-the-floor and its UK and South African cousins
    _hints("house", "uk garage", "ukg", "garage", "speed garage", "future garage",
           display="UK garage"),
    _hints("house", "2-step", "2step", "twostep", "two step", display="2-step"),
    _hints("house", "amapiano"),
    _hints("house", "disco", "nu disco", "nudisco", "italo disco"),
    _hints("house", "jersey club"),
    _hints("house", "baile funk", "funk carioca"),
    # hip hop tempo, a different swing
    _hints("hip hop", "reggaeton", "regaeton", "reggeaton", "dembow"),
    _hints("hip hop", "reggae", "roots reggae"),
    _hints("hip hop", "dancehall", "dancehall riddim"),
    _hints("hip hop", "funk"),
    _hints("hip hop", "bounce music"),
    _hints("hip hop", "crunk"),
    # trap's 808s and hats
    _hints("trap", "phonk", "drift phonk", "memphis phonk"),
    _hints("trap", "emo rap"),
    _hints("trap", "cloud rap"),
    _hints("trap", "plugg", "pluggnb"),
    _hints("trap", "jerk"),
    _hints("drill", "grime"),
    _hints("drum and bass", "breakcore"),
    _hints("edm", "hardstyle"),
    _hints("edm", "psytrance", "psy trance", "goa trance"),
    # pop's song shapes
    _hints("pop", "afrobeats", "afrobeat", "afro beats", "afropop", "afro pop"),
    _hints("pop", "synthwave", "synth wave", "retrowave", "outrun"),
    _hints("pop", "hyperpop", "hyper pop"),
    _hints("pop", "latin", "latin pop"),
    _hints("pop", "cumbia"),
    _hints("pop", "bachata"),
    _hints("pop", "merengue"),
    _hints("pop", "polka"),
    _hints("pop", "kpop ballad", display="K-pop ballad"),
    # lo-fi's soft, slow haze
    _hints("lo-fi", "vaporwave", "vapor wave"),
    _hints("lo-fi", "trip hop", "triphop"),
    _hints("lo-fi", "downtempo", "down tempo"),
    _hints("lo-fi", "chillwave"),
    _hints("lo-fi", "ambient music"),
    # jazz harmony and acoustic instruments
    _hints("jazz", "bossa nova", "bossanova", "bossa"),
    _hints("jazz", "samba"),
    _hints("jazz", "salsa"),
    _hints("jazz", "tango"),
    _hints("jazz", "flamenco"),
    _hints("jazz", "blues"),
    _hints("jazz", "classical", "classical music"),
    _hints("jazz", "orchestral music"),
    _hints("jazz", "opera"),
    _hints("jazz", "waltz"),
    _hints("r&b", "gospel"),
    # guitars
    _hints("rock", "country", "country music"),
    _hints("rock", "folk", "folk music"),
    _hints("rock", "bluegrass"),
    _hints("rock", "ska"),
    _hints("rock", "punk rock opera"),
    # artists: the genre a "type beat" of theirs usually is
    _hints("house", "daft punk", artist=True),
    _hints("house", "fred again", display="Fred again..", artist=True),
    _hints("house", "kaytranada", artist=True),
    _hints("dubstep", "skrillex", artist=True),
    _hints("trap", "metro boomin", artist=True),
    _hints("trap", "travis scott", artist=True),
    _hints("trap", "playboi carti", artist=True),
    _hints("trap", "lil baby", artist=True),
    _hints("drill", "pop smoke", artist=True),
    _hints("drill", "chief keef", artist=True),
    _hints("drill", "central cee", artist=True),
    _hints("boom bap", "j dilla", artist=True),
    _hints("boom bap", "mf doom", display="MF DOOM", artist=True),
    _hints("boom bap", "madlib", artist=True),
    _hints("boom bap", "dj premier", display="DJ Premier", artist=True),
    _hints("boom bap", "pete rock", artist=True),
    _hints("boom bap", "wu tang", "wu tang clan", display="Wu-Tang", artist=True),
    _hints("hip hop", "drake", artist=True),
    _hints("hip hop", "kanye", "kanye west", artist=True),
    _hints("hip hop", "kendrick", "kendrick lamar", artist=True),
    _hints("hip hop", "dr dre", display="Dr. Dre", artist=True),
    _hints("hip hop", "eminem", artist=True),
    _hints("hip hop", "bad bunny", artist=True),
    _hints("lo-fi", "nujabes", artist=True),
    _hints("edm", "avicii", artist=True),
    _hints("edm", "calvin harris", artist=True),
    _hints("edm", "martin garrix", artist=True),
    _hints("edm", "marshmello", artist=True),
    _hints("techno", "aphex twin", artist=True),
    _hints("techno", "kraftwerk", artist=True),
    _hints("r&b", "the weeknd", "weeknd", display="The Weeknd", artist=True),
    _hints("r&b", "frank ocean", artist=True),
    _hints("r&b", "sza", display="SZA", artist=True),
    _hints("pop", "taylor swift", artist=True),
    _hints("pop", "dua lipa", artist=True),
    _hints("pop", "billie eilish", artist=True),
    _hints("pop", "michael jackson", artist=True),
    _hints("pop", "burna boy", artist=True),
    _hints("pop", "wizkid", artist=True),
    _hints("jazz", "miles davis", artist=True),
    _hints("rock", "nirvana", artist=True),
    _hints("rock", "metallica", artist=True),
    _hints("rock", "the beatles", "beatles", display="The Beatles", artist=True),
    _hints("rock", "arctic monkeys", artist=True),
)  # fmt: skip
STYLES: dict[str, StyleHint] = {hint.name: hint for hint in STYLE_HINTS}
# Kept for callers that only need the names.
OTHER_STYLES: tuple[str, ...] = tuple(STYLES)

# "my house" is where someone lives; these phrases mean nothing to the parser.
IGNORED_PHRASES: frozenset[Phrase] = frozenset(
    (det, "house")
    for det in ("my", "your", "ur", "our", "his", "her", "their", "the", "yo", "mah", "ma")
) | frozenset(
    _phrase(p)
    for p in (
        "at home",
        "house party",
        "its a trap",
        "you rock",
        "u rock",
        "rock on",
        "whats the drill",
        "pop music quiz",
        "in a minute",
        "in a sec",
        "in a second",
        "trap door",
        "rock paper",
        "pop up",
        "pop off",
        "pops up",
        "swing by",
        "swing over",
    )
)
# "house party" is a party, and "at home" is where someone is. Neither is a request.

# --- moods ---------------------------------------------------------------------------------

MOOD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "dark": (
        "gloomy",
        "moody",
        "grim",
        "shadowy",
        "gothic",
        "goth",
        "night",
        "nocturnal",
        "darkness",
        "murky",
        "bleak",
        "dark vibes",
    ),
    "hype": (
        "turnt",
        "turnt up",
        "lit",
        "hyped",
        "banger",
        "party",
        "crazy",
        "wild",
        "hype beat",
        "club banger",
        "bouncy hype",
        "rowdy",
    ),
    "aggressive": (
        "hard",
        "hardcore",
        "angry",
        "rage",
        "intense",
        "gritty",
        "heavy",
        "violent",
        "fierce",
        "brutal",
        "savage",
        "raw",
        "hard hitting",
        "aggro",
    ),
    "menacing": (
        "sinister",
        "evil",
        "scary",
        "creepy",
        "spooky",
        "eerie",
        "ominous",
        "threatening",
        "haunting",
        "haunted",
        "villain",
        "horror",
        "menace",
    ),
    "chill": (
        "relaxed",
        "relaxing",
        "laid back",
        "laidback",
        "calm",
        "chilled",
        "chillout",
        "chill out",
        "easy going",
        "peaceful",
        "cozy",
        "cosy",
        "lazy",
        "vibey",
        "study",
        "late night chill",
        "calming",
    ),
    "sad": (
        "sadness",
        "sadd",
        "depressing",
        "depressed",
        "heartbreak",
        "heartbroken",
        "crying",
        "emo",
        "tearful",
        "lonely",
        "sorrowful",
        "blue",
    ),
    "happy": (
        "joyful",
        "cheerful",
        "fun",
        "sunny",
        "playful",
        "upbeat",
        "feel good",
        "feelgood",
        "summer",
        "summery",
        "positive vibes",
        "good vibes",
        "joy",
    ),
    "uplifting": (
        "inspiring",
        "inspirational",
        "hopeful",
        "euphoric",
        "motivational",
        "positive",
        "uplift",
        "triumphant",
    ),
    "dreamy": (
        "ethereal",
        "atmospheric",
        "floaty",
        "spacey",
        "spacy",
        "ambient",
        "hazy",
        "dreamlike",
        "dream",
        "lush",
        "cloudy",
        "cloud",
        "space",
        "heavenly",
    ),
    "melancholic": (
        "melancholy",
        "wistful",
        "bittersweet",
        "somber",
        "sombre",
        "reflective",
        "pensive",
        "melancolic",
        "mournful",
    ),
    "energetic": (
        "energy",
        "high energy",
        "driving",
        "pumping",
        "powerful",
        "lively",
        "dynamic",
        "energized",
        "energised",
        "intense energy",
    ),
    "romantic": (
        "love song",
        "sensual",
        "sexy",
        "sultry",
        "intimate",
        "slow jam",
        "seductive",
        "passionate",
        "loving",
    ),
    "mellow": ("soft", "gentle", "smooth", "soothing", "mellowed", "tender", "easy"),
    "epic": (
        "cinematic",
        "huge",
        "massive",
        "anthemic",
        "orchestral",
        "grand",
        "heroic",
        "big",
        "majestic",
        "trailer",
    ),
    "groovy": ("funky", "funk", "bouncy", "groove", "grooving", "swingy", "disco", "bounce"),
    "nostalgic": (
        "retro",
        "throwback",
        "old school",
        "oldschool",
        "memories",
        "reminiscent",
        "nostalgia",
        "old",
        "classic",
    ),
    "hypnotic": (
        "trancey",
        "trance like",
        "mesmerizing",
        "mesmerising",
        "repetitive",
        "trippy",
        "psychedelic",
        "hypnotizing",
        "hypnotising",
        "droning",
    ),
}

# "darker", "more chill": the same mood, asked as a change to the last beat.
MOOD_COMPARATIVES: dict[str, tuple[str, ...]] = {
    "dark": ("darker", "darkest", "gloomier", "moodier", "grimmer"),
    "hype": ("hyper", "more hype", "turnter", "liter"),
    "aggressive": ("harder", "angrier", "heavier", "grittier", "rawer"),
    "menacing": ("scarier", "creepier", "spookier", "eerier", "evilier"),
    "chill": ("chiller", "calmer", "more relaxed", "lazier", "more laid back"),
    "sad": ("sadder", "lonelier"),
    "happy": ("happier", "sunnier", "more fun", "cheerier", "funner"),
    "uplifting": ("more uplifting", "more positive"),
    "dreamy": ("dreamier", "spacier", "hazier", "floatier"),
    "melancholic": ("more melancholic", "more melancholy"),
    "energetic": ("more energetic", "more energy", "livelier"),
    "romantic": ("more romantic", "sexier"),
    "mellow": ("mellower", "softer", "gentler", "smoother"),
    "epic": ("more epic", "bigger", "grander"),
    "groovy": ("groovier", "funkier", "bouncier"),
    "nostalgic": ("more nostalgic", "more retro"),
    "hypnotic": ("more hypnotic", "trippier"),
}

# --- mix profiles, quality, stems ----------------------------------------------------------

PROFILES: tuple[str, ...] = ("balanced", "bass-heavy", "bright", "warm")
PROFILE_WORDS: dict[str, tuple[str, ...]] = {
    "balanced": ("balanced", "neutral", "even mix", "flat mix", "balance"),
    "bass-heavy": (
        "bass heavy",
        "bassheavy",
        "bassy",
        "heavy bass",
        "big bass",
        "lots of bass",
        "bass boosted",
        "bass boost",
        "boomy",
        "heavy low end",
    ),
    "bright": ("bright", "crisp", "crispy", "airy", "sparkly", "shiny", "brightness"),
    "warm": ("warm", "vintage", "analog", "analogue", "tape", "warmth", "tape warmth"),
}
# "warmer", "more bass": the profile, asked as a change to the last beat.
PROFILE_COMPARATIVES: dict[str, tuple[str, ...]] = {
    "balanced": ("more balanced", "more even"),
    "bass-heavy": (
        "bassier",
        "more bass",
        "extra bass",
        "more low end",
        "bass heavier",
        "heavier bass",
        "more bass heavy",
        "more sub",
        "more 808",
    ),
    "bright": ("brighter", "crisper", "more highs", "more treble", "airier", "more sparkle"),
    "warm": ("warmer", "more warmth", "more vintage", "more analog"),
}

QUALITIES: tuple[str, ...] = ("streaming", "cd", "club")
QUALITY_WORDS: dict[str, tuple[str, ...]] = {
    "streaming": (
        "streaming",
        "stream",
        "spotify",
        "apple music",
        "itunes",
        "youtube",
        "soundcloud",
        "tidal",
        "deezer",
        "amazon music",
        "radio",
        "online",
    ),
    "cd": ("cd", "cds", "cd quality", "compact disc", "album", "cd master"),
    "club": (
        "club",
        "clubs",
        "dj",
        "djs",
        "dj set",
        "nightclub",
        "the club",
        "club use",
        "club master",
        "sound system",
        "soundsystem",
    ),
}

STEM_TYPES: tuple[str, ...] = ("drums", "bass", "melody", "vocals")
STEM_WORDS: dict[str, tuple[str, ...]] = {
    "drums": ("drums", "drum", "percussion", "drum track", "drum stem", "kit"),
    "bass": ("bass", "bassline", "bass line", "808", "808s", "sub", "low end"),
    "melody": (
        "melody",
        "melodies",
        "chords",
        "keys",
        "synths",
        "synth",
        "instruments",
        "music",
        "melodic",
    ),
    "vocals": (
        "vocals",
        "vocal",
        "voice",
        "voices",
        "acapella",
        "a cappella",
        "acappella",
        "a capella",
        "vox",
        "singing",
        "singer",
        "lyrics",
    ),
}

# --- keys ---------------------------------------------------------------------------------

NOTE_LETTERS = "CDEFGAB"
_ACCIDENTALS = {"#": "#", "sharp": "#", "b": "b", "flat": "b", "": ""}


def key_name(letter: str, accidental: str, minor: bool) -> str:
    """Canonical spelling keeping the user's accidental: ("f", "sharp", True) -> "F#m"."""
    return letter.upper() + _ACCIDENTALS[accidental.strip(" -").lower()] + ("m" if minor else "")


_KEY_TEXT = re.compile(
    r"^\s*(?:key\s+of\s+|key\s*:?\s*|in\s+)?([A-Ga-g])\s*(#|b|-?\s*sharp|-?\s*flat)?\s*-?\s*"
    r"(m|min|minor|moll|maj|major|dur|M)?\s*$"
)
_MINOR = frozenset({"m", "min", "minor", "moll"})


def normalize_key(text: str) -> str | None:
    """Any key spelling ("c minor", "F sharp m", "Bb", "a#m") -> "Cm", "F#m", "Bb", "A#m".

    Returns None for text that is not a key. Spelling is kept (Bb stays Bb, A# stays A#).
    """
    cleaned = str(text).replace("♯", "#").replace("♭", "b")
    match = _KEY_TEXT.match(cleaned)
    if match is None:
        return None
    letter, accidental, mode = match.group(1), match.group(2) or "", match.group(3) or ""
    if mode == "M":  # jazz shorthand: CM is C major
        mode = "maj"
    return key_name(letter, accidental.replace(" ", ""), mode.lower() in _MINOR)


# --- intent cue words ------------------------------------------------------------------------

CUES: dict[str, tuple[str, ...]] = {
    "help": (
        "help",
        "halp",
        "commands",
        "command list",
        "usage",
        "how does this work",
        "how does it work",
        "how do i use",
        "how to use",
        "how do you work",
        "what can you do",
        "what do you do",
        "instructions",
        "manual",
        "tutorial",
        "how do i make",
        "how can i make",
        "what should i type",
        "what do i type",
        "examples",
        "help me",
        "show me how",
        "menu",
    ),
    "genres": (
        "genres",
        "genre list",
        "list genres",
        "list of genres",
        "what genres",
        "which genres",
        "styles",
        "what styles",
        "which styles",
        "genre",
        "style list",
        "what can you make",
        "what kind of beats",
        "what kinds of beats",
        "what types of beats",
        "supported genres",
        "available genres",
        "list styles",
    ),
    "status": (
        "status",
        "progress",
        "eta",
        "is it done",
        "is it ready",
        "how long",
        "how much longer",
        "where is my beat",
        "wheres my beat",
        "hows my beat",
        "how is my beat",
        "is my beat ready",
        "is my beat done",
        "still working",
        "queue",
        "done yet",
        "ready yet",
        "how far along",
        "whats the status",
        "any update",
        "any updates",
        "update me",
        "job status",
        "where is it",
        "wheres it at",
        "is it finished",
        "finished yet",
    ),
    "cancel": (
        "cancel",
        "cancel it",
        "cancel that",
        "stop",
        "stop it",
        "abort",
        "never mind",
        "nevermind",
        "nvm",
        "forget it",
        "scrap that",
        "scrap it",
        "kill it",
        "kill the job",
        "dont make it",
        "halt",
        "stop the job",
        "cancel the job",
        "cancel job",
        "stop making",
    ),
    "stems": (
        "stems",
        "stem",
        "separate",
        "separation",
        "split",
        "split it",
        "extract",
        "isolate",
        "unmix",
        "demix",
        "acapella",
        "a cappella",
        "acappella",
        "a capella",
        "pull out",
        "break it down into",
        "multitracks",
        "multitrack",
        "trackouts",
        "track outs",
    ),
    "master": (
        "master",
        "mastering",
        "mastered",
        "remaster",
        "master it",
        "master this",
        "master that",
        "loudness",
        "lufs",
        "lkfs",
        "make it louder",
        "louder",
    ),
    "mix": (
        "mix",
        "mixdown",
        "mix down",
        "mixing",
        "automix",
        "auto mix",
        "mix these",
        "mix them",
        "mix my",
        "blend these",
        "mix together",
        "remix these",
    ),
    "variation": (
        "again",
        "another",
        "another one",
        "one more",
        "once more",
        "different take",
        "another take",
        "new take",
        "variation",
        "variations",
        "redo",
        "re do",
        "reroll",
        "re roll",
        "try again",
        "different one",
        "new version",
        "another version",
        "more like this",
        "same again",
        "do it again",
        "agian",
        "anotha",
        "anutha",
        "nother one",
        "run it back",
        "encore",
        "different version",
        "similar",
        "more of that",
        "one more time",
        "regenerate",
        "new seed",
        "different seed",
    ),
    "refine": (
        "make it",
        "make that",
        "make this",
        "same but",
        "same thing but",
        "same beat",
        "same",
        "now",
        "instead",
        "change",
        "change it",
        "switch",
        "switch to",
        "swap",
        "turn it",
        "turn it into",
        "convert",
        "tweak",
        "adjust",
        "do it as",
        "but",
        "this time",
        "keep",
        "can you make it",
        "could you make it",
        "put it",
        "bump",
        "set it",
        "set the",
    ),
    # Things one asks a beat bot for; with a request verb they mean "make a beat".
    "noun": (
        "beat",
        "beats",
        "instrumental",
        "instrumentals",
        "instru",
        "track",
        "loop",
        "loops",
        "song",
        "tune",
        "jam",
        "type beat",
        "music",
        "groove",
        "vibe",
        "vibes",
        "riddim",
        "backing track",
        "bgm",
        "sample",
        "melody",
        "rhythm",
        "drop",
    ),
    "verb": (
        "make",
        "produce",
        "create",
        "generate",
        "cook",
        "cook up",
        "give",
        "gimme",
        "want",
        "need",
        "play",
        "build",
        "compose",
        "whip up",
        "send",
        "can you",
        "could you",
        "lets",
        "let me hear",
        "please",
        "pls",
        "plz",
        "hit me with",
        "i want",
        "i need",
        "id like",
        "something",
        "some",
        "render",
        "do",
    ),
    "create": (
        "make",
        "produce",
        "create",
        "generate",
        "cook",
        "cook up",
        "build",
        "compose",
        "whip up",
        "render",
    ),
    # Open requests: BeatBot picks what the message leaves open (genre, mood, tempo, key).
    "open": (
        "surprise me",
        "suprise me",
        "surprise us",
        "anything",
        "anything you want",
        "anything you like",
        "anything goes",
        "anything is fine",
        "whatever you want",
        "whatever you like",
        "whatever you feel like",
        "whatever u want",
        "dealers choice",
        "dealer choice",
        "your choice",
        "your call",
        "you choose",
        "you pick",
        "up to you",
        "random",
        "something random",
        "randomize",
        "go wild",
    ),
    "negate": (
        "not",
        "no",
        "less",
        "without",
        "dont",
        "never",
        "not too",
        "nothing",
        "zero",
        "minus",
        "except",
        "but no",
        "non",
    ),
    "as": ("as", "into", "to"),
    # Words that carry nothing: a message made only of these and parameters is a request.
    "filler": (
        "a",
        "an",
        "the",
        "some",
        "something",
        "very",
        "really",
        "super",
        "kinda",
        "kind of",
        "like",
        "with",
        "and",
        "yo",
        "hey",
        "ok",
        "okay",
        "vibe",
        "vibes",
        "mood",
        "feel",
        "feeling",
        "style",
        "type",
        "of",
        "in",
        "at",
        "for",
        "around",
        "about",
        "ish",
        "pls",
        "please",
        "plz",
        "one",
        "bit",
        "little",
        "more",
        "bpm",
        "tempo",
        "key",
        "long",
        "seconds",
        "minutes",
        "but",
        "then",
        "now",
        "also",
        "just",
        "only",
        "quite",
        "pretty",
        "extra",
        "too",
        "so",
        "sound",
        "sounding",
        "thing",
        "stuff",
        "me",
        "thx",
        "thanks",
        "maybe",
        "version",
        "mode",
        "major",
        "minor",
        "on",
        "it",
        "that",
        "this",
        "to",
        "as",
        "is",
        "be",
        "beatbot",
        "bot",
        "50s",
        "60s",
        "70s",
        "80s",
        "90s",
        "00s",
        "2000s",
        "1990s",
        "1980s",
    ),
}

# Instruments people name in a request ("melancholic piano"): understood, not a parameter.
INSTRUMENT_WORDS: tuple[str, ...] = (
    "piano",
    "pianos",
    "guitar",
    "guitars",
    "synth",
    "synths",
    "strings",
    "rhodes",
    "organ",
    "pad",
    "pads",
    "bell",
    "bells",
    "flute",
    "sax",
    "saxophone",
    "violin",
    "violins",
    "horns",
    "brass",
    "choir",
    "keys",
    "epiano",
    "trumpet",
    "cello",
    "harp",
    "plucks",
    "pluck",
    "lead",
    "leads",
    "808",
    "808s",
    "909",
    "kick",
    "kicks",
    "snare",
    "snares",
    "hats",
    "hihats",
    "hi hats",
    "claps",
    "clap",
    "percs",
    "drums",
    "bass",
    "bassline",
    "sub",
    "vinyl",
    "crackle",
    "samples",
    "chords",
    "melodies",
    "arp",
    "arps",
    "wobble bass",
    "reese",
)

# Tempo and length changes ("make it faster"): (field, sign).
CHANGE_WORDS: dict[Phrase, tuple[str, int]] = {}
for _words, _change in (
    (
        (
            "faster",
            "quicker",
            "speed up",
            "speed it up",
            "more tempo",
            "higher tempo",
            "up the tempo",
            "up the bpm",
            "raise the tempo",
            "raise the bpm",
            "increase the tempo",
            "increase the bpm",
            "tempo up",
            "bpm up",
            "speedier",
            "pick up the pace",
            "pick up the tempo",
            "push the tempo",
            "bump the tempo",
            "bump the bpm",
            "bump up the bpm",
            "bump up the tempo",
            "crank the tempo",
            "more speed",
            "fast",
            "faster tempo",
            "higher bpm",
            "faster bpm",
        ),
        ("bpm", 1),
    ),
    (
        (
            "slower",
            "slow down",
            "slow it down",
            "lower tempo",
            "lower the tempo",
            "lower the bpm",
            "drop the tempo",
            "drop the bpm",
            "decrease the tempo",
            "decrease the bpm",
            "tempo down",
            "bpm down",
            "less tempo",
            "reduce the tempo",
            "reduce the bpm",
            "slow",
            "slower tempo",
            "lower bpm",
            "slower bpm",
            "take it down a notch",
        ),
        ("bpm", -1),
    ),
    (
        ("longer", "extend it", "extend", "lengthen", "make it longer", "more length"),
        ("duration", 1),
    ),
    (
        ("shorter", "shorten", "cut it down", "trim it", "trim", "less long", "make it shorter"),
        ("duration", -1),
    ),
):
    for _word in _words:
        CHANGE_WORDS[_phrase(_word)] = _change

# "a bit faster", "a lot slower": how big a relative change is.
SMALL_WORDS: frozenset[str] = frozenset(
    {"bit", "little", "slightly", "touch", "tad", "tiny", "smidge", "notch", "lil", "somewhat"}
)
BIG_WORDS: frozenset[str] = frozenset(
    {
        "lot",
        "way",
        "much",
        "lots",
        "loads",
        "heaps",
        "significantly",
        "tons",
        "alot",
        "massively",
        "waaay",
        "waay",
        "hella",
        "super",
        "really",
        "mega",
        "drastically",
    }
)
# Default steps, signed by the change word: BPM and seconds.
STEPS: dict[str, dict[str, int]] = {
    "bpm": {"small": 4, "normal": 8, "big": 16},
    "duration": {"small": 10, "normal": 15, "big": 30},
}

# --- producer controls ("no hi-hats", "with piano", "redo the hook") -------------------------

# Parts a beat can leave out (engine.compose.model.PARTS) and the words for each.
PART_WORDS: dict[str, tuple[str, ...]] = {
    "drums": ("drums", "drum", "drum kit", "kit", "drum track"),
    "kick": ("kick", "kicks", "kick drum", "kick drums", "bass drum"),
    "snare": ("snare", "snares", "clap", "claps"),
    "hats": (
        "hats", "hat", "hi hats", "hi hat", "hihats", "hihat", "high hats", "high hat", "hh",
        "hi hat rolls", "hat rolls",
    ),
    "perc": ("perc", "percs", "percussion", "shaker", "shakers", "congas", "toms", "rims"),
    "bass": (
        "bass", "808", "808s", "bassline", "bass line", "basslines", "sub", "subs", "sub bass",
        "low end",
    ),
    "chords": ("chords", "chord", "harmony", "pads", "keys"),
    "melody": ("melody", "melodies", "lead", "leads", "topline", "tune", "melodic parts"),
    "fx": ("fx", "sfx", "effects", "sound effects", "risers", "riser", "impacts", "sweeps"),
}  # fmt: skip
# The parts a beat is built from, top level: what "drums only" keeps or drops.
PART_GROUPS: tuple[str, ...] = ("drums", "bass", "chords", "melody", "fx")
DRUM_PARTS: tuple[str, ...] = ("kick", "snare", "hats", "perc")

# Instruments "with X" / "add X" / "use X" may ask for: engine voice name -> words
# (engine.palettes.includable(genre) says which a genre can take).
INCLUDE_WORDS: dict[str, tuple[str, ...]] = {
    "piano": ("piano", "pianos", "grand piano", "acoustic piano", "keys", "keyboard"),
    "rhodes": ("rhodes", "e piano", "epiano", "electric piano", "wurlitzer", "wurli"),
    "felt": ("felt piano", "soft piano"),
    "organ": ("organ", "organs", "hammond", "church organ"),
    "stab": ("stabs", "synth stabs", "stab"),
    "pad": ("pad", "pads", "synth pad", "synth pads"),
    "supersaw": ("supersaw", "supersaws", "saws", "saw synth"),
    "strings": ("strings", "string section", "violin", "violins", "orchestra", "orchestral"),
    "brass": ("brass", "horns", "horn", "trumpet", "trumpets", "sax", "saxophone", "trombone"),
    "guitar": ("guitar", "guitars", "electric guitar"),
    "nylon": ("nylon", "nylon guitar", "acoustic guitar", "spanish guitar", "classical guitar"),
    "vibes": ("vibraphone", "vibraphones"),
    "pluck": ("pluck", "plucks", "synth pluck", "synth plucks"),
    "lead": ("synth lead", "lead synth", "lead"),
    "bell": ("bell", "bells", "glockenspiel", "chimes", "music box"),
    "marimba": ("marimba", "xylophone"),
    "flute": ("flute", "flutes"),
    "808_dirty": ("distorted 808", "dirty 808", "distorted 808s", "dirty 808s"),
    "sub": ("sub bass",),
    "bass": ("electric bass", "bass guitar"),
    "upright": ("upright bass", "double bass", "upright"),
    "fm_bass": ("fm bass",),
    "acid": ("acid bass", "303"),
    "reese": ("reese", "reese bass"),
    "wobble": ("wobble", "wobble bass", "wobbles"),
    "growl": ("growl bass", "growls"),
    # Instruments we don't play: named as asked, so the answer can list the ones we have.
    "choir": ("choir", "choirs"),
    "harp": ("harp",),
    "cello": ("cello", "cellos"),
    "sitar": ("sitar",),
    "banjo": ("banjo",),
    "accordion": ("accordion",),
    "kalimba": ("kalimba",),
    "harmonica": ("harmonica",),
    "ukulele": ("ukulele", "uke"),
}  # fmt: skip

# Sections a beat may have (engine.compose.model.SECTION_NAMES) and "bridge", which the
# engine answers with the sections the beat does have.
SECTION_WORDS: dict[str, tuple[str, ...]] = {
    "intro": ("intro", "intros", "opening"),
    "verse": ("verse", "verses"),
    "hook": ("hook", "hooks", "chorus", "choruses", "refrain"),
    "drop": ("drop", "drops"),
    "build": ("build", "buildup", "build up", "builds"),
    "break": ("break", "breakdown", "break down"),
    "outro": ("outro", "ending"),
    "head": ("head",),
    "solo": ("solo",),
    "bridge": ("bridge",),
}


def _phrase_index(table: Mapping[str, tuple[str, ...]], *, names: bool = True) -> dict[Phrase, str]:
    index: dict[Phrase, str] = {}
    for name, words in table.items():
        for word in (name, *words) if names else words:
            index.setdefault(_phrase(word), name)
    return index


PART_PHRASES: dict[Phrase, str] = _phrase_index(PART_WORDS)
INCLUDE_PHRASES: dict[Phrase, str] = _phrase_index(INCLUDE_WORDS, names=False)
SECTION_PHRASES: dict[Phrase, str] = _phrase_index(SECTION_WORDS)
# What a redo can name: the engine's sections (a beat has some of them; "bridge" it never has).
REDO_SECTIONS: tuple[str, ...] = tuple(name for name in SECTION_WORDS if name != "bridge")


# --- the phrase table ---------------------------------------------------------------------

Meaning = tuple[str, str]  # (category, value)


def _build_phrases() -> tuple[dict[Phrase, tuple[Meaning, ...]], int]:
    table: dict[Phrase, list[Meaning]] = {}

    def add(texts: Iterable[str | Phrase], meaning: Meaning) -> None:
        for text in texts:
            phrase = text if isinstance(text, tuple) else _phrase(text)
            if phrase and meaning not in table.setdefault(phrase, []):
                table[phrase].append(meaning)

    for phrase, genre in GENRE_PHRASES.items():
        add([phrase], ("genre_weak" if phrase in WEAK_GENRE_WORDS else "genre", genre))
    for mood in MOODS:
        add([mood], ("mood", mood))
    for mood, words in MOOD_SYNONYMS.items():
        add(words, ("mood", mood))
    for mood, words in MOOD_COMPARATIVES.items():
        add(words, ("mood_more", mood))
    for mood in MOODS:  # "more aggressive", "more groovy"
        add([f"more {mood}"], ("mood_more", mood))
    for profile, words in PROFILE_WORDS.items():
        add(words, ("profile", profile))
    for profile, words in PROFILE_COMPARATIVES.items():
        add(words, ("profile_more", profile))
    for quality, words in QUALITY_WORDS.items():
        add(words, ("quality", quality))
    for stem, words in STEM_WORDS.items():
        add(words, ("stem", stem))
    for cue, words in CUES.items():
        add(words, ("cue", cue))
    add(INSTRUMENT_WORDS, ("cue", "filler"))
    for phrase, (field, sign) in CHANGE_WORDS.items():
        add([phrase], ("change", f"{field}:{sign}"))
    for word in SMALL_WORDS:
        add([word], ("size", "small"))
    for word in BIG_WORDS:
        add([word], ("size", "big"))
    for hint in STYLE_HINTS:
        for text in hint.spellings:
            # A style is what the phrase means first; "funk" and "disco" keep their mood too.
            meanings = table.setdefault(_phrase(text), [])
            meanings[:] = [("style", hint.name), *(m for m in meanings if m[0] == "mood")]
    for phrase in IGNORED_PHRASES:
        table[phrase] = [("ignore", "")]
    frozen = {phrase: tuple(meanings) for phrase, meanings in table.items()}
    return frozen, max(len(p) for p in frozen)


PHRASES, MAX_PHRASE = _build_phrases()

# --- fuzzy matching --------------------------------------------------------------------------

# Fuzzy targets: genre names and aliases squeezed to one token ("hiphop", "drumandbass"), and
# the canonical moods. Short targets (rap, pop, edm, sad) are exact-only: one typo away from
# them lies half the dictionary.
#
# A typo is measured in Damerau-style edits (optimal string alignment: swapping two neighbours,
# "trpa", is one edit, like a missing or an extra letter). A changed letter only counts in long
# words: one substitution away from "house", "drill" or "dreamy" lie "horse", "grill" and
# "creamy", while "energitic" can only mean one thing.
FUZZY_MIN_TARGET = 4
FUZZY_MIN_TOKEN = 4
FUZZY_MAX_TOKEN = 24
SUBSTITUTION_MIN_TARGET = 8
# Aliases too close to everyday words to stretch: "randb" is one letter from "rand".
NOT_FUZZY_TARGETS: frozenset[str] = frozenset({"randb"})
TWO_EDITS_MIN_TARGET = 10  # "agressvie", "drumnbsas": two edits in very long words


def _fuzzy_targets() -> dict[str, Meaning]:
    # The engine's names and aliases only: slang ("rage", "techo", "randb") and describing
    # words ("swing", "electro") are exact-only, or "range", "echo", "rand" and "sing" would
    # be typos of them.
    targets: dict[str, Meaning] = {}
    for genre in GENRES:
        for text in (genre.name, *genre.aliases):
            phrase = _phrase(text)
            squeezed = "".join(phrase)
            if (
                len(squeezed) >= FUZZY_MIN_TARGET
                and squeezed.isalpha()
                and phrase not in WEAK_GENRE_WORDS
                and squeezed not in NOT_FUZZY_TARGETS
            ):
                targets.setdefault(squeezed, ("genre", genre.name))
    for mood in MOODS:
        if len(mood) >= FUZZY_MIN_TARGET:
            targets.setdefault(mood, ("mood", mood))
    return targets


FUZZY_TARGETS: dict[str, Meaning] = _fuzzy_targets()

# Ordinary words that sit within the fuzzy cutoff of a target; they keep their own meaning.
ORDINARY_WORDS: frozenset[str] = frozenset(
    [
        "strap",
        "straps",
        "tramp",
        "tramps",
        "trapt",
        "rocks",
        "rocky",
        "rocked",
        "rocker",
        "frock",
        "crock",
        "brock",
        "crocks",
        "hose",
        "hoses",
        "houses",
        "housed",
        "dill",
        "rill",
        "hill",
        "hills",
        "chilly",
        "chills",
        "chili",
        "child",
        "hyper",
        "hypes",
        "darks",
        "darko",
        "epics",
        "lofty",
        "loft",
        "electron",
        "electrons",
        "lifting",
        "uplift",
        "shifting",
        "swings",
        "swine",
        "swinging",
        "jungles",
        "bungle",
        "rapid",
        "trapped",
        "wrapping",
        "rapper",
        "rappers",
        "popping",
        "popped",
        "poppy",
        "hopped",
        "hopping",
        "hipster",
        "mood",
        "moods",
        "moody",
        "ethic",
        "techie",
        "teeny",
        "teach",
        "techs",
        "hoped",
        "dream",
        "dreams",
        "trance",
        "trancy",
        "soul",
        "souls",
        "dubs",
        "stepping",
        "stepped",
        "drilled",
        "driller",
        "drilling",
        "rocket",
        "rockets",
        "house",
        "houses",
        "dance",
        "dances",
        "jazzed",
        "poprock",
        "edgy",
        "epoch",
        "dank",
        "darn",
        "dart",
        "hyped",
        "turn",
        "turns",
        "turned",
        "turnip",
        "heavy",
        "heave",
        "angry",
        "happen",
        "happens",
        "happily",
        "hoppy",
        "chilli",
        "chilled",
        "chillin",
        "chilling",
        "drills",
        "dril",
        "groove",
        "grooves",
        "grooved",
        "metals",
        "medal",
        "petal",
        "roman",
        "romance",
        "romans",
        "roma",
        "energy",
        "enemy",
        "nostalgia",
        "hypnotise",
        "hypnotize",
        "hypnosis",
        "menace",
        "menaces",
        "melancholy",
        "melon",
        "mellowed",
        "yellow",
        "fellow",
        "hello",
        "jello",
        "cello",
        "groovie",
        "weekend",
        "thanks",
    ]
)


# Ordinary words one edit from a genre ("tarp"): the genre only where the message asks for
# a beat and names no other genre ("make a tarp beat"), never in "put a tarp over the house beat".
LOOKALIKES: dict[str, str] = {"tarp": "trap"}


def _fuzzy_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for target in FUZZY_TARGETS:
        for letter in {target[0], target[1]}:
            index.setdefault(letter, []).append(target)
    return {letter: tuple(targets) for letter, targets in index.items()}


# Targets by their first and second letters: a typo keeps one of a word's first two letters in
# one of its first two places (a swap, a slip of the first letter, a letter added in front), so
# a token is only measured against the targets that share one.
_FUZZY_INDEX = _fuzzy_index()


@lru_cache(maxsize=1024)
def _candidates(first: str, second: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_FUZZY_INDEX.get(first, ()) + _FUZZY_INDEX.get(second, ())))


def _close_enough(token: str, target: str) -> int | None:
    """The edits from `target` to `token` if they are few enough for a typo, else None."""
    budget = 2 if len(target) >= TWO_EDITS_MIN_TARGET else 1
    if abs(len(token) - len(target)) > budget:
        return None
    edits = OSA.distance(token, target, score_cutoff=budget)
    if edits > budget:
        return None
    if (
        edits == 1
        and len(token) == len(target)
        and len(target) < SUBSTITUTION_MIN_TARGET
        and sorted(token) != sorted(target)  # same letters: a swap, not a changed letter
    ):
        return None
    return edits


@lru_cache(maxsize=65536)
def fuzzy_lookup(token: str) -> Meaning | None:
    """The genre or mood a typo means ("trapp", "trpa" -> genre trap), or None. Cached per
    token; "tarp" answers ("genre_lookalike", "trap") and the parser decides from context."""
    if token in LOOKALIKES:
        return ("genre_lookalike", LOOKALIKES[token])
    if (
        not FUZZY_MIN_TOKEN <= len(token) <= FUZZY_MAX_TOKEN
        or not token.isalpha()
        or token in ORDINARY_WORDS
    ):
        return None
    best: tuple[int, str] | None = None
    for target in _candidates(token[0], token[1]):
        edits = _close_enough(token, target)
        if edits is not None and (best is None or edits < best[0]):
            best = (edits, target)
    return FUZZY_TARGETS[best[1]] if best else None


def nearest_genre(text: str) -> str | None:
    """The canonical genre to offer for any text: a style's nearest by sound ("uk garage" ->
    house), else the closest spelling ("trapz" -> trap); None when nothing is close."""
    phrase = _phrase(str(text))
    for size in range(len(phrase), 0, -1):  # "dark uk garage": the longest style named
        for start in range(len(phrase) - size + 1):
            for category, value in PHRASES.get(phrase[start : start + size], ()):
                if category == "style":
                    return STYLES[value].nearest
    choices = {"".join(p): g for p, g in GENRE_PHRASES.items()}
    squeezed = "".join(phrase)
    if not squeezed:
        return None
    found = process.extractOne(squeezed, list(choices), scorer=fuzz.ratio, score_cutoff=40)
    return choices[found[0]] if found else None


def genre_from_text(text: str) -> str | None:
    """Exact name or alias (any case, any spacing) -> canonical genre, else a close typo."""
    phrase = _phrase(str(text))
    if phrase in GENRE_PHRASES:
        return GENRE_PHRASES[phrase]
    meaning = fuzzy_lookup("".join(phrase)) if phrase else None
    if meaning and meaning[0] in ("genre", "genre_weak"):
        return meaning[1]
    return None


def mood_from_text(text: str) -> str | None:
    """A mood or a synonym ("gloomy") -> canonical mood ("dark"), else None."""
    phrase = _phrase(str(text))
    for category, value in PHRASES.get(phrase, ()):
        if category in ("mood", "mood_more"):
            return value
    meaning = fuzzy_lookup("".join(phrase)) if phrase else None
    if meaning and meaning[0] == "mood":
        return meaning[1]
    return None
