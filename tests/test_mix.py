"""Mix profiles and auto-mix of user tracks, measured on synthesized material."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import EngineInputError
from engine.loudness import true_peak
from engine.mix import PROFILES, auto_mix, bus_process, classify, mix_stems
from tests.audio_fixtures import band

SR = 44100


@pytest.fixture(scope="module")
def material() -> dict[str, np.ndarray]:
    return band(6.0, SR)


@pytest.fixture(scope="module")
def stems(material: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "drums": material["drums"],
        "bass": material["bass"],
        "chords": material["chords"],
        "melody": material["voice"],
    }


def band_share(audio: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(audio.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    return float(power[(freqs > low) & (freqs < high)].sum() / power.sum())


def test_processed_stems_sum_exactly_to_the_mix(stems: dict[str, np.ndarray]) -> None:
    for profile in PROFILES:
        result = mix_stems(stems, SR, profile, bpm=120)
        assert set(result.stems) == set(stems)
        total = np.sum(list(result.stems.values()), axis=0, dtype=np.float32)
        assert np.max(np.abs(total - result.mix)) < 1e-5
        assert result.mix.shape == (len(stems["drums"]), 2)
        assert np.all(np.isfinite(result.mix))


def test_profiles_sound_different(stems: dict[str, np.ndarray]) -> None:
    mixes = {p: mix_stems(stems, SR, p).mix for p in PROFILES}
    highs = {p: band_share(m, 5000, 20000) for p, m in mixes.items()}
    lows = {p: band_share(m, 20, 120) for p, m in mixes.items()}
    assert highs["bright"] > highs["balanced"] * 1.3 > highs["warm"] * 1.3
    assert lows["bass-heavy"] > lows["balanced"] * 1.15


def test_mixing_is_deterministic(stems: dict[str, np.ndarray]) -> None:
    first = mix_stems(stems, SR, "warm", bpm=100).mix
    mix_stems({"chords": stems["chords"]}, SR, "warm")  # a reverb tail must not leak over
    assert np.array_equal(first, mix_stems(stems, SR, "warm", bpm=100).mix)


def test_unknown_profile_names_the_four(stems: dict[str, np.ndarray]) -> None:
    with pytest.raises(EngineInputError, match="balanced, bass-heavy, bright, warm"):
        mix_stems(stems, SR, "loud")
    with pytest.raises(EngineInputError):
        bus_process(stems["bass"], SR, "muddy")


def test_classify_drums_bass_and_other(material: dict[str, np.ndarray]) -> None:
    assert classify(material["drums"], SR) == "drums"
    assert classify(material["bass"], SR) == "bass"
    assert classify(material["chords"], SR) == "other"
    assert classify(np.zeros((SR, 2), np.float32), SR) == "other"


def test_auto_mix_aligns_levels_and_holds_the_ceiling(material: dict[str, np.ndarray]) -> None:
    tracks = [
        material["drums"] * 3.0,  # far too loud
        material["bass"][: SR * 4],  # shorter
        material["chords"][:, :1] * 0.05,  # mono and far too quiet
    ]
    result = auto_mix(tracks, SR, "balanced", names=["drums.wav", "bass.wav", "keys.wav"])
    assert result.roles == ["drums", "bass", "other"]
    assert result.mix.shape == (len(material["drums"]), 2)  # padded to the longest
    assert result.gains_db[0] < 0 < result.gains_db[2]
    assert true_peak(result.mix, SR) <= -1.0


def test_auto_mix_needs_two_tracks(material: dict[str, np.ndarray]) -> None:
    with pytest.raises(EngineInputError, match="at least two"):
        auto_mix([material["drums"]], SR)
