"""Reading uploads and writing masters.

decode: anything libsndfile reads (WAV, AIFF, FLAC, OGG, ...) is read in-process; anything
else (MP3, M4A, ...) goes through ffmpeg. Either way the result is (frames, 2) float32 at the
engine rate, resampled once. Every way a file can be unusable ends in one AudioInputError
sentence, checked as early and cheaply as possible (size before reading, duration before
decoding).

write_audio: WAV 16/24-bit and FLAC via soundfile, MP3 320k CBR via ffmpeg. Lossy encoding
overshoots the true peak, so an MP3 is decoded back and measured; if it crosses the ceiling the
master is limited a little lower and encoded again. Files appear atomically: written to a temp
name in the same directory, then renamed.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from engine.errors import AudioInputError, EngineInputError
from engine.ffmpeg import find_ffmpeg, require_ffmpeg
from engine.loudness import as_frames, sample_peak, true_peak

WRITE_FORMATS = ("wav", "flac", "mp3")
MP3_BITRATE = "320k"
MIN_SECONDS = 0.1  # shorter than this is a damaged file, not music
SILENCE_PEAK = 10.0 ** (-90.0 / 20.0)  # all samples under -90 dBFS: nothing to hear
DECODE_TIMEOUT = 180  # seconds for one ffmpeg decode
PROBE_TIMEOUT = 30
_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO_RE = re.compile(r"Stream #\S+.*?: Audio: (\w+)[^,]*,\s*(\d+) Hz,\s*([^,]+)")


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds (0.0 when the container does not say)
    sample_rate: int
    channels: int
    codec: str


def clock(seconds: float) -> str:
    """12:00-style length for messages (h:mm:ss past an hour)."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size < 10_000_000 else f"{size / 1_000_000:.0f} MB"


# ---------------------------------------------------------------------------------------------
# Reading


def _check_file(path: Path, max_bytes: int | None) -> int:
    if not path.exists():
        raise AudioInputError(f"The file {path.name} does not exist.")
    if not path.is_file():
        raise AudioInputError(f"{path.name} is a folder, not an audio file.")
    size = path.stat().st_size
    if size == 0:
        raise AudioInputError(f"The file {path.name} is empty (0 bytes); upload it again.")
    if max_bytes is not None and size > max_bytes:
        raise AudioInputError(
            f"The file {path.name} is {_megabytes(size)}; the limit is {_megabytes(max_bytes)}."
        )
    return size


def _check_length(path: Path, seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds + 0.5:
        raise AudioInputError(
            f"The file {path.name} is {clock(seconds)} long; the limit is {clock(max_seconds)}."
        )


# Containers libsndfile reads quietly and well; everything else (MP3, M4A, unknown bytes) goes
# to ffmpeg, which also keeps libmpg123's "Note: ..." chatter off our stderr.
_SNDFILE_MAGIC = (b"RIFF", b"RF64", b"FORM", b"fLaC", b"OggS")


def _sf_info(path: Path) -> sf._SoundFileInfo | None:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head not in _SNDFILE_MAGIC:
        return None
    try:
        return sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError):
        return None


def _probe_ffmpeg(path: Path, ffmpeg: str) -> AudioInfo:
    """Parse `ffmpeg -i` (header only, no decoding) for duration and the first audio stream."""
    try:
        out = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT,
            check=False,
        ).stderr
    except subprocess.TimeoutExpired:
        raise AudioInputError(f"Reading {path.name} took too long; it may be damaged.") from None
    stream = _AUDIO_RE.search(out)
    if stream is None:
        raise AudioInputError(
            f"{path.name} is not an audio file we can read (it may be corrupt or another kind "
            "of file); send WAV, AIFF, FLAC, MP3, OGG or M4A."
        )
    d = _DURATION_RE.search(out)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else 0.0
    layout = stream.group(3).strip()
    channels = {"mono": 1, "stereo": 2}.get(layout, 0)
    if channels == 0:
        m = re.match(r"(\d+)(?:\.(\d+))?", layout)
        channels = sum(int(g) for g in m.groups() if g) if m else 2
    return AudioInfo(duration, int(stream.group(2)), channels, stream.group(1))


def probe(path: str | Path) -> AudioInfo:
    """Duration, rate, channels and codec without decoding; AudioInputError if not audio."""
    p = Path(path)
    _check_file(p, None)
    info = _sf_info(p)
    if info is not None and info.frames > 0:
        return AudioInfo(info.frames / info.samplerate, info.samplerate, info.channels, info.format)
    ffmpeg = find_ffmpeg()
    if ffmpeg is None:
        raise AudioInputError(
            f"{p.name} is not a WAV, AIFF, FLAC or OGG file, and reading other formats needs "
            "ffmpeg (apt-get install ffmpeg or pip install imageio-ffmpeg)."
        )
    return _probe_ffmpeg(p, ffmpeg)


def _resample(x: np.ndarray, rate: int, sr: int) -> np.ndarray:
    if rate == sr:
        return x
    g = math.gcd(rate, sr)
    return signal.resample_poly(x, sr // g, rate // g, axis=0).astype(np.float32)


def _to_stereo(x: np.ndarray) -> np.ndarray:
    channels = x.shape[1]
    if channels == 2:
        return x
    if channels == 1:
        return np.repeat(x, 2, axis=1)
    # More channels, in WAV/FLAC order (FL FR [FC] [LFE] surrounds...): the ITU fold-down,
    # centre and surrounds at -3 dB, LFE dropped, scaled like ffmpeg's so nothing clips.
    left, right = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    centre = x[:, 2] if channels in (3, 5, 6, 7, 8) else None
    first_surround = 2 if centre is None else (4 if channels >= 6 else 3)
    surrounds = x[:, first_surround:]
    k = 0.7071
    if centre is not None:
        left = left + k * centre
        right = right + k * centre
    if surrounds.shape[1]:
        left = left + k * surrounds[:, 0::2].sum(axis=1)
        right = right + k * surrounds[:, 1::2].sum(axis=1) if surrounds.shape[1] > 1 else right
    norm = 1.0 + k * (centre is not None) + k * (surrounds.shape[1] > 0)
    return (np.stack([left, right], axis=1) / norm).astype(np.float32)


def _read_soundfile(
    path: Path, info: sf._SoundFileInfo, max_seconds: float | None
) -> tuple[np.ndarray, int]:
    _check_length(path, info.frames / info.samplerate, max_seconds)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioInputError(
            f"{path.name} is damaged and can't be decoded ({_reason(str(exc))})."
        ) from None
    return data, rate


def _reason(text: str) -> str:
    line = text.strip().splitlines()[-1] if text.strip() else "unknown error"
    return line.rstrip(".")[:160]


def _read_ffmpeg(path: Path, sr: int, max_seconds: float | None) -> np.ndarray:
    ffmpeg = find_ffmpeg()
    if ffmpeg is None:
        raise AudioInputError(
            f"{path.name} is not a WAV, AIFF, FLAC or OGG file, and reading other formats needs "
            "ffmpeg (apt-get install ffmpeg or pip install imageio-ffmpeg)."
        )
    info = _probe_ffmpeg(path, ffmpeg)
    if info.duration:
        _check_length(path, info.duration, max_seconds)
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path)]
    if max_seconds is not None:  # containers can lie about length: never decode far past it
        cmd += ["-t", f"{max_seconds + 1:.3f}"]
    cmd += ["-map", "0:a:0", "-vn", "-ac", "2", "-ar", str(sr)]
    if _has_soxr(ffmpeg):
        cmd += ["-af", "aresample=resampler=soxr:precision=28"]
    cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=DECODE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise AudioInputError(f"Decoding {path.name} took too long; it may be damaged.") from None
    usable = len(out.stdout) // 8 * 8
    audio = np.frombuffer(out.stdout[:usable], dtype="<f4").reshape(-1, 2)
    if len(audio) == 0:
        why = _reason(out.stderr.decode("utf-8", "replace")) if out.stderr else "no audio"
        raise AudioInputError(
            f"{path.name} has no audio we can decode; it may be truncated or corrupt ({why})."
        )
    return audio.copy()


@lru_cache(maxsize=4)
def _has_soxr(ffmpeg: str) -> bool:
    try:
        out = subprocess.run(
            [ffmpeg, "-hide_banner", "-buildconf"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except subprocess.TimeoutExpired:
        return False
    return "--enable-libsoxr" in out


def decode(
    path: str | Path,
    *,
    sr: int = 44100,
    max_bytes: int | None = None,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Decode an audio file to (frames, 2) float32 at `sr`.

    Mono is duplicated to both sides, more than two channels are folded down, and the rate is
    converted once. AudioInputError (one sentence) for a missing, empty, oversized, too long,
    corrupt, truncated, silent or non-audio file.
    """
    p = Path(path)
    _check_file(p, max_bytes)
    info = _sf_info(p)
    if info is not None and info.frames > 0 and info.samplerate > 0:
        data, rate = _read_soundfile(p, info, max_seconds)
        audio = _resample(_to_stereo(data), rate, sr)
    else:
        audio = _read_ffmpeg(p, sr, max_seconds)
    if len(audio) < MIN_SECONDS * sr:
        raise AudioInputError(
            f"{p.name} has almost no audio in it ({len(audio) / sr:.2f} s); "
            "it may be truncated or corrupt."
        )
    _check_length(p, len(audio) / sr, max_seconds)
    if not np.isfinite(audio).all():
        raise AudioInputError(f"{p.name} contains invalid samples; export it again.")
    if sample_peak(audio) < SILENCE_PEAK:
        raise AudioInputError(f"The file {p.name} is silent; send a track with sound in it.")
    return np.ascontiguousarray(audio, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Writing


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in WRITE_FORMATS:
        raise EngineInputError(f"Can't write {path.name}: use a .wav, .flac or .mp3 file name.")
    return fmt


def _temp_beside(path: Path) -> Path:
    """A new empty file next to `path` to write into, then rename. Made with the person's
    umask (0644 under the usual 022), as any file they save: mkstemp's 0600 would survive
    the rename and leave their audio unreadable to everyone else."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def _dither(x: np.ndarray, bits: int) -> np.ndarray:
    """TPDF dither at 1 LSB for 16-bit (deterministic seed: same master, same file)."""
    if bits >= 24:
        return x
    lsb = 1.0 / (2 ** (bits - 1))
    rng = np.random.default_rng(0)
    tpdf = (rng.random(x.shape, dtype=np.float32) - rng.random(x.shape, dtype=np.float32)) * lsb
    return x + tpdf


def _write_pcm(tmp: Path, x: np.ndarray, sr: int, fmt: str, bit_depth: int) -> None:
    subtype = "PCM_16" if bit_depth == 16 else "PCM_24"
    data = np.clip(_dither(x, bit_depth), -1.0, 1.0 - 2.0**-23)
    sf.write(str(tmp), data, sr, format=fmt.upper(), subtype=subtype)


def _encode_mp3(tmp: Path, x: np.ndarray, sr: int, ffmpeg: str) -> None:
    pcm = np.ascontiguousarray(np.clip(x, -1.0, 1.0), dtype="<f4")
    cmd = [
        ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "f32le", "-ar", str(sr), "-ac", str(x.shape[1]), "-i", "-",
        "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, "-f", "mp3", str(tmp),
    ]  # fmt: skip
    try:
        out = subprocess.run(cmd, input=pcm.tobytes(), capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise EngineInputError("Encoding the MP3 took too long; try WAV or FLAC.") from None
    if out.returncode != 0:
        raise EngineInputError(
            f"ffmpeg could not encode the MP3 ({_reason(out.stderr.decode('utf-8', 'replace'))})."
        )


# libsndfile 1.1+ (the soundfile wheels) decodes MP3 in-process with mpg123.
_SNDFILE_READS_MP3 = "MP3" in sf.available_formats()


def _decode_encoded(path: Path, sr: int, ffmpeg: str, channels: int) -> np.ndarray:
    """Decode an MP3 we just encoded, to measure it: in-process where libsndfile reads MP3
    (a third of the time of starting ffmpeg; the samples agree to 2e-6), else with ffmpeg."""
    if _SNDFILE_READS_MP3:
        with contextlib.suppress(RuntimeError, sf.LibsndfileError):
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            if rate == sr and audio.shape[1] == channels:
                return audio
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
           "-f", "f32le", "-ac", str(channels), "-ar", str(sr), "-"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, timeout=DECODE_TIMEOUT, check=False)
    usable = len(out.stdout) // (4 * channels) * 4 * channels
    return np.frombuffer(out.stdout[:usable], dtype="<f4").reshape(-1, channels)


def write_audio(
    path: str | Path,
    audio: np.ndarray,
    sr: int,
    *,
    bit_depth: int = 24,
    ceiling: float | None = -1.0,
) -> Path:
    """Write `audio` as .wav (16/24-bit), .flac or .mp3 (320k CBR), atomically. PCM is
    written as given (clipped to full scale); `ceiling` only steers the MP3 check.

    For MP3 the encoded file is decoded and measured; while its true peak is above `ceiling`
    dBTP the master is limited lower and encoded again. MissingTool without ffmpeg for MP3.
    """
    p = Path(path)
    fmt = _format_of(p)
    if bit_depth not in (16, 24):
        raise EngineInputError(f"A bit depth of {bit_depth} isn't supported; use 16 or 24.")
    x = as_frames(audio)
    if x.shape[1] > 2:
        raise EngineInputError("Only mono or stereo audio can be written.")
    ffmpeg = require_ffmpeg() if fmt == "mp3" else None
    if not p.parent.exists():
        raise EngineInputError(f"The folder {p.parent} does not exist.")
    tmp = _temp_beside(p)
    try:
        if ffmpeg is None:
            _write_pcm(tmp, x, sr, fmt, bit_depth)
        else:
            _write_mp3(tmp, x, sr, ffmpeg, ceiling)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def _write_mp3(tmp: Path, x: np.ndarray, sr: int, ffmpeg: str, ceiling: float | None) -> None:
    from engine.master import HOLD_SLACK_DB, MARGIN_DB, limit_true_peak  # room for the codec

    source = x
    for _ in range(4):
        _encode_mp3(tmp, source, sr, ffmpeg)
        if ceiling is None:
            return
        decoded = _decode_encoded(tmp, sr, ffmpeg, x.shape[1])
        if len(decoded) == 0:
            raise EngineInputError("The MP3 encoder produced no audio; try WAV or FLAC.")
        encoded_peak = true_peak(decoded, sr)
        if encoded_peak <= ceiling - 0.02:
            return
        # The codec adds `rise` dB on top of the PCM's peaks: hold the PCM that much under
        # the ceiling, and always lower than last time, so every try makes progress.
        source_peak = true_peak(source, sr)
        rise = max(0.05, encoded_peak - source_peak)
        wanted = min(ceiling - rise - 0.05, source_peak - 0.05)
        source = limit_true_peak(x, sr, wanted + MARGIN_DB - HOLD_SLACK_DB)
    raise EngineInputError(
        "The MP3 kept overshooting the true-peak ceiling; write WAV or FLAC instead."
    )
