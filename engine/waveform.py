"""A waveform picture of a clip for chat embeds and the DAW widget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import EngineInputError
from engine.loudness import as_frames

BACKGROUND = (17, 19, 26, 255)
PEAK_COLOUR = (64, 196, 200, 255)  # min/max envelope
RMS_COLOUR = (150, 236, 230, 255)  # the body of the sound, drawn over the peaks
CENTRE_COLOUR = (48, 54, 66, 255)


def _columns(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel column: the lowest and highest sample and the RMS, over all channels."""
    n = len(x)
    per = -(-n // width)
    padded = np.zeros((per * width, x.shape[1]), dtype=np.float32)
    padded[:n] = x
    cols = padded.reshape(width, per * x.shape[1])
    rms = np.sqrt(np.mean(np.square(cols), axis=1))
    return cols.min(axis=1), cols.max(axis=1), rms


def waveform_png(
    audio: np.ndarray, sr: int, path: str | Path, *, width: int = 1200, height: int = 240
) -> Path:
    """Draw the clip's min/max envelope (with an RMS core) on a dark background as a PNG.
    `sr` is part of the shared signature; the picture spans the whole clip at any rate."""
    del sr
    if not (16 <= width <= 8000 and 16 <= height <= 4000):
        raise EngineInputError("The waveform picture must be 16-8000 px wide and 16-4000 high.")
    x = as_frames(audio)
    low, high, rms = _columns(x, width)
    half = (height - 1) / 2.0
    scale = half * 0.95 / max(1e-9, float(max(np.abs(low).max(), np.abs(high).max())))
    rows = np.arange(height, dtype=np.float32)[:, None]
    top = half - np.maximum(high, 0.0) * scale
    bottom = half - np.minimum(low, 0.0) * scale
    peaks = (rows >= np.floor(top)[None, :]) & (rows <= np.ceil(bottom)[None, :])
    body = np.abs(rows - half) <= np.maximum(rms * scale, 0.5)[None, :]
    image = np.empty((height, width, 4), dtype=np.uint8)
    image[:] = BACKGROUND
    image[round(half)] = CENTRE_COLOUR
    image[peaks] = PEAK_COLOUR
    image[peaks & body] = RMS_COLOUR
    out = Path(path)
    tmp = out.with_name(f".{out.name}.part")
    Image.fromarray(image, "RGBA").save(tmp, format="PNG", optimize=False)
    tmp.replace(out)
    return out
