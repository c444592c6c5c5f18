"""What render adds over the notes: filter automation (FilterMove), the impact and downlifter
transitions, and the lo-fi tape (bus low-pass, wow and flutter)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from engine import instruments
from engine import render as render_module
from engine.compose import BeatSpec, FilterMove, NoteEvent, Track, compose
from engine.render import GENRE_TAPE, render
from tests.sound_measure import lr_correlation

SR = 44100


@pytest.fixture(scope="module")
def edm():
    """An edm beat without the composer's own automation (each test adds the moves it
    measures)."""
    arrangement = replace(compose(BeatSpec("edm", 128, "Fm", "energetic", 16), 3), automation=())
    return arrangement, render(arrangement, sr=SR)


def band_db(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(np.asarray(x, np.float64).mean(axis=-1))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float(10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].sum() + 1e-30))


def frames_of(arrangement, beat: float) -> int:
    return round(beat * arrangement.beat_seconds * SR)


def test_a_low_pass_move_darkens_its_stems_only_inside_the_move(edm) -> None:
    arrangement, plain = edm
    move = FilterMove(("chords", "drums"), 4.0, 12.0, "lowpass", 500.0, 500.0)
    moved = render(replace(arrangement, automation=(move,)), sr=SR)
    start, end = frames_of(arrangement, 4.0), frames_of(arrangement, 12.0)
    fade = int(0.01 * SR)
    for name in ("chords", "hats", "snare"):
        before, after = plain[name], moved[name]
        assert np.array_equal(before[:start], after[:start]), name
        inside = slice(start + fade, end - fade)
        if not np.any(before[inside]):
            continue
        darker = band_db(before[inside], 3000, 16000) - band_db(after[inside], 3000, 16000)
        assert darker > 20.0, (name, darker)
    for name in ("bass", "melody", "kick"):  # not named, and "drums" names the four drum stems
        untouched = name in ("bass", "melody")
        assert np.array_equal(plain[name], moved[name]) == untouched, name


def test_a_sweep_opens_smoothly_and_never_clicks(edm) -> None:
    arrangement, _ = edm
    chord = [NoteEvent(0.0, 20.0, float(p), 0.8) for p in (53, 60, 65, 68)]
    pad = Track("chords", "pitched", "supersaw", "chords", chord, width=0.6)
    held = replace(arrangement, tracks={"chords": pad}, sidechain=0.0)
    move = FilterMove(("chords",), 0.0, 16.0, "lowpass", 200.0, 12000.0)
    plain = render(held, sr=SR)["chords"]
    moved = render(replace(held, automation=(move,)), sr=SR)["chords"]
    span = frames_of(arrangement, 16.0)
    tops = [band_db(q, 2000, 16000) for q in np.array_split(moved[:span], 4)]
    open_tops = [band_db(q, 2000, 16000) for q in np.array_split(plain[:span], 4)]
    assert all(b > a + 2 for a, b in itertools.pairwise(tops))  # it opens bar by bar ...
    assert tops[0] < open_tops[0] - 20 and tops[-1] > open_tops[-1] - 4  # ... dark to open
    # No step where the move ends bigger than the chord's own steps.
    end = frames_of(arrangement, 16.0)
    steps = np.abs(np.diff(moved[end - 2000 : end + 2000], axis=0)).max()
    assert steps <= 1.5 * np.abs(np.diff(plain, axis=0)).max()
    again = render(replace(held, automation=(move,)), sr=SR)["chords"]
    assert np.array_equal(moved, again)  # deterministic


def test_a_high_pass_move_thins_the_bass() -> None:
    arrangement = replace(compose(BeatSpec("dubstep", 140, "Fm", "dark", 14), 2), automation=())
    plain = render(arrangement, sr=SR)["bass"]
    move = FilterMove(("bass",), 0.0, arrangement.beats, "highpass", 400.0, 400.0)
    thin = render(replace(arrangement, automation=(move,)), sr=SR)["bass"]
    assert band_db(plain, 20, 120) - band_db(thin, 20, 120) > 25.0
    with pytest.raises(ValueError):
        render(replace(arrangement, automation=(replace(move, kind="bandstop"),)), sr=SR)


def test_an_impact_is_a_mono_boom_under_a_wide_burst_that_rings_its_length() -> None:
    hit = instruments.impact(2.0, sr=SR)
    assert hit.shape == (2 * SR, 2)
    assert lr_correlation(hit, SR, high=150.0) > 0.99  # the boom: the same on both sides
    assert lr_correlation(hit, SR, low=1000.0) < 0.3  # the burst: each side its own noise
    assert np.abs(hit[-10:]).max() < 1e-3  # faded out where the event ends
    assert band_db(hit[: SR // 4], 30, 120) > band_db(hit[: SR // 4], 2000, 8000)  # a boom


def test_a_downlifter_falls_in_pitch_and_level_across_its_length() -> None:
    sweep = instruments.downlifter(3.0, sr=SR)
    assert sweep.shape == (3 * SR, 2) and lr_correlation(sweep, SR) < 0.5
    first, last = sweep[: int(0.6 * SR)], sweep[-int(0.6 * SR) :]

    def centroid(x: np.ndarray) -> float:
        freqs, power = signal.welch(x.mean(axis=1), SR, nperseg=2048)
        return float((freqs * power).sum() / power.sum())

    assert centroid(first) > 3 * centroid(last)
    assert 10 * np.log10(np.mean(first**2) / np.mean(last**2)) > 12.0


def test_fx_tracks_render_where_their_events_are(edm) -> None:
    arrangement, _ = edm
    tracks = {
        "impact": Track("impact", "fx", "impact", "fx", [NoteEvent(16.0, 4.0, 0.0, 0.9)]),
        "downlifter": Track("downlifter", "fx", "downlifter", "fx", [NoteEvent(8.0, 4.0, 0, 1)]),
    }
    fx = render(replace(arrangement, tracks=tracks, sidechain=0.0), sr=SR)["fx"]
    spb = arrangement.beat_seconds
    assert np.abs(fx[: int(7.9 * spb * SR)]).max() == 0.0  # nothing before the first event
    assert np.abs(fx[int(8 * spb * SR) : int(9 * spb * SR)]).max() > 0.01
    hit = int(16 * spb * SR)
    assert np.abs(fx[hit : hit + 2000]).max() > 3 * np.abs(fx[hit - 4000 : hit - 2000]).max()
    assert lr_correlation(fx, SR, low=1000.0) < 0.5  # wide


@pytest.fixture(scope="module")
def lofi():
    arrangement = compose(BeatSpec("lo-fi", 80, "Fm", "chill", 12), 4)
    return arrangement, render(arrangement, sr=SR)


def test_lo_fi_goes_through_a_worn_tape(lofi, monkeypatch) -> None:
    arrangement, taped = lofi
    monkeypatch.setattr(render_module, "GENRE_TAPE", {})
    instruments._note.cache.clear()  # the tape's low-pass lives in the cached sounds
    instruments._drum.cache.clear()
    clean = render(arrangement, sr=SR)
    tape = GENRE_TAPE["lo-fi"]
    for name in ("chords", "hats", "snare"):
        top = band_db(clean[name], 10000, 18000) - band_db(taped[name], 10000, 18000)
        assert top > 12.0, (name, top)  # a low-pass near 7 kHz over everything
    assert tape.lowpass_hz == pytest.approx(7000.0, rel=0.15)


def test_tape_wow_bends_a_held_tone_by_its_cents(lofi) -> None:
    arrangement, _ = lofi
    frames = round(arrangement.duration * SR)
    t = np.arange(frames) / SR
    tone = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    stems = {name: np.zeros((frames, 2), np.float32) for name in ("bass", "chords", "melody")}
    stems["chords"][:] = tone[:, None]
    tape = GENRE_TAPE["lo-fi"]
    render_module._wow_and_flutter(stems, tape, arrangement, SR, wrap=False)
    analytic = signal.hilbert(stems["chords"][SR:-SR, 0])
    freq = np.diff(np.unwrap(np.angle(analytic))) * SR / (2 * np.pi)
    freq = np.convolve(freq, np.ones(441) / 441, mode="valid")  # 10 ms: the wow, not jitter
    cents = 1200 * np.log2(freq / 1000.0)
    assert tape.wow_cents * 0.6 < np.abs(cents).max() < (tape.wow_cents + tape.flutter_cents) * 1.3
    assert abs(np.mean(cents)) < 1.0  # it wobbles round the pitch, it doesn't detune
