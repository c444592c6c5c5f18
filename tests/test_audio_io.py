"""decode: every container ffmpeg makes, every way a file can be bad; write_audio; waveform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from engine.audio_io import decode, probe, write_audio
from engine.errors import AudioInputError, EngineInputError
from engine.loudness import integrated_lufs
from engine.waveform import waveform_png
from tests.audio_fixtures import ffmpeg_convert, test_mix, write_wav

SR = 44100


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, np.ndarray]:
    audio = test_mix(4.0, seed=31, lufs=-16.0)
    path = write_wav(tmp_path_factory.mktemp("src") / "source.wav", audio, SR)
    return path, audio


CONVERSIONS = {
    "aiff": ("song.aiff", ()),
    "flac": ("song.flac", ()),
    "mp3": ("song.mp3", ("-b:a", "192k")),
    "ogg": ("song.ogg", ("-c:a", "libvorbis", "-q:a", "6")),
    "m4a": ("song.m4a", ("-c:a", "aac", "-b:a", "192k")),
    "mono": ("mono.wav", ("-ac", "1")),
    "48k": ("hi.wav", ("-ar", "48000")),
    "22k": ("lo.wav", ("-ar", "22050")),
    "5.1": ("surround.flac", ("-af", "pan=5.1|FL=c0|FR=c1|FC=c0|LFE=c1|BL=c0|BR=c1")),
}


@pytest.mark.parametrize("kind", sorted(CONVERSIONS))
def test_decodes_what_ffmpeg_writes(source, tmp_path: Path, kind: str) -> None:
    src, audio = source
    name, args = CONVERSIONS[kind]
    path = ffmpeg_convert(src, tmp_path / name, *args)
    out = decode(path, sr=SR)
    assert out.dtype == np.float32 and out.ndim == 2 and out.shape[1] == 2
    assert abs(len(out) - len(audio)) < 0.06 * SR  # codecs pad a frame or two
    # Same music: loudness within a dB (mono/5.1 fold-downs shift it a little).
    assert integrated_lufs(out, SR) == pytest.approx(integrated_lufs(audio, SR), abs=1.5)
    info = probe(path)
    assert info.duration == pytest.approx(4.0, abs=0.1)


def test_resamples_to_the_engine_rate(source, tmp_path: Path) -> None:
    src, _ = source
    path = ffmpeg_convert(src, tmp_path / "hi.wav", "-ar", "48000")
    assert len(decode(path, sr=48000)) == 4 * 48000
    assert len(decode(path, sr=SR)) == 4 * SR
    mp3 = ffmpeg_convert(src, tmp_path / "hi.mp3", "-ar", "48000")
    assert abs(len(decode(mp3, sr=SR)) - 4 * SR) < 0.06 * SR


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_bad_files_give_one_sentence(source, tmp_path: Path) -> None:
    src, _ = source
    wav = src.read_bytes()
    cases = {
        "missing": (tmp_path / "nope.wav", "does not exist"),
        "empty": (_bad(tmp_path, "empty.wav", b""), "empty"),
        "random": (
            _bad(tmp_path, "noise.mp3", np.random.default_rng(0).bytes(20000)),
            "not an audio file",
        ),
        "text": (_bad(tmp_path, "notes.mp3", b"these are my lyrics\n" * 50), "not an audio file"),
        "header": (_bad(tmp_path, "head.wav", wav[:30]), "not an audio file"),
        "no frames": (_bad(tmp_path, "cut.wav", wav[:60]), "truncated"),
    }
    for label, (path, phrase) in cases.items():
        with pytest.raises(AudioInputError) as err:
            decode(path, sr=SR)
        message = str(err.value)
        assert phrase in message, (label, message)
        assert "\n" not in message and message.endswith("."), (label, message)


def test_truncated_file_with_some_audio_decodes_what_is_there(source, tmp_path: Path) -> None:
    src, _ = source
    half = _bad(tmp_path, "half.wav", src.read_bytes()[: len(src.read_bytes()) // 2])
    assert len(decode(half, sr=SR)) == pytest.approx(2 * SR, rel=0.02)


def test_silent_file(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "quiet.wav", np.zeros((SR * 2, 2), np.float32), SR)
    with pytest.raises(AudioInputError, match=r"The file quiet\.wav is silent"):
        decode(path, sr=SR)
    mp3 = ffmpeg_convert(path, tmp_path / "quiet.mp3")
    with pytest.raises(AudioInputError, match="silent"):
        decode(mp3, sr=SR)


def test_limits(source, tmp_path: Path) -> None:
    src, _ = source
    with pytest.raises(AudioInputError, match=r"is 0:04 long; the limit is 0:02"):
        decode(src, sr=SR, max_seconds=2)
    mp3 = ffmpeg_convert(src, tmp_path / "long.mp3")
    with pytest.raises(AudioInputError, match=r"is 0:04 long; the limit is 0:02"):
        decode(mp3, sr=SR, max_seconds=2)
    with pytest.raises(AudioInputError, match=r"the limit is 0\.1 MB"):
        decode(src, sr=SR, max_bytes=100_000)
    assert len(decode(src, sr=SR, max_seconds=5, max_bytes=10_000_000)) == 4 * SR


def test_write_formats_and_atomicity(tmp_path: Path) -> None:
    audio = test_mix(2.0, seed=2, lufs=-14.0) * 0.5
    for name, subtype in (("a.wav", "PCM_24"), ("b.flac", "PCM_24")):
        path = write_audio(tmp_path / name, audio, SR)
        assert sf.info(str(path)).subtype == subtype
        back, rate = sf.read(str(path), dtype="float32")
        assert rate == SR and np.abs(back - audio).max() < 1e-4
    write_audio(tmp_path / "c.mp3", audio, SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.flac", "c.mp3"]
    with pytest.raises(EngineInputError, match=r"\.wav, \.flac or \.mp3"):
        write_audio(tmp_path / "d.ogg", audio, SR)
    with pytest.raises(EngineInputError, match="does not exist"):
        write_audio(tmp_path / "nowhere" / "e.wav", audio, SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.flac", "c.mp3"]


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "keep.wav"
    write_audio(target, test_mix(1.0), SR)
    before = target.read_bytes()
    with pytest.raises(AudioInputError):
        write_audio(target, np.full((SR, 2), np.nan, np.float32), SR)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_waveform_png(tmp_path: Path) -> None:
    path = waveform_png(test_mix(5.0), SR, tmp_path / "wave.png", width=640, height=120)
    with Image.open(path) as image:
        assert image.size == (640, 120)
        pixels = np.asarray(image.convert("RGB"))
    column_has_wave = (pixels != pixels[0, 0]).any(axis=2).sum(axis=0)
    assert (column_has_wave > 10).mean() > 0.9  # drawn across the whole width
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) >= 3
    assert [p.name for p in tmp_path.iterdir()] == ["wave.png"]


def test_the_mp3_check_hears_what_ffmpeg_hears(tmp_path: Path) -> None:
    """write_audio measures its MP3s decoded in-process (libsndfile's mpg123); a listener's
    ffmpeg must decode the same samples, or the true-peak check would guard the wrong thing."""
    from engine import audio_io
    from engine.ffmpeg import require_ffmpeg

    assert audio_io._SNDFILE_READS_MP3, "soundfile's wheel (libsndfile >= 1.1) reads MP3"
    mp3 = write_audio(tmp_path / "clip.mp3", test_mix(3.0, seed=5, lufs=-10.0), SR)
    ours = audio_io._decode_encoded(mp3, SR, require_ffmpeg(), 2)
    theirs, rate = sf.read(str(ffmpeg_convert(mp3, tmp_path / "clip.wav", "-c:a", "pcm_f32le")))
    assert rate == SR and ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-4
