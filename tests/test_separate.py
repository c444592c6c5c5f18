"""Stem separation on a synthesized band whose true sources we know."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import EngineInputError
from engine.separate import STEM_TYPES, Separation, register_backend, separate
from tests.audio_fixtures import band

SR = 44100
TRUTH = {"drums": "drums", "bass": "bass", "melody": "chords", "vocals": "voice"}


@pytest.fixture(scope="module")
def sources() -> dict[str, np.ndarray]:
    stems = band(6.0, SR)
    # Chords wide (left-heavy and right-heavy copies), the voice dead centre.
    chords = stems["chords"].copy()
    chords[:, 0] *= 1.6
    chords[:, 1] *= 0.3
    stems["chords"] = chords
    return stems


@pytest.fixture(scope="module")
def separation(sources: dict[str, np.ndarray]) -> Separation:
    return separate(sum(sources.values()), SR)


def test_all_stems_full_length_and_summing_back(
    sources: dict[str, np.ndarray], separation: Separation
) -> None:
    mix = sum(sources.values())
    assert set(separation.stems) == {*STEM_TYPES, "rest"}
    for stem in separation.stems.values():
        assert stem.shape == mix.shape and stem.dtype == np.float32
    residual = np.sum(list(separation.stems.values()), axis=0) - mix
    assert 20 * np.log10(np.max(np.abs(residual)) + 1e-12) < -60


def test_each_stem_follows_its_true_source(
    sources: dict[str, np.ndarray], separation: Separation
) -> None:
    for stem_name, source_name in TRUTH.items():
        stem = separation.stems[stem_name].mean(axis=1)
        scores = {
            name: np.corrcoef(stem, audio.mean(axis=1))[0, 1] for name, audio in sources.items()
        }
        assert max(scores, key=scores.get) == source_name, (stem_name, scores)
        assert scores[source_name] > 0.5


def test_only_the_requested_stems_plus_rest(sources: dict[str, np.ndarray]) -> None:
    mix = sum(sources.values())
    result = separate(mix, SR, ["bass", "vocals"])
    assert set(result.stems) == {"bass", "vocals", "rest"}
    assert np.allclose(np.sum(list(result.stems.values()), axis=0), mix, atol=1e-5)
    # The rest holds what wasn't asked for: it follows the drums and chords, not the bass.
    rest = result.stems["rest"].mean(axis=1)
    scores = {n: np.corrcoef(rest, a.mean(axis=1))[0, 1] for n, a in sources.items()}
    assert scores["drums"] > scores["bass"] and scores["chords"] > scores["bass"]


def test_the_method_is_honest(separation: Separation) -> None:
    assert separation.method == "dsp"
    assert "not a neural model" in separation.note


def test_bad_requests() -> None:
    audio = np.zeros((SR, 2), np.float32)
    with pytest.raises(EngineInputError, match="drums, bass, melody, vocals"):
        separate(audio, SR, ["guitar"])
    with pytest.raises(EngineInputError, match="no separation backend called 'demucs'"):
        separate(audio, SR, ["drums"], backend="demucs")
    with pytest.raises(EngineInputError, match="too short"):
        separate(audio[:100], SR)


def test_a_backend_can_be_plugged_in(sources: dict[str, np.ndarray]) -> None:
    class Everything:
        name = "all-drums"

        def masks(self, audio: np.ndarray, sr: int):
            from engine.separate import DspSeparator

            masks, spec = DspSeparator().masks(audio, sr)
            ones = np.ones_like(masks["drums"])
            return {"drums": ones, "bass": 0 * ones, "melody": 0 * ones, "vocals": 0 * ones}, spec

    register_backend(Everything())
    mix = sum(sources.values())
    result = separate(mix, SR, ["drums"], backend="all-drums")
    assert np.max(np.abs(result.stems["rest"])) < 1e-3
