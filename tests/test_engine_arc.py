"""The mix and the master keep a beat's arc: a section 3 dB under the hook stays about 3 dB
under it through the stem compressors, the bus glue and the limiter at -14 LUFS.

The arc itself is the composer's (density, layers, velocity, drop-outs); here the same beat
is given a synthetic one, every stem 3 dB down outside its hooks, so what the chain does to
a known lift is measured directly (with and without the dip, the difference is the arc)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.compose import BeatSpec, compose
from engine.pipeline import master_stage, mix_stage, render_stage
from tests.sound_measure import bar_levels, loudness_range

SR = 44100
DIP_DB = -3.0
LOUD = ("hook", "drop", "solo")


def _chain(stems: dict[str, np.ndarray], bpm: float) -> np.ndarray:
    mixed = mix_stage({k: v.copy() for k, v in stems.items()}, SR, "balanced", bpm=bpm)
    return master_stage(mixed.mix, SR, -14.0, -1.0, "balanced").audio


@pytest.fixture(scope="module", params=["house", "trap"])
def arc(request):
    genre = request.param
    bpm = {"house": 124, "trap": 150}[genre]
    arrangement = compose(BeatSpec(genre, bpm, "Am", "dark", 40), 1)
    stems = render_stage(arrangement, SR)
    bar = 4 * arrangement.beat_seconds * SR
    loud = np.zeros(arrangement.bars, bool)
    for section in arrangement.sections:
        if section.name in LOUD:
            loud[section.start_bar : section.end_bar] = True
    gain = np.ones(len(stems["kick"]), np.float32)
    for index in np.flatnonzero(~loud):
        gain[round(index * bar) : round((index + 1) * bar)] = 10 ** (DIP_DB / 20)
    ramp = int(0.01 * SR)  # a 10 ms ramp: a fader move, not a click
    gain = np.convolve(gain, np.ones(ramp) / ramp, mode="same").astype(np.float32)
    dipped = {name: audio * gain[:, None] for name, audio in stems.items()}
    return arrangement, loud, stems, dipped


def test_a_3_db_lift_survives_the_mix_and_the_master(arc) -> None:
    arrangement, loud, stems, dipped = arc
    bpm = arrangement.bpm

    def lift(audio: np.ndarray) -> float:
        levels = bar_levels(audio, SR, bpm)[: len(loud)]
        quiet = ~loud[: len(levels)]
        quiet[0] = False  # the first bar's level is the intro's
        return float(levels[loud[: len(levels)]].mean() - levels[quiet].mean())

    kept = lift(_chain(dipped, bpm)) - lift(_chain(stems, bpm))
    # Measured before the section-following compressors: 1.0 dB of the 3 dB survived.
    assert kept >= 2.2, kept


def test_the_loudness_range_is_the_pre_mix_range_give_or_take_a_unit(arc, tmp_path: Path) -> None:
    arrangement, _, _, dipped = arc
    pre_mix = sum(dipped.values())
    pre_mix *= np.float32(0.5 / np.abs(pre_mix).max())
    sf.write(tmp_path / "pre.wav", pre_mix, SR, subtype="FLOAT")
    sf.write(tmp_path / "master.wav", _chain(dipped, arrangement.bpm), SR, subtype="FLOAT")
    before = loudness_range(tmp_path / "pre.wav")
    after = loudness_range(tmp_path / "master.wav")
    assert after >= before - 1.0, (before, after)
