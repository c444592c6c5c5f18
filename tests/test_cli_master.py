"""`beatbot master` as a person runs it: a real subprocess, real files, real meters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.audio_io import decode
from engine.loudness import integrated_lufs
from tests.audio_fixtures import ebur128, ffmpeg_convert, test_mix, write_wav

SR = 44100


def run(*args: str, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "BEATBOT_STORAGE__DATA_DIR": str(tmp / "data"), **(env or {})}
    full_env.pop("BEATBOT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "master", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        cwd=Path(__file__).resolve().parents[1],
    )


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("song")
    wav = write_wav(folder / "song.wav", test_mix(6.0, seed=41, lufs=-22.0), SR)
    return ffmpeg_convert(wav, folder / "song.mp3", "-b:a", "256k")


def test_master_to_club_mp3_with_preview_and_summary(song: Path, tmp_path: Path) -> None:
    out, preview = tmp_path / "club.mp3", tmp_path / "ab.wav"
    done = run(str(song), "-o", str(out), "--quality", "club", "--preview", str(preview),
               tmp=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "before: -22.0 LUFS" in done.stdout
    assert "after:  -8.0 LUFS" in done.stdout or "after:  -8.1 LUFS" in done.stdout
    assert "dBTP" in done.stdout and "LRA" in done.stdout
    assert str(out) in done.stdout and str(preview) in done.stdout
    lufs, peak = ebur128(out)
    assert abs(lufs + 8.0) <= 0.5 and peak <= -1.0
    clip = decode(preview, sr=SR)
    assert len(clip) > 2 * 5.9 * SR  # the whole 6 s song, twice, with a gap


def test_custom_lufs_to_flac(song: Path, tmp_path: Path) -> None:
    out = tmp_path / "quiet.flac"
    done = run(str(song), "-o", str(out), "--lufs", "-16", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    lufs, peak = ebur128(out)
    assert abs(lufs + 16.0) <= 0.5 and peak <= -1.0


def test_reference_master(song: Path, tmp_path: Path) -> None:
    ref = write_wav(tmp_path / "ref.wav", test_mix(6.0, seed=42, lufs=-11.0), SR)
    out = tmp_path / "matched.wav"
    done = run(str(song), "-o", str(out), "--reference", str(ref), "--amount", "1", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert integrated_lufs(decode(out, sr=SR), SR) == pytest.approx(-11.0, abs=0.5)


def _bad_inputs(folder: Path, song: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    junk = folder / "junk.mp3"
    junk.write_bytes(np.random.default_rng(1).bytes(5000))
    text = folder / "lyrics.mp3"
    text.write_text("la la la\n" * 100)
    cut = folder / "cut.wav"
    cut.write_bytes(write_wav(folder / "whole.wav", test_mix(1.0), SR).read_bytes()[:40])
    silent = write_wav(folder / "silent.wav", np.zeros((SR * 2, 2), np.float32), SR)
    return {
        "missing": ([str(folder / "nope.wav")], {}),
        "empty": ([str(empty)], {}),
        "random bytes": ([str(junk)], {}),
        "text as mp3": ([str(text)], {}),
        "truncated header": ([str(cut)], {}),
        "silent": ([str(silent)], {}),
        "too long": ([str(song)], {"BEATBOT_LIMITS__MAX_UPLOAD_SECONDS": "3"}),
        "too big": ([str(song)], {"BEATBOT_LIMITS__MAX_UPLOAD_MB": "0.01"}),
        "both targets": ([str(song), "--quality", "cd", "--lufs", "-9"], {}),
        "crazy target": ([str(song), "--lufs", "-1"], {}),
        "bad amount": ([str(song), "--reference", str(song), "--amount", "2"], {}),
    }


def test_bad_input_is_one_line_exit_2_and_nothing_written(song: Path, tmp_path: Path) -> None:
    for label, (args, env) in _bad_inputs(tmp_path, song).items():
        out = tmp_path / "out.wav"
        done = run(args[0], "-o", str(out), *args[1:], tmp=tmp_path, env=env)
        assert done.returncode == 2, (label, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (label, done.stderr)
        assert "Traceback" not in done.stderr
        assert not out.exists(), label
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_unknown_output_format_is_refused_before_decoding(song: Path, tmp_path: Path) -> None:
    done = run(str(song), "-o", str(tmp_path / "out.ogg"), tmp=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: The output out.ogg needs one of these endings: .wav, .flac, .mp3."
    )
