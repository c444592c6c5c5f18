"""The sound measures themselves, against signals whose answer is known."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from tests import sound_measure as measure
from tests.audio_fixtures import write_wav

SR = 44100


def noise(seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1


def test_correlation_reads_mono_as_one_and_independent_sides_as_zero() -> None:
    left = noise(2.0, 1)
    assert measure.lr_correlation(np.stack([left, left], axis=1), SR) == pytest.approx(1.0)
    wide = np.stack([left, noise(2.0, 2)], axis=1)
    assert abs(measure.lr_correlation(wide, SR)) < 0.05
    # Half shared, half independent: r = 0.5.
    shared = np.stack([left + noise(2.0, 3), left + noise(2.0, 4)], axis=1)
    assert measure.lr_correlation(shared, SR) == pytest.approx(0.5, abs=0.05)


def test_correlation_in_a_band_sees_only_that_band() -> None:
    t = np.arange(2 * SR) / SR
    bass = np.sin(2 * np.pi * 50 * t)
    audio = np.stack([bass + noise(2.0, 1), bass + noise(2.0, 2)], axis=1)
    assert measure.lr_correlation(audio, SR, high=120.0) > 0.95
    assert abs(measure.lr_correlation(audio, SR, low=1000.0)) < 0.1


def test_bar_levels_and_lift_follow_the_level_of_each_bar() -> None:
    bpm, bar = 120.0, 2.0  # one bar = 2 s
    gains = [0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5]  # bar 5 is 6 dB up
    x = np.concatenate([noise(bar, k) * g for k, g in enumerate(gains)])
    levels = measure.bar_levels(np.stack([x, x], axis=1), SR, bpm)
    assert len(levels) == len(gains)
    assert levels[5] - levels[4] == pytest.approx(6.02, abs=0.3)
    assert measure.bar_lift(levels) == pytest.approx(6.02, abs=0.3)


def test_decay_time_of_an_exponential_hit() -> None:
    # -20 dB after t where 20*log10(e^(-t/tau)) = -20  ->  t = tau * ln(10).
    tau = 0.1
    t = np.arange(int(1.0 * SR)) / SR
    hit = np.sin(2 * np.pi * 60 * t) * np.exp(-t / tau)
    x = np.concatenate([hit, hit])
    times = measure.decay_times(x, SR, onsets=[0.0, 1.0])
    assert times == pytest.approx([tau * np.log(10)] * 2, abs=0.03)
    # A hit that rings into the next one reads as the whole gap (a lower bound).
    slow = np.concatenate([np.sin(2 * np.pi * 60 * t) * np.exp(-t / 2.0)] * 2)
    assert measure.decay_times(slow, SR, onsets=[0.0, 1.0])[0] == pytest.approx(1.0, abs=0.03)


def test_band_fractions_split_a_two_tone_signal() -> None:
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 10000 * t)
    low, high = measure.band_fractions(x, SR, [5000])
    assert low == pytest.approx(0.5, abs=0.01) and high == pytest.approx(0.5, abs=0.01)


def write_midi(path: Path, tracks: dict[str, list[tuple[int, float, float]]], bends=()) -> Path:
    """Tracks of (pitch, start beat, end beat); `bends` = (track, beat) pitch-bend points."""
    midi = mido.MidiFile(ticks_per_beat=480)
    for channel, (name, notes) in enumerate(tracks.items()):
        events = []
        for pitch, start, end in notes:
            events.append((round(start * 480), 1, mido.Message("note_on", note=pitch, velocity=90)))
            events.append((round(end * 480), 0, mido.Message("note_off", note=pitch)))
        for track, beat in bends:
            if track == name:
                events.append((round(beat * 480), 2, mido.Message("pitchwheel", pitch=-4096)))
        events.sort(key=lambda e: (e[0], e[1]))
        out = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        now = 0
        for tick, _, message in events:
            out.append(message.copy(channel=channel, time=tick - now))
            now = tick
        midi.tracks.append(out)
    midi.save(str(path))
    return path


def test_swing_ratio_from_hat_onsets(tmp_path: Path) -> None:
    # Triplet swing: the off-8th lands 2/3 into the beat -> ratio 2; straight -> 1.
    swung = [(42, b + o, b + o + 0.1) for b in range(8) for o in (0.0, 2 / 3)]
    straight = [(42, b + o, b + o + 0.1) for b in range(8) for o in (0.0, 0.25, 0.5, 0.75)]
    notes = measure.midi_notes(write_midi(tmp_path / "s.mid", {"hat_closed": swung}))
    assert measure.swing_ratio(notes) == pytest.approx(2.0, abs=0.01)
    notes = measure.midi_notes(write_midi(tmp_path / "t.mid", {"hat_closed": straight}))
    assert measure.swing_ratio(notes) == pytest.approx(1.0, abs=0.01)


def test_jaccard_and_glides_from_midi(tmp_path: Path) -> None:
    a = measure.midi_notes(write_midi(tmp_path / "a.mid", {"melody": [(72, 0, 1), (74, 1, 2)]}))
    b = measure.midi_notes(write_midi(tmp_path / "b.mid", {"melody": [(72, 0, 1), (76, 1, 2)]}))
    assert measure.note_jaccard(measure.note_set(a), measure.note_set(b)) == pytest.approx(1 / 3)
    bass = [(36, 0, 1), (36, 1, 2), (43, 2, 3), (36, 3, 4)]
    notes = measure.midi_notes(
        write_midi(tmp_path / "c.mid", {"bass": bass}, bends=[("bass", 2.5)])
    )
    assert measure.glide_fraction(notes, "bass") == pytest.approx(0.25)


def test_loudness_range_of_a_file_with_a_quiet_and_a_loud_half(tmp_path: Path) -> None:
    x = np.concatenate([noise(10.0, 1) * 0.1, noise(10.0, 2)])
    calm = noise(20.0, 3)
    steady = write_wav(tmp_path / "steady.wav", np.stack([calm, calm], axis=1), SR)
    arc = write_wav(tmp_path / "arc.wav", np.stack([x, x], axis=1), SR)
    assert measure.loudness_range(steady) < 1.0
    assert measure.loudness_range(arc) == pytest.approx(20.0, abs=2.0)
