"""What every "several takes" test measures: the takes' audio differs, and they rendered
side by side (their render intervals overlap)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
from scipy import signal

from bot.jobs import JobRecord
from tests.audio_measure import mono


def audio_of(source: Path | bytes | bytearray) -> tuple[np.ndarray, int]:
    """Mono samples and rate of a clip file or its bytes."""
    if isinstance(source, bytes | bytearray):
        data, sr = soundfile.read(io.BytesIO(bytes(source)))
    else:
        data, sr = soundfile.read(source)
    return mono(data), sr


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two clips over their common length: 1.0 = the same audio."""
    n = min(len(a), len(b))
    x, y = a[:n], b[:n]
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))


def above_the_kick(audio: np.ndarray, sr: int) -> np.ndarray:
    """What plays above 300 Hz (chords, melody, hats): a four-on-the-floor kick lines two
    takes up however different the rest is, so the comparison leaves it out."""
    return signal.sosfilt(signal.butter(4, 300, "highpass", fs=sr, output="sos"), audio)


def assert_takes_differ(clips: Sequence[Path | bytes | bytearray], seconds: float) -> None:
    """Every take is a whole, audible clip of the asked length, and no two sound alike: the
    difference of any two is within 10 dB of the clip itself, and above the kick they
    correlate less than 0.8 (measured: 0.15-0.6 for seeds one apart)."""
    decoded = [audio_of(c) for c in clips]
    for audio, sr in decoded:
        assert abs(len(audio) / sr - seconds) < 0.3, len(audio) / sr
        assert np.sqrt(np.mean(audio**2)) > 0.01  # not silence
    for (a, sr), (b, _) in itertools.combinations(decoded, 2):
        n = min(len(a), len(b))
        assert np.linalg.norm(a[:n] - b[:n]) > 0.3 * np.linalg.norm(a[:n])
        upper = similarity(above_the_kick(a, sr), above_the_kick(b, sr))
        assert upper < 0.8, upper


def assert_rendered_side_by_side(records: Sequence[JobRecord]) -> None:
    """Each take started before any other finished: they were rendered at the same time."""
    started = [r.started_at for r in records]
    finished = [r.finished_at for r in records]
    assert all(s is not None for s in started) and all(f is not None for f in finished)
    assert max(started) < min(finished), (started, finished)  # type: ignore[type-var]
