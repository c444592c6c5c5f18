"""Measure how a beat sounds, from the files a user gets: master, stems and MIDI.

What issue 18 calls "sounds like a producer made it", as numbers:

    loudness_range(path) -> LU                 EBU R128 LRA (ffmpeg's ebur128 filter)
    bar_levels(audio, sr, bpm) -> dB per bar    K-weighted loudness of each bar (ungated)
    bar_lift(levels, after=4) -> dB             loudest bar after `after` over the median bar
    lr_correlation(audio, sr, low, high) -> r   Pearson L/R correlation, optionally in a band
    decay_times(audio, sr, drop_db) -> s        per hit: peak to `drop_db` below it
    band_fractions(audio, sr, edges) -> shares  energy share per frequency band
    midi_notes(path) -> [MidiNote]              every note of a .mid, times in beats
    swing_ratio(notes) -> ratio                 on-beat 8th / off-beat 8th (hats)
    note_jaccard(a, b) -> 0..1                  overlap of (pitch, 16th onset) sets
    glide_fraction(path, track) -> 0..1         share of a track's notes that slide (pitch bend)

Numpy, scipy, pyloudnorm and mido only, so tests and `benchmarks/sound.py` share them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
from scipy import signal

from tests.audio_fixtures import ebur128_full
from tests.audio_measure import mono

# General MIDI hat-family notes: closed, pedal, open hat and ride (the swing carriers).
HAT_NOTES = frozenset({42, 44, 46, 51})


# --- loudness over time ---------------------------------------------------------------------


def loudness_range(path: str | Path) -> float:
    """EBU R128 loudness range (LU) of an audio file, as ffmpeg measures it."""
    return ebur128_full(path)[2]


def bar_levels(
    audio: np.ndarray, sr: int, bpm: float, beats_per_bar: int = 4, start: float = 0.0
) -> np.ndarray:
    """K-weighted loudness (LUFS, ungated) of each whole bar from `start` seconds.

    Ungated mean power per bar: a drop-out bar reads as quiet, as a listener hears it,
    where BS.1770's gate would ignore it.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    meter = pyloudnorm.Meter(sr)
    weighted = x.copy()
    for stage in meter._filters.values():  # the meter's own K-weighting stages, per channel
        for channel in range(weighted.shape[1]):
            weighted[:, channel] = stage.apply_filter(weighted[:, channel])
    bar = 60.0 / bpm * beats_per_bar * sr
    levels = []
    first = round(start * sr)
    count = int((len(x) - first) // bar)
    for k in range(count):
        segment = weighted[first + round(k * bar) : first + round((k + 1) * bar)]
        power = float(np.mean(segment**2, axis=0).sum())
        levels.append(-0.691 + 10 * np.log10(power) if power > 0 else -np.inf)
    return np.array(levels)


def bar_lift(levels: Sequence[float], after: int = 4) -> float:
    """dB from the median bar to the loudest bar at index >= `after` (the hook's lift)."""
    finite = np.array([v for v in levels if np.isfinite(v)])
    tail = np.array([v for v in list(levels)[after:] if np.isfinite(v)])
    if not len(finite) or not len(tail):
        return float("nan")
    return float(tail.max() - np.median(finite))


# --- stereo ---------------------------------------------------------------------------------


def band_pass(x: np.ndarray, sr: int, low: float | None, high: float | None) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band (either edge may be None)."""
    if low and high:
        sos = signal.butter(4, [low, high], btype="bandpass", fs=sr, output="sos")
    elif low:
        sos = signal.butter(4, low, btype="highpass", fs=sr, output="sos")
    elif high:
        sos = signal.butter(4, high, btype="lowpass", fs=sr, output="sos")
    else:
        return x
    return signal.sosfiltfilt(sos, x, axis=0)


def lr_correlation(
    audio: np.ndarray, sr: int, low: float | None = None, high: float | None = None
) -> float:
    """Pearson correlation of left and right (1 = mono, 0 = unrelated), in a band if given."""
    x = band_pass(np.asarray(audio, dtype=np.float64), sr, low, high)
    left, right = x[:, 0] - x[:, 0].mean(), x[:, 1] - x[:, 1].mean()
    denominator = np.sqrt(np.dot(left, left) * np.dot(right, right))
    return float(np.dot(left, right) / denominator) if denominator > 0 else 1.0


def side_to_mid_db(audio: np.ndarray) -> float:
    """Side energy relative to mid energy, dB (-inf for mono)."""
    x = np.asarray(audio, dtype=np.float64)
    mid, side = (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2
    return float(10 * np.log10(np.dot(side, side) / max(np.dot(mid, mid), 1e-30) + 1e-30))


# --- drums ----------------------------------------------------------------------------------


def envelope_db(audio: np.ndarray, sr: int, window: float = 0.025) -> np.ndarray:
    """Sliding-mean power envelope in dB, one value per sample. The default window spans a
    full cycle of a 40 Hz kick, so the envelope follows the hit, not its waveform."""
    power = mono(audio) ** 2
    n = max(1, int(window * sr))
    smooth = np.convolve(power, np.ones(n) / n, mode="same")
    return 10 * np.log10(smooth + 1e-20)


def decay_times(
    audio: np.ndarray,
    sr: int,
    drop_db: float = 20.0,
    onsets: Sequence[float] | None = None,
    min_gap: float = 0.05,
) -> list[float]:
    """Seconds from each hit's peak until its envelope first falls `drop_db` below it.

    Hits are at `onsets` (seconds, e.g. the kick notes of the MIDI file: each hit's peak is
    looked for in the 40 ms after its onset), else the envelope's peaks. A hit that never
    falls that far before the next one reads as the whole gap (a lower bound): a kick still
    ringing when the next one lands counts as long, which it is.
    """
    env = envelope_db(audio, sr)
    if onsets is not None:
        starts = sorted(int(t * sr) for t in onsets if 0 <= t * sr < len(env))
        look = int(0.04 * sr)
        peaks = np.array([s + int(np.argmax(env[s : s + look])) for s in starts], dtype=int)
        bounds = [*starts[1:], len(env)]
    else:
        top = float(env.max())
        peaks, _ = signal.find_peaks(
            env, height=top - 30.0, distance=int(min_gap * sr), prominence=6
        )
        bounds = [*peaks[1:], len(env)]
    times = []
    for peak, end in zip(peaks, bounds, strict=True):
        below = np.nonzero(env[peak:end] <= env[peak] - drop_db)[0]
        times.append((below[0] if len(below) else max(0, end - peak)) / sr)
    return times


def onsets_of(notes: Iterable[MidiNote], track: str, bpm: float) -> list[float]:
    """Seconds at which a MIDI track's notes start."""
    return sorted({n.start * 60.0 / bpm for n in notes if n.track == track})


def band_fractions(audio: np.ndarray, sr: int, edges: Sequence[float]) -> list[float]:
    """Share of the energy in each band between consecutive `edges` (Hz; 0 and sr/2 added)."""
    x = mono(audio)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    bounds = [0.0, *edges, sr / 2 + 1]
    total = float(spectrum.sum()) or 1.0
    return [
        float(spectrum[(freqs >= lo) & (freqs < hi)].sum() / total)
        for lo, hi in itertools.pairwise(bounds)
    ]


# --- MIDI -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MidiNote:
    track: str
    channel: int
    pitch: int
    start: float  # beats
    end: float  # beats
    velocity: int
    bends: bool  # a pitch-bend away from centre while it sounds (a slide)


def midi_notes(path: str | Path) -> list[MidiNote]:
    """Every note in a Standard MIDI File, per track, with times in beats."""
    midi = mido.MidiFile(str(path))
    notes: list[MidiNote] = []
    for track in midi.tracks:
        name, now = "", 0
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        bends: list[tuple[int, int]] = []  # (tick, channel) of off-centre bends
        raw: list[tuple[int, int, int, int, int]] = []
        for message in track:
            now += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "pitchwheel" and message.pitch != 0:
                bends.append((now, message.channel))
            elif message.type == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)] = (now, message.velocity)
            elif message.type in ("note_off", "note_on"):
                started = sounding.pop((message.channel, message.note), None)
                if started is not None:
                    raw.append((message.channel, message.note, started[0], now, started[1]))
        per_beat = midi.ticks_per_beat
        for channel, pitch, on, off, velocity in raw:
            slides = any(c == channel and on <= t < off for t, c in bends)
            notes.append(
                MidiNote(name, channel, pitch, on / per_beat, off / per_beat, velocity, slides)
            )
    return sorted(notes, key=lambda n: (n.start, n.track, n.pitch))


def swing_ratio(notes: Iterable[MidiNote], pitches: frozenset[int] = HAT_NOTES) -> float:
    """Median over beats of (on-beat 8th length) / (off-beat 8th length), from hat onsets.

    A beat counts when it has a hit on the beat and one on its off-8th, which swing moves
    from half a beat (straight, ratio 1) toward two thirds (triplet swing, ratio 2). 16ths
    between them don't count: the window (0.42, 0.74) of a beat holds only the off-8th.
    """
    onsets = sorted({round(n.start, 4) for n in notes if n.pitch in pitches})
    ratios = []
    for beat in sorted({round(t) for t in onsets}):
        on = [t for t in onsets if abs(t - beat) <= 0.06]
        off = [t for t in onsets if beat + 0.42 < t < beat + 0.74]
        if on and off:
            first, second = off[-1] - on[0], beat + 1 - off[-1]
            if second > 0:
                ratios.append(first / second)
    return float(np.median(ratios)) if ratios else float("nan")


def note_set(notes: Iterable[MidiNote], track: str = "melody") -> set[tuple[int, int]]:
    """A track's notes as (pitch, onset on the 16th grid)."""
    return {(n.pitch, round(n.start * 4)) for n in notes if n.track == track}


def note_jaccard(a: set[tuple[int, int]], b: set[tuple[int, int]]) -> float:
    """|a ∩ b| / |a ∪ b| (1 = the same notes, 0 = nothing shared)."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def glide_fraction(notes: Iterable[MidiNote], track: str = "bass") -> float:
    """Share of a track's notes that slide (carry a pitch bend while they sound)."""
    own = [n for n in notes if n.track == track]
    return sum(n.bends for n in own) / len(own) if own else float("nan")
