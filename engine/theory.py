"""Music theory the composer leans on: keys, scales, chords, progressions, voicings, bass lines.

Pitches are MIDI note numbers (60 = middle C); pitch classes are 0..11 with C = 0.
Progressions are written as Roman numerals relative to the tonic's MAJOR scale, so a minor
key's sixth is "bVI" and a phrygian second is "bII" — one spelling for every key.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineInputError

# Pitch class of every spelling we accept (enharmonics included: E# = F, Cb = B ...).
_LETTER_PC: dict[str, int] = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL: dict[str, int] = {"": 0, "#": 1, "b": -1, "##": 2, "bb": -2}

# The spelling each key is written with (the one with the fewer accidentals, F# over Gb,
# Ebm over D#m); every name here is a valid MIDI key-signature name (mido accepts them).
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

_MINOR_WORDS = {"m", "min", "minor", "mi", "-", "moll"}
_MAJOR_WORDS = {"", "maj", "major", "ma", "dur"}

# Scales and modes as semitone steps from the tonic.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}

# Chord qualities as semitones above the root.
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "5": (0, 7, 12),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "mmaj7": (0, 3, 7, 11),
    "add9": (0, 4, 7, 14),
    "madd9": (0, 3, 7, 14),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "m9": (0, 3, 7, 10, 14),
    "7b9": (0, 4, 7, 10, 13),
    "m11": (0, 3, 7, 10, 14, 17),
    "13": (0, 4, 7, 10, 14, 21),
}

# How a triad grows when a style asks for sevenths (level 1) or ninths (level 2).
_EXTENSIONS: dict[str, tuple[str, str]] = {
    "": ("maj7", "maj9"),
    "m": ("m7", "m9"),
    "dim": ("m7b5", "m7b5"),
    "aug": ("aug", "aug"),
    "sus2": ("sus2", "add9"),
    "sus4": ("sus4", "sus4"),
}
_DEGREE_SEMITONES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_ROMAN = re.compile(r"^(b|#)?(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(°|\+|7|maj7|9)?$")


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class (C = 0) and mode ("major" or "minor")."""

    tonic: int
    mode: str

    @property
    def is_minor(self) -> bool:
        return self.mode == "minor"

    @property
    def name(self) -> str:
        """Canonical spelling, e.g. "F#m", "Bb", "Ebm" (valid for MIDI key signatures)."""
        return (_MINOR_NAMES if self.is_minor else _MAJOR_NAMES)[self.tonic]

    @property
    def uses_flats(self) -> bool:
        return "b" in self.name or self.name in ("F", "Dm", "Gm", "Cm", "Fm")

    def scale(self, mode: str | None = None) -> tuple[int, ...]:
        """Pitch classes of this key's scale (or a mode on the same tonic)."""
        steps = SCALES[mode or self.mode]
        return tuple((self.tonic + step) % 12 for step in steps)

    def pitch(self, octave: int = 4) -> int:
        """The tonic as a MIDI note in `octave` (C4 = 60)."""
        return 12 * (octave + 1) + self.tonic

    def __str__(self) -> str:
        return self.name


def parse_key(text: str) -> Key:
    """ "C", "F#", "Bb", "Cm", "F#m", "Bbm", "c minor", "Gb major", "E#" ... -> Key."""
    raw = (text or "").strip().replace("♯", "#").replace("♭", "b")
    match = re.fullmatch(r"([A-Ga-g])(##|bb|#|b)?\s*([A-Za-z\-]*)", raw)
    if match is None:
        raise EngineInputError(_bad_key(text))
    letter, accidental, rest = match.group(1).upper(), match.group(2) or "", match.group(3)
    if rest == "M":  # "CM" is the jazz shorthand for C major
        rest = "maj"
    rest = rest.lower()
    if rest in _MINOR_WORDS:
        mode = "minor"
    elif rest in _MAJOR_WORDS:
        mode = "major"
    else:
        raise EngineInputError(_bad_key(text))
    tonic = (_LETTER_PC[letter] + _ACCIDENTAL[accidental]) % 12
    return Key(tonic=tonic, mode=mode)


def _bad_key(text: str) -> str:
    return (
        f"I don't know the key {text!r}; use a note name with an optional m for minor, "
        "like C, F#, Bb, Am or F#m."
    )


def note_name(pitch: int, *, flats: bool = False) -> str:
    """MIDI pitch -> "C#4"-style name."""
    names = FLAT_NAMES if flats else SHARP_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class Chord:
    """A chord: root pitch class and a quality from QUALITIES."""

    root: int
    quality: str

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITIES[self.quality]

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)

    @property
    def third(self) -> int:
        return (self.root + self.intervals[1]) % 12

    @property
    def fifth(self) -> int:
        """The fifth's pitch class (the diminished fifth for dim chords)."""
        for interval in self.intervals:
            if interval in (6, 7, 8):
                return (self.root + interval) % 12
        return (self.root + 7) % 12

    def symbol(self, *, flats: bool = False) -> str:
        names = FLAT_NAMES if flats else SHARP_NAMES
        return names[self.root] + self.quality

    def extended(self, level: int) -> Chord:
        """Triad -> seventh (level 1) or ninth (level 2) chord; other qualities unchanged."""
        if level <= 0 or self.quality not in _EXTENSIONS:
            return self
        return Chord(self.root, _EXTENSIONS[self.quality][min(level, 2) - 1])

    def as_power(self) -> Chord:
        """Root + fifth (+ octave): the rock guitar's power chord."""
        return Chord(self.root, "5")


def roman(numeral: str, key: Key) -> Chord:
    """One Roman numeral ("i", "bVI", "ii°", "V7", "bII") in `key` -> Chord."""
    match = _ROMAN.match(numeral)
    if match is None:
        raise ValueError(f"bad Roman numeral {numeral!r}")
    accidental, degree, suffix = match.group(1), match.group(2), match.group(3) or ""
    offset = _DEGREE_SEMITONES[degree.upper()] + {"b": -1, "#": 1, None: 0}[accidental]
    minor = degree.islower()
    if suffix == "°":
        quality = "dim"
    elif suffix == "+":
        quality = "aug"
    elif suffix == "7":
        quality = "m7" if minor else "7"
    elif suffix == "maj7":
        quality = "maj7"
    elif suffix == "9":
        quality = "m9" if minor else "9"
    else:
        quality = "m" if minor else ""
    return Chord((key.tonic + offset) % 12, quality)


# --- progressions ------------------------------------------------------------------------

# Mood colour -> the moods that share a harmonic language.
MOOD_COLOUR: dict[str, str] = {
    "dark": "dark",
    "menacing": "dark",
    "aggressive": "dark",
    "sad": "sad",
    "melancholic": "sad",
    "nostalgic": "sad",
    "happy": "bright",
    "uplifting": "bright",
    "energetic": "bright",
    "hype": "bright",
    "epic": "epic",
    "chill": "smooth",
    "mellow": "smooth",
    "dreamy": "smooth",
    "romantic": "smooth",
    "groovy": "smooth",
    "hypnotic": "hypnotic",
}

# Four-bar loops, one chord per bar (jazz doubles some up in compose). Every loop starts on
# the tonic so the key is never in doubt; colour comes from what follows.
PROGRESSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("minor", "dark"): (
        "i bVI iv V",  # harmonic-minor V: the leading tone's bite
        "i bII i bVII",  # phrygian bII
        "i iv bII V",
        "i bVI ii° V",  # diminished ii
        "i i bVI bII",
    ),
    ("minor", "sad"): ("i bVI bIII bVII", "i iv bVI V", "i bVII bVI bVII", "i v bVI iv"),
    ("minor", "bright"): ("i bVI bIII bVII", "i bIII bVII iv", "i bVII bVI bVII", "i iv bVII bIII"),
    ("minor", "epic"): ("i bVI bIII bVII", "i bVI bVII i", "i bIII bVI bVII"),
    ("minor", "smooth"): ("i iv bVII bIII", "i bVI iv v", "i i ii° V", "i iv v i"),
    ("minor", "hypnotic"): ("i i bVII i", "i i iv i", "i bVI i bVII"),
    ("minor", "jazz"): ("i i ii° V", "i iv ii° V", "i bVI ii° V"),
    # Dark but still major: minor iv and vi darken it, borrowed bVI/bIII would read as minor.
    ("major", "dark"): ("I vi iv V", "I iv I V", "I vi ii V", "I IV iv I"),
    ("major", "sad"): ("I vi IV V", "I iii IV iv", "I V vi IV", "I iv I V"),
    ("major", "bright"): ("I V vi IV", "I IV vi V", "I vi IV V", "I IV I V", "I IV V I"),
    ("major", "epic"): ("I V vi IV", "I bVII IV I", "I IV vi V"),
    ("major", "smooth"): ("I vi ii V", "I IV iii vi", "I iii IV V", "I IV ii V"),
    ("major", "hypnotic"): ("I I IV I", "I I bVII I", "I IV I V"),
    ("major", "jazz"): ("I I ii V", "I vi ii V", "I IV ii V"),
}

# Styles whose chords grow sevenths/ninths (level) by default; rock uses power chords.
EXTENSION_LEVEL: dict[str, int] = {
    "jazz": 2,
    "lo-fi": 2,
    "r&b": 2,
    "hip hop": 1,
    "boom bap": 1,
    "house": 1,
}


def progression(key: Key, genre: str, mood: str, rng: np.random.Generator) -> list[Chord]:
    """A four-chord loop for this genre and mood in `key` (seeded choice among candidates)."""
    colour = "jazz" if genre == "jazz" else MOOD_COLOUR.get(mood, "smooth")
    if genre in ("lo-fi", "r&b") and colour == "bright":
        colour = "smooth"
    candidates = PROGRESSIONS[(key.mode, colour)]
    numerals = candidates[int(rng.integers(len(candidates)))].split()
    chords = [roman(n, key) for n in numerals]
    level = EXTENSION_LEVEL.get(genre, 0)
    if genre == "rock":
        return [c.as_power() for c in chords]
    if level:
        # Home gets a seventh at most: a ninth on the tonic (Fm9, Ebmaj9) puts the second
        # degree on top and the key starts to read as the chord a step up.
        chords = [
            _extend_in_context(
                c, _home_level(level, genre, key) if c.root == key.tonic else level, key
            )
            for c in chords
        ]
        if genre == "jazz" and not key.is_minor:
            # The swing-era tonic is a sixth chord: a melody resting on the root (where
            # tunes end) has no major seventh a half-step under it.
            chords = [
                Chord(c.root, "6") if c.quality == "maj7" and c.root == key.tonic else c
                for c in chords
            ]
    elif colour == "dark" and genre in ("trap", "drill", "dubstep"):
        # A minor-seventh tonic sounds darker without muddying the key.
        chords = [c.extended(1) if c.quality == "m" and c.root == key.tonic else c for c in chords]
    return chords


def _home_level(level: int, genre: str, key: Key) -> int:
    """How far the tonic chord grows: a seventh at most, none on a major home outside jazz.

    A major seventh on home is the relative minor's triad a third up (Cmaj7 holds Em), so
    only jazz, where the ear expects it, keeps it.
    """
    if key.is_minor or genre == "jazz":
        return min(level, 1)
    return 0


def _extend_in_context(chord: Chord, level: int, key: Key) -> Chord:
    """Sevenths that fit the function: dominant V gets a 7 (b9 in minor), the rest grow."""
    if chord.quality == "" and (chord.root - key.tonic) % 12 == 7:
        if key.is_minor:
            return Chord(chord.root, "7b9" if level >= 2 else "7")
        return Chord(chord.root, "9" if level >= 2 else "7")
    if chord.quality == "" and (chord.root - key.tonic) % 12 == 10:
        return Chord(chord.root, "7" if level < 2 else "9")  # bVII7 backdoor dominant
    return chord.extended(level)


# --- voicing -----------------------------------------------------------------------------


def voice(chord: Chord, low: int, high: int, *, rootless: bool = False) -> list[list[int]]:
    """Every close-ish voicing of `chord` inside [low, high]: each pitch class once, span <= 16."""
    pcs = list(dict.fromkeys(chord.pitch_classes))
    if rootless and len(pcs) >= 4:
        pcs = pcs[1:]  # the bass has the root
    if len(pcs) >= 5:
        fifth = chord.fifth
        pcs = [pc for pc in pcs if pc != fifth] or pcs  # five voices muddy; the fifth goes
    options = [[p for p in range(low, high + 1) if p % 12 == pc] for pc in pcs]
    voicings = []
    for combo in itertools.product(*options):
        notes = sorted(combo)
        if notes[-1] - notes[0] <= 16 and len(set(notes)) == len(notes):
            voicings.append(notes)
    if not voicings:  # register too narrow: stack upward from the lowest root
        base = next(p for p in range(low, low + 12) if p % 12 == pcs[0])
        voicings.append(sorted(base + (pc - pcs[0]) % 12 for pc in pcs))
    return voicings


def voice_lead(
    chords: Sequence[Chord],
    low: int = 52,
    high: int = 76,
    *,
    rootless: bool = False,
    tonic: int | None = None,
) -> list[list[int]]:
    """Voicings for a chord sequence that move as little as possible from chord to chord.

    The first chord takes the voicing centred in the register; each next one minimises total
    voice movement (sorted voices matched in order). With `rootless`, extended chords leave
    the root to the bass — except the tonic chord (root == `tonic`): a rootless Fm9 is an
    Ab major seventh, and home should sound like home.
    """
    centre = (low + high) / 2
    result: list[list[int]] = []
    for chord in chords:
        candidates = voice(chord, low, high, rootless=rootless and chord.root != tonic)
        if chord.root == tonic:
            # Home puts its root on top, where the ear listens: Cmaj7 with B on top is
            # half an E minor chord, with C on top it is unmistakably C.
            candidates = [v for v in candidates if v[-1] % 12 == tonic] or candidates
        if not result:
            best = min(candidates, key=lambda v: (abs(float(np.mean(v)) - centre), v))
        else:
            prev = result[-1]
            best = min(candidates, key=lambda v: (_movement(prev, v), v))
        result.append(best)
    return result


def _movement(a: Sequence[int], b: Sequence[int]) -> float:
    if len(a) == len(b):
        return float(sum(abs(x - y) for x, y in zip(a, b, strict=True)))
    # Different sizes: compare nearest neighbours plus a drift penalty.
    cost = sum(min(abs(x - y) for y in b) for x in a) + sum(min(abs(x - y) for y in a) for x in b)
    return cost + abs(float(np.mean(a)) - float(np.mean(b)))


# --- bass --------------------------------------------------------------------------------


def nearest(pc: int, around: float) -> int:
    """The MIDI pitch of pitch class `pc` nearest to `around`."""
    base = round(around)
    candidates = [base + d for d in range(-6, 7) if (base + d) % 12 == pc]
    return min(candidates, key=lambda p: (abs(p - around), p))


def bass_root(chord: Chord, low: int, high: int) -> int:
    """The chord's root inside [low, high] (the lowest one that fits)."""
    return next(p for p in range(low, high + 1) if p % 12 == chord.root)


def approach_note(target: int, key: Key, rng: np.random.Generator) -> int:
    """A note leading into `target`: chromatic from below/above or a scale step."""
    scale = key.scale()
    choice = int(rng.integers(3))
    if choice == 0:
        return target - 1
    if choice == 1:
        return target + 1
    below = [target - d for d in (1, 2) if (target - d) % 12 in scale]
    return below[-1] if below else target - 2


def walking_bass(
    chords: Sequence[Chord], key: Key, rng: np.random.Generator, low: int = 36, high: int = 55
) -> list[list[int]]:
    """Four quarter notes per chord: root, chord/scale tones, then an approach to the next root.

    Lines alternate direction so they walk instead of jumping, and stay inside [low, high].
    """
    scale = key.scale("melodic minor" if key.is_minor else "major")
    bars: list[list[int]] = []
    previous = None
    for index, chord in enumerate(chords):
        target_next = chords[(index + 1) % len(chords)]
        root = (
            bass_root(chord, low, low + 11) if previous is None else nearest(chord.root, previous)
        )
        root = min(max(root, low), high)
        up = root < (low + high) / 2 if rng.random() < 0.8 else root >= (low + high) / 2
        step = 1 if up else -1
        second = _next_in(root, step, set(chord.pitch_classes) | set(scale), low, high)
        third_options = [
            p for p in (second + step, second + 2 * step) if p % 12 in chord.pitch_classes
        ]
        third = third_options[0] if third_options else _next_in(second, step, set(scale), low, high)
        next_root = nearest(target_next.root, third)
        # Chromatic approach from the side the line comes from (never a repeated note).
        fourth = min((next_root - 1, next_root + 1), key=lambda p: (p == third, abs(p - third)))
        line = [root, second, third, fourth]
        bars.append([min(max(p, low), high) for p in line])
        previous = next_root
    return bars


def _next_in(pitch: int, step: int, pcs: set[int], low: int, high: int) -> int:
    candidate = pitch + step
    while candidate % 12 not in pcs:
        candidate += step
    if candidate < low or candidate > high:
        return _next_in(pitch, -step, pcs, low, high) if low <= pitch - step <= high else pitch
    return candidate


def chord_tones_in(chord: Chord, low: int, high: int) -> list[int]:
    """Every chord tone (any octave) in [low, high]."""
    pcs = set(chord.pitch_classes)
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def scale_tones_in(key: Key, low: int, high: int, mode: str | None = None) -> list[int]:
    """Every scale tone (any octave) in [low, high]."""
    pcs = set(key.scale(mode))
    return [p for p in range(low, high + 1) if p % 12 in pcs]
