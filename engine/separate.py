"""Stems from a finished mix with classic DSP: drums, bass, melody and vocals.

The built-in backend splits the spectrogram with soft masks that add up to one:
harmonic/percussive separation by median filtering (percussive -> drums), the harmonic part
below ~170 Hz -> bass, centre-panned harmonic content in the voice band -> vocals, and the
remaining harmonic content -> melody. It is approximate (expect bleed), fast, and needs no
model weights. A neural backend can be registered under another name where weights exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import ndimage, signal

from engine.errors import EngineInputError

STEM_TYPES: tuple[str, ...] = ("drums", "bass", "melody", "vocals")

DSP_NOTE = (
    "These stems come from classic DSP separation (harmonic/percussive and stereo-centre "
    "masks), not a neural model: expect some bleed between them."
)

_NPERSEG = 2048
_HOP = 512
_KERNEL = 17  # median filter length, in frames (time) and bins (frequency)
_BASS_HZ = (140.0, 200.0)  # crossover from bass to the rest, smooth between these
_VOICE_HZ = (150.0, 6000.0)


@dataclass
class Separation:
    stems: dict[str, np.ndarray]  # the requested stems plus "rest"; they sum to the input
    method: str
    note: str


class Separator(Protocol):
    name: str

    def masks(self, audio: np.ndarray, sr: int) -> tuple[dict[str, np.ndarray], object]:
        """Per-type soft masks over the STFT, and the STFT they apply to."""
        ...


def _stft(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    freqs, _, spec = signal.stft(
        audio.T, sr, nperseg=_NPERSEG, noverlap=_NPERSEG - _HOP, boundary="even", padded=True
    )
    return freqs, spec.astype(np.complex64)  # (channels, bins, frames)


def _istft(spec: np.ndarray, sr: int, length: int) -> np.ndarray:
    _, audio = signal.istft(spec, sr, nperseg=_NPERSEG, noverlap=_NPERSEG - _HOP, boundary=True)
    audio = audio[:, :length]
    if audio.shape[1] < length:
        audio = np.pad(audio, ((0, 0), (0, length - audio.shape[1])))
    return np.ascontiguousarray(audio.T, dtype=np.float32)


def _ramp(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 below `low`, 1 above `high`, a raised-cosine between: no hard spectral edges."""
    x = np.clip((freqs - low) / (high - low), 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * x)).astype(np.float32)


class DspSeparator:
    name = "dsp"

    def masks(self, audio: np.ndarray, sr: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        freqs, spec = _stft(audio, sr)
        magnitude = np.abs(spec).mean(axis=0)  # the mid's magnitude decides H/P for both sides
        harmonic = ndimage.median_filter(magnitude, size=(1, _KERNEL), mode="nearest")
        percussive = ndimage.median_filter(magnitude, size=(_KERNEL, 1), mode="nearest")
        h2, p2 = harmonic**2, percussive**2
        m_harm = h2 / (h2 + p2 + 1e-12)
        low = 1.0 - _ramp(freqs, *_BASS_HZ)[:, None]
        if spec.shape[0] == 2:
            left, right = spec
            # 1 where left and right agree (panned centre), 0 where they differ.
            centre = 1.0 - np.abs(left - right) / (np.abs(left) + np.abs(right) + 1e-9)
            centre = np.clip(centre, 0.0, 1.0) ** 2
        else:
            centre = np.ones_like(m_harm)
        voice_band = (
            _ramp(freqs, _VOICE_HZ[0] * 0.7, _VOICE_HZ[0])
            * (1.0 - _ramp(freqs, _VOICE_HZ[1], _VOICE_HZ[1] * 1.5))
        )[:, None]
        upper = m_harm * (1.0 - low)
        vocals = upper * centre * voice_band
        masks = {
            "drums": 1.0 - m_harm,
            "bass": m_harm * low,
            "vocals": vocals,
            "melody": upper - vocals,
        }
        return {name: mask.astype(np.float32) for name, mask in masks.items()}, spec


_BACKENDS: dict[str, Separator] = {"dsp": DspSeparator()}


def register_backend(separator: Separator) -> None:
    """Make another separator (e.g. a neural one with local weights) available by name."""
    _BACKENDS[separator.name] = separator


def separate(
    audio: np.ndarray,
    sr: int,
    types: Sequence[str] = STEM_TYPES,
    backend: str = "dsp",
) -> Separation:
    """Only the requested stems, plus "rest" so that everything sums back to the input."""
    wanted = list(dict.fromkeys(types))
    unknown = [t for t in wanted if t not in STEM_TYPES]
    if unknown or not wanted:
        raise EngineInputError(
            f"I can split into {', '.join(STEM_TYPES)}; "
            f"{', '.join(unknown) or 'nothing'} isn't one of them."
        )
    if backend not in _BACKENDS:
        raise EngineInputError(
            f"There is no separation backend called {backend!r}; available: "
            f"{', '.join(sorted(_BACKENDS))}."
        )
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if len(audio) < _NPERSEG:
        raise EngineInputError("The track is too short to split into stems (under 0.05 s).")
    masks, spec = _BACKENDS[backend].masks(audio, sr)
    stems: dict[str, np.ndarray] = {}
    for name in wanted:
        stems[name] = _istft(spec * masks[name][None], sr, len(audio))
    # The rest is defined by subtraction, so the stems add back to the input exactly.
    stems["rest"] = audio - np.sum(list(stems.values()), axis=0, dtype=np.float32)
    note = DSP_NOTE if backend == "dsp" else f"Separated with the {backend} backend."
    return Separation(stems=stems, method=backend, note=note)
