"""Synthesized test material shared by the audio tests: a small band at known levels.

Everything here is deterministic (same args -> identical samples), vectorised and fast enough
to build a 10 s stereo clip in about 0.1-0.2 s. Arrays follow the engine convention:
float32, shape (frames, channels).

    band(seconds, sr, seed)   -> {"drums", "bass", "chords", "voice"} stereo stems
    test_mix(seconds, sr, seed, lufs=None, channels=2)  -> their sum (optionally at a LUFS)
    tones(freqs, seconds, sr, dbfs=-20.0, channels=2)   -> steady sines at a peak level
    sine(freq, seconds, sr, dbfs, channels, phase)      -> one sine
    write_wav(path, audio, sr) / ffmpeg_convert(src, dst, *args) -> files for decode tests
    ebur128(path) -> (integrated LUFS, true peak dBTP) measured by ffmpeg, independent of us

Known levels: each stem of `band` is scaled to STEM_RMS_DBFS (RMS over the whole clip, both
channels), so a test can reason about the balance it starts from.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from engine.ffmpeg import find_ffmpeg

# RMS level (dBFS) of each stem of `band`; the mix sits near -17 dBFS RMS, -16 LUFS, peaks < 0.
STEM_RMS_DBFS: dict[str, float] = {"drums": -23.0, "bass": -22.0, "chords": -26.0, "voice": -24.0}
BPM = 120.0
# A minor: Am - F - C - G, one chord per bar (MIDI roots; chords are root-position triads).
PROGRESSION: tuple[tuple[int, bool], ...] = ((57, True), (53, False), (48, False), (55, False))


def midi_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _as_channels(mono: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def sine(
    freq: float,
    seconds: float,
    sr: int = 44100,
    dbfs: float = -20.0,
    channels: int = 2,
    phase: float = 0.0,
) -> np.ndarray:
    """A steady sine whose PEAK is `dbfs` (a -20 dBFS 997 Hz sine reads -20.04 LUFS mono...
    per channel; BS.1770 sums channels, so stereo reads about 3 LU louder)."""
    t = np.arange(round(seconds * sr)) / sr
    mono = db_to_gain(dbfs) * np.sin(2.0 * np.pi * freq * t + phase)
    return _as_channels(mono, channels)


def tones(
    freqs: float | list[float] | tuple[float, ...],
    seconds: float,
    sr: int = 44100,
    dbfs: float = -20.0,
    channels: int = 2,
) -> np.ndarray:
    """Sum of steady sines (equal amplitude), scaled so the sum's sample peak is `dbfs`."""
    fs = [freqs] if isinstance(freqs, (int, float)) else list(freqs)
    t = np.arange(round(seconds * sr)) / sr
    mono = np.zeros_like(t)
    for i, f in enumerate(fs):
        mono += np.sin(2.0 * np.pi * f * t + 0.7 * i)  # spread phases so peaks don't stack
    peak = float(np.max(np.abs(mono))) or 1.0
    return _as_channels(mono * db_to_gain(dbfs) / peak, channels)


def _rms_db(x: np.ndarray) -> float:
    return float(20.0 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def _place(track: np.ndarray, hit: np.ndarray, start: int, gain: float = 1.0) -> None:
    end = min(len(track), start + len(hit))
    if start < end:
        track[start:end] += gain * hit[: end - start]


def _drums(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    beat = round(60.0 / BPM * sr)
    eighth = beat // 2
    # Kick: a pitch-swept sine (150 -> 45 Hz) with a fast decay, plus a click.
    tk = np.arange(int(0.35 * sr)) / sr
    sweep = 45.0 + 105.0 * np.exp(-tk * 30.0)
    kick = np.sin(2.0 * np.pi * np.cumsum(sweep) / sr) * np.exp(-tk * 9.0)
    kick[: int(0.002 * sr)] += 0.5
    # Snare: a 190 Hz body and band-passed noise.
    ts = np.arange(int(0.25 * sr)) / sr
    noise = rng.standard_normal(len(ts))
    sos_snare = signal.butter(2, [1500.0, min(9000.0, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    snare = 0.5 * np.sin(2.0 * np.pi * 190.0 * ts) * np.exp(-ts * 25.0)
    snare += 0.8 * signal.sosfilt(sos_snare, noise) * np.exp(-ts * 18.0)
    # Closed hat: high-passed noise, very short.
    th = np.arange(int(0.06 * sr)) / sr
    sos_hat = signal.butter(4, min(7000.0, 0.4 * sr), "highpass", fs=sr, output="sos")
    hat = signal.sosfilt(sos_hat, rng.standard_normal(len(th))) * np.exp(-th * 70.0)

    left = np.zeros(n)
    right = np.zeros(n)
    for i, start in enumerate(range(0, n, eighth)):
        vel = 0.85 + 0.15 * rng.random()
        if i % 4 == 0:
            _place(left, kick, start, vel)
            _place(right, kick, start, vel)
        if i % 4 == 2:
            _place(left, snare, start, 0.9 * vel)
            _place(right, snare, start, 0.9 * vel)
        _place(left, hat, start, 0.25 * vel)  # hats a little right of centre
        _place(right, hat, start, 0.4 * vel)
    return np.stack([left, right], axis=1)


def _chord_roots(n: int, sr: int) -> list[tuple[int, int, int, bool]]:
    """(start, end, root, minor) per bar, cycling through PROGRESSION."""
    bar = round(4 * 60.0 / BPM * sr)
    out = []
    for i, start in enumerate(range(0, n, bar)):
        root, minor = PROGRESSION[i % len(PROGRESSION)]
        out.append((start, min(n, start + bar), root, minor))
    return out


def _bass(n: int, sr: int) -> np.ndarray:
    mono = np.zeros(n)
    quarter = round(60.0 / BPM * sr)
    sos = signal.butter(2, 400.0, "lowpass", fs=sr, output="sos")
    for start, end, root, _minor in _chord_roots(n, sr):
        f = midi_hz(root - 24)
        for q in range(start, end, quarter):
            length = min(end, q + quarter) - q
            t = np.arange(length) / sr
            saw = signal.sawtooth(2.0 * np.pi * f * t)
            env = np.minimum(1.0, t / 0.005) * np.exp(-t * 3.0)
            mono[q : q + length] += saw * env
    mono = signal.sosfilt(sos, mono)
    return _as_channels(mono, 2).astype(np.float64)


def _chords(n: int, sr: int) -> np.ndarray:
    left = np.zeros(n)
    right = np.zeros(n)
    for start, end, root, minor in _chord_roots(n, sr):
        t = np.arange(end - start) / sr
        env = np.minimum(1.0, t / 0.05) * np.minimum(1.0, (t[-1] - t + 1e-9) / 0.05)
        for interval in (0, 3 if minor else 4, 7):
            f = midi_hz(root + interval)
            # Slight detune between the sides gives the chords a wide stereo image.
            left[start:end] += env * (
                np.sin(2 * np.pi * f * 0.998 * t) + 0.3 * np.sin(4 * np.pi * f * t)
            )
            right[start:end] += env * (
                np.sin(2 * np.pi * f * 1.002 * t) + 0.3 * np.sin(4 * np.pi * f * t)
            )
    return np.stack([left, right], axis=1)


def _voice(n: int, sr: int) -> np.ndarray:
    """A sung-vowel-like tone: 220 Hz with vibrato, harmonics shaped by /a/ formants, in
    phrases (1.5 s on, 0.5 s off), panned dead centre like a lead vocal."""
    t = np.arange(n) / sr
    f0 = 220.0 * (1.0 + 0.012 * np.sin(2.0 * np.pi * 5.5 * t))
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    formants = ((800.0, 80.0), (1150.0, 90.0), (2900.0, 120.0))
    mono = np.zeros(n)
    # Harmonic k is Im(z**k) with z = e^{i phase}: one complex multiply per harmonic, no sin().
    z = np.exp(1j * phase)
    zk = np.ones(n, dtype=np.complex128)
    for k in range(1, 17):
        zk *= z
        fk = 220.0 * k
        if fk > 0.45 * sr:
            break
        weight = sum(np.exp(-0.5 * ((fk - fc) / (bw * 2.0)) ** 2) for fc, bw in formants)
        mono += (0.15 / k + weight) * zk.imag
    cycle = np.mod(t, 2.0)
    phrase = np.clip(np.minimum(cycle / 0.08, (1.5 - cycle) / 0.08), 0.0, 1.0)
    return _as_channels(mono * phrase, 2).astype(np.float64)


def band(seconds: float, sr: int = 44100, seed: int = 0) -> dict[str, np.ndarray]:
    """Four stereo float32 stems (drums, bass, chords, voice), each at STEM_RMS_DBFS."""
    n = round(seconds * sr)
    rng = np.random.default_rng(seed)
    raw = {
        "drums": _drums(n, sr, rng),
        "bass": _bass(n, sr),
        "chords": _chords(n, sr),
        "voice": _voice(n, sr),
    }
    out: dict[str, np.ndarray] = {}
    for name, audio in raw.items():
        gain = db_to_gain(STEM_RMS_DBFS[name] - _rms_db(audio))
        out[name] = (audio * gain).astype(np.float32)
    return out


def test_mix(
    seconds: float,
    sr: int = 44100,
    seed: int = 0,
    *,
    lufs: float | None = None,
    gain_db: float = 0.0,
    channels: int = 2,
) -> np.ndarray:
    """The band summed: (n, channels) float32. `lufs` normalises the integrated loudness
    (pyloudnorm, BS.1770-4) to that value; otherwise `gain_db` is applied to the raw sum
    (about -16 LUFS, peaks below 0 dBFS). channels=1 gives an (n, 1) mono fold-down."""
    stems = band(seconds, sr, seed)
    mix = np.sum([s.astype(np.float64) for s in stems.values()], axis=0)
    if channels == 1:
        mix = mix.mean(axis=1, keepdims=True)
    elif channels != 2:
        raise ValueError("channels must be 1 or 2")
    if lufs is not None:
        import pyloudnorm

        meter = pyloudnorm.Meter(sr)
        gain_db = lufs - meter.integrated_loudness(mix)
    return (mix * db_to_gain(gain_db)).astype(np.float32)


# `test_mix` is material, not a test: stop pytest collecting it when a test module imports it.
test_mix.__test__ = False  # type: ignore[attr-defined]


def dense_mix(seconds: float, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """The band with drums and bass pushed up 6 dB: dense, punchy material for club masters."""
    stems = band(seconds, sr, seed)
    mix = 2.0 * (stems["drums"] + stems["bass"]) + stems["chords"] + stems["voice"]
    return mix.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Files and an independent meter


def ffmpeg_path() -> str:
    """The ffmpeg binary, or a failing assertion that says how to get one (never a skip)."""
    path = find_ffmpeg()
    assert path, (
        "ffmpeg is needed for these tests: apt-get install ffmpeg or pip install imageio-ffmpeg"
    )
    return path


def write_wav(path: str | Path, audio: np.ndarray, sr: int, subtype: str = "PCM_24") -> Path:
    sf.write(str(path), audio, sr, subtype=subtype)
    return Path(path)


def ffmpeg_convert(src: str | Path, dst: str | Path, *args: str) -> Path:
    """Convert a file with ffmpeg (extra args go before the output, e.g. "-ar", "48000")."""
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        *args,
        str(dst),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return Path(dst)


_I_RE = re.compile(r"I:\s+(-?[\d.]+|-inf)\s+LUFS")
_PEAK_RE = re.compile(r"Peak:\s+(-?[\d.]+|-inf)\s+dBFS")
_LRA_RE = re.compile(r"LRA:\s+(-?[\d.]+)\s+LU")


def ebur128(path: str | Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file, measured by ffmpeg's ebur128 filter."""
    lufs, peak, _lra = ebur128_full(path)
    return lufs, peak


def ebur128_full(path: str | Path) -> tuple[float, float, float]:
    """(integrated LUFS, true peak dBTP, LRA LU) from ffmpeg's ebur128 summary."""
    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path),
        "-filter_complex", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stderr
    summary = out[out.rfind("Summary:") :]
    i = _I_RE.search(summary)
    p = _PEAK_RE.search(summary)
    r = _LRA_RE.search(summary)
    assert i and p and r, f"could not parse ffmpeg ebur128 summary:\n{summary}"
    return float(i.group(1)), float(p.group(1)), float(r.group(1))


def write_tone(path: Path, seconds: float = 4.0, sr: int = 44100, level: float = 0.1) -> Path:
    """A chord plus a kick-like pulse: enough music for stems, mix and master jobs."""
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    pulse = np.sin(2 * np.pi * 55 * t) * np.exp(-((t % 0.5) * 12))
    audio = (level * (chord + pulse)).astype(np.float32)
    sf.write(path, np.stack([audio, audio * 0.9], axis=1), sr)
    return path
