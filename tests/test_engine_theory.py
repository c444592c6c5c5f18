"""Theory: keys, scales, progressions per genre and mood, voice leading, bass lines."""

from __future__ import annotations

import itertools

import mido
import numpy as np
import pytest

from engine.errors import EngineInputError
from engine.theory import (
    PROGRESSIONS,
    SCALES,
    Chord,
    Key,
    parse_key,
    progression,
    roman,
    voice_lead,
    walking_bass,
)

SPELLINGS = {
    "C": (0, "major"), "F#": (6, "major"), "Gb": (6, "major"), "Bb": (10, "major"),
    "A#": (10, "major"), "Cm": (0, "minor"), "F#m": (6, "minor"), "Bbm": (10, "minor"),
    "A#m": (10, "minor"), "Ebm": (3, "minor"), "D#m": (3, "minor"), "E#": (5, "major"),
    "Cb": (11, "major"), "c minor": (0, "minor"), "Db major": (1, "major"), "g#m": (8, "minor"),
    "Bb min": (10, "minor"), "F♯m": (6, "minor"), "E♭": (3, "major"), "am": (9, "minor"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SPELLINGS.items())
def test_parse_key_accepts_spellings_and_enharmonics(text: str, expected: tuple[int, str]) -> None:
    key = parse_key(text)
    assert (key.tonic, key.mode) == expected


def test_all_24_keys_round_trip_and_are_valid_midi_key_signatures() -> None:
    names = set()
    for tonic in range(12):
        for mode in ("major", "minor"):
            key = Key(tonic, mode)
            assert parse_key(key.name) == key
            names.add(key.name)
            mido.MetaMessage("key_signature", key=key.name)  # raises for an invalid name
    assert len(names) == 24


@pytest.mark.parametrize("text", ["H", "C minorish", "", "X#", "Cmm", "12"])
def test_parse_key_rejects_nonsense_with_a_sentence(text: str) -> None:
    with pytest.raises(EngineInputError, match="key"):
        parse_key(text)


def test_scales_and_modes() -> None:
    assert parse_key("C").scale() == (0, 2, 4, 5, 7, 9, 11)
    assert parse_key("Am").scale() == (9, 11, 0, 2, 4, 5, 7)
    assert parse_key("D").scale("dorian") == (2, 4, 5, 7, 9, 11, 0)
    assert parse_key("E").scale("phrygian")[1] == 5  # the flat second
    assert all(len(SCALES[m]) == 7 for m in ("lydian", "mixolydian", "locrian", "harmonic minor"))


def test_roman_numerals() -> None:
    key = parse_key("Cm")
    assert roman("i", key) == Chord(0, "m")
    assert roman("bVI", key) == Chord(8, "")
    assert roman("bII", key) == Chord(1, "")
    assert roman("ii°", key) == Chord(2, "dim")
    assert roman("V7", parse_key("C")).pitch_classes == (7, 11, 2, 5)


def _seeds(n: int = 24) -> list[np.random.Generator]:
    return [np.random.default_rng(i) for i in range(n)]


def test_every_loop_starts_on_the_tonic() -> None:
    for (mode, _colour), loops in PROGRESSIONS.items():
        for loop in loops:
            first = roman(loop.split()[0], Key(0, mode))
            assert first.root == 0, loop


def test_dark_minor_has_phrygian_diminished_or_harmonic_colour() -> None:
    key = parse_key("Cm")
    coloured = 0
    for rng in _seeds():
        chords = progression(key, "trap", "dark", rng)
        assert chords[0].root == 0 and chords[0].quality.startswith("m")
        colour = any(
            c.root == 1  # bII
            or c.quality in ("dim", "m7b5")
            or (c.root == 7 and c.quality in ("", "7", "7b9"))  # harmonic-minor V
            for c in chords
        )
        coloured += colour
    assert coloured == 24


def test_happy_major_is_diatonic_and_major_rooted() -> None:
    key = parse_key("G")
    scale = set(key.scale())
    for rng in _seeds():
        chords = progression(key, "pop", "happy", rng)
        assert chords[0] == Chord(7, "")
        assert all(set(c.pitch_classes) <= scale for c in chords)


def test_jazz_uses_extended_chords_and_ii_v() -> None:
    key = parse_key("Bb")
    found_ii_v = False
    for rng in _seeds():
        chords = progression(key, "jazz", "mellow", rng)
        assert all(len(c.intervals) >= 4 for c in chords)
        for a, b in itertools.pairwise(chords):
            if (a.root - key.tonic) % 12 == 2 and (b.root - key.tonic) % 12 == 7:
                found_ii_v = True
    assert found_ii_v


@pytest.mark.parametrize("genre", ["r&b", "lo-fi"])
def test_rnb_and_lofi_use_sevenths_and_ninths(genre: str) -> None:
    for rng in _seeds(8):
        chords = progression(parse_key("Eb"), genre, "romantic", rng)
        assert sum(len(c.intervals) >= 5 for c in chords) >= 2


def test_rock_plays_power_chords() -> None:
    chords = progression(parse_key("E"), "rock", "energetic", np.random.default_rng(0))
    assert all(c.intervals == (0, 7, 12) for c in chords)


def test_voice_leading_moves_smoothly_inside_the_register() -> None:
    key = parse_key("C")
    for rng in _seeds(8):
        chords = progression(key, "pop", "happy", rng) * 2
        voicings = voice_lead(chords, 52, 76)
        for chord, notes in zip(chords, voicings, strict=True):
            assert all(52 <= n <= 76 for n in notes)
            assert {n % 12 for n in notes} == set(chord.pitch_classes)
        for a, b in itertools.pairwise(voicings):
            # Each voice moves a few semitones at most on average: no jumps across the register.
            assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a) <= 3.0


def test_rootless_voicings_keep_the_tonic_root() -> None:
    key = parse_key("Fm")
    chords = [Chord(5, "m9"), Chord(7, "m7b5"), Chord(0, "7b9")]
    voicings = voice_lead(chords, 55, 76, rootless=True, tonic=key.tonic)
    assert any(n % 12 == 5 for n in voicings[0])  # F stays in Fm9
    assert all(n % 12 != 7 for n in voicings[1])  # G left to the bass


def test_walking_bass_walks_roots_and_approaches() -> None:
    key = parse_key("Bb")
    chords = progression(key, "jazz", "mellow", np.random.default_rng(3))
    lines = walking_bass(chords, key, np.random.default_rng(3), 31, 55)
    for index, (chord, line) in enumerate(zip(chords, lines, strict=True)):
        assert len(line) == 4
        assert line[0] % 12 == chord.root
        assert all(31 <= p <= 55 for p in line)
        assert max(abs(a - b) for a, b in itertools.pairwise(line)) <= 7
        assert line[2] != line[3]
        if index + 1 < len(lines):
            # The fourth note leads into the next bar's root by a semitone.
            assert abs(line[3] - lines[index + 1][0]) == 1
