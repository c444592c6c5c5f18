"""Reference mastering moves loudness and tone toward the reference; A/B preview is fair."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from engine.errors import AudioInputError, EngineInputError
from engine.loudness import integrated_lufs
from engine.master import ab_preview, master_to, master_to_reference
from tests.audio_fixtures import band

SR = 44100


def _low_share_db(audio: np.ndarray) -> float:
    """Energy under 250 Hz relative to energy above 1 kHz (dB): a tonal-balance number."""
    f, pxx = signal.welch(audio.mean(axis=1), fs=SR, nperseg=8192)
    low = pxx[(f > 30) & (f < 250)].sum()
    high = pxx[(f > 1000) & (f < 16000)].sum()
    return float(10 * np.log10(low / high))


@pytest.fixture(scope="module")
def track_and_reference() -> tuple[np.ndarray, np.ndarray]:
    b = band(8.0, seed=21)
    track = (b["drums"] + b["bass"] + b["chords"] + b["voice"]) * 0.5
    r = band(8.0, seed=22)
    # A bass-heavy, dark, loud reference.
    ref = r["drums"] * 0.7 + r["bass"] * 3.0 + r["chords"] * 0.6 + r["voice"] * 0.5
    ref = master_to(ref.astype(np.float32), SR, -10.0).audio
    return track.astype(np.float32), ref


def test_reference_moves_loudness_and_tone(track_and_reference) -> None:
    track, ref = track_and_reference
    result = master_to_reference(track, SR, ref, amount=1.0)
    assert result.after.lufs == pytest.approx(integrated_lufs(ref, SR), abs=0.5)
    assert result.after.true_peak <= -1.0
    before_gap = abs(_low_share_db(track) - _low_share_db(ref))
    after_gap = abs(_low_share_db(result.audio) - _low_share_db(ref))
    assert after_gap < before_gap / 2, (before_gap, after_gap)


def test_half_amount_goes_half_way(track_and_reference) -> None:
    track, ref = track_and_reference
    own, target = integrated_lufs(track, SR), integrated_lufs(ref, SR)
    half = master_to_reference(track, SR, ref, amount=0.5)
    assert half.after.lufs == pytest.approx((own + target) / 2, abs=0.5)
    full_share = _low_share_db(master_to_reference(track, SR, ref, amount=1.0).audio)
    assert _low_share_db(track) < _low_share_db(half.audio) < full_share


def test_amount_zero_keeps_the_tone(track_and_reference) -> None:
    track, ref = track_and_reference
    result = master_to_reference(track, SR, ref, amount=0.0)
    assert _low_share_db(result.audio) == pytest.approx(_low_share_db(track), abs=0.5)
    assert result.after.lufs == pytest.approx(integrated_lufs(track, SR), abs=0.3)


def test_bad_reference_inputs(track_and_reference) -> None:
    track, _ref = track_and_reference
    with pytest.raises(AudioInputError, match="reference track is silent"):
        master_to_reference(track, SR, np.zeros((SR * 2, 2), np.float32))
    with pytest.raises(EngineInputError, match="between 0 and 1"):
        master_to_reference(track, SR, track, amount=1.5)


def test_ab_preview_is_loudness_matched(track_and_reference) -> None:
    track, _ref = track_and_reference
    mastered = master_to(track, SR, -9.0).audio
    clip = ab_preview(track, mastered, SR, seconds=4.0)
    half = round(4.0 * SR)
    gap = len(clip) - 2 * half
    assert 0.3 * SR < gap < 1.0 * SR
    first, second = clip[:half], clip[half + gap :]
    assert np.abs(clip[half : half + gap]).max() == 0.0
    assert integrated_lufs(first, SR) == pytest.approx(integrated_lufs(second, SR), abs=0.1)
    # The louder master was turned down to the original's level, not the other way round.
    assert integrated_lufs(second, SR) < -9.0 - 1.0
    assert clip[0].tolist() == [0.0, 0.0]  # faded in: no click
