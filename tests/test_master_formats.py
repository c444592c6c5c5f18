"""Every preset in every format, measured independently: ffmpeg's ebur128 and pyloudnorm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from engine.audio_io import decode, write_audio
from engine.master import PRESETS, master_to
from tests.audio_fixtures import dense_mix, ebur128, test_mix

SR = 44100


@pytest.fixture(scope="module")
def masters() -> dict[tuple[str, str], np.ndarray]:
    inputs = {
        "quiet": test_mix(8.0, seed=11, lufs=-24.0),
        "loud": dense_mix(8.0, seed=12) * 0.9,
    }
    return {
        (name, quality): master_to(audio, SR, lufs).audio
        for name, audio in inputs.items()
        for quality, lufs in PRESETS.items()
    }


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
@pytest.mark.parametrize("quality", sorted(PRESETS))
@pytest.mark.parametrize("material", ["quiet", "loud"])
def test_file_measures_the_preset(
    masters: dict, tmp_path: Path, material: str, quality: str, fmt: str
) -> None:
    target = PRESETS[quality]
    path = write_audio(tmp_path / f"master.{fmt}", masters[(material, quality)], SR)
    lufs, peak = ebur128(path)
    assert abs(lufs - target) <= 0.5, f"ffmpeg reads {lufs} LUFS"
    assert peak <= -1.0, f"ffmpeg reads {peak} dBTP"
    decoded = decode(path, sr=SR)
    independent = pyloudnorm.Meter(SR).integrated_loudness(decoded.astype(np.float64))
    assert abs(independent - target) <= 0.5
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind


def test_sixteen_bit_wav_is_dithered_and_on_target(masters: dict, tmp_path: Path) -> None:
    import soundfile as sf

    path = write_audio(tmp_path / "m16.wav", masters[("quiet", "streaming")], SR, bit_depth=16)
    assert sf.info(str(path)).subtype == "PCM_16"
    lufs, peak = ebur128(path)
    assert abs(lufs + 14.0) <= 0.5 and peak <= -1.0
