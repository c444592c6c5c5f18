"""Fault: no ffmpeg on the machine (none on PATH, imageio-ffmpeg not installed).

WAV still works — from `beatbot make` and from a queued job — and anything that needs MP3
fails at once with one sentence saying how to install ffmpeg.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from bot.assistant import replies_for_event
from bot.config import Settings
from bot.connections import RedisHandle
from bot.jobs import JobState
from bot.messages import FailedReply
from bot.services import Services
from engine import ffmpeg
from tests.fault_work import job_events, queue_beat
from tests.workers import run_worker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_ffmpeg(tmp_path: Path) -> dict[str, str]:
    """A PATH with no ffmpeg and a folder that shadows imageio_ffmpeg with an ImportError,
    as on a machine where neither was ever installed."""
    shadow = tmp_path / "shadow"
    (shadow / "imageio_ffmpeg").mkdir(parents=True)
    (shadow / "imageio_ffmpeg" / "__init__.py").write_text(
        'raise ImportError("imageio-ffmpeg is not installed (hidden by a fault test)")\n'
    )
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    return {"PATH": str(empty_bin), "SHADOW": str(shadow)}


def _make(args: list[str], no_ffmpeg: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": no_ffmpeg["PATH"],
        "PYTHONPATH": os.pathsep.join([no_ffmpeg["SHADOW"], str(ROOT)]),
    }
    env.pop("IMAGEIO_FFMPEG_EXE", None)
    env.pop("BEATBOT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "make", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fault_ffmpeg_missing_cli_wav_works_mp3_explains(
    tmp_path: Path, no_ffmpeg: dict[str, str]
) -> None:
    wav = tmp_path / "beat.wav"
    done = _make(["lofi beat at 80 for 3 seconds", "-o", str(wav), "--seed", "1"], no_ffmpeg)
    assert done.returncode == 0, done.stderr
    info = soundfile.info(str(wav))
    assert info.samplerate == 44100 and abs(info.frames / 44100 - 3.0) < 0.1

    mp3 = tmp_path / "beat.mp3"
    done = _make(["lofi beat at 80 for 3 seconds", "-o", str(mp3), "--seed", "1"], no_ffmpeg)
    assert done.returncode == 2, (done.returncode, done.stderr)
    # Stage names may scroll by first; the failure itself is one line, no traceback.
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {ffmpeg.INSTALL_HINT}"], done.stderr
    assert "Traceback" not in done.stderr
    assert not mp3.exists() and not list(tmp_path.glob(".beat.mp3*"))


def test_fault_ffmpeg_stale_imageio_path_reads_as_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IMAGEIO_FFMPEG_EXE pointing at nothing is "not installed", not a crash in an encode."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "gone" / "ffmpeg"))
    ffmpeg.find_ffmpeg.cache_clear()
    try:
        assert ffmpeg.find_ffmpeg() is None
        with pytest.raises(ffmpeg.MissingTool, match="apt-get install ffmpeg"):
            ffmpeg.require_ffmpeg()
    finally:
        ffmpeg.find_ffmpeg.cache_clear()


async def test_fault_ffmpeg_missing_queued_wav_completes_mp3_fails_friendly(
    services: Services,
    settings: Settings,
    redis_handle: RedisHandle,
    no_ffmpeg: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Render processes are spawned with this PATH and this sys.path (spawn copies both).
    monkeypatch.setenv("PATH", no_ffmpeg["PATH"])
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    monkeypatch.syspath_prepend(no_ffmpeg["SHADOW"])
    wav = await queue_beat(services, "make a house beat at 124 for 3 seconds", "w", format="wav")
    mp3 = await queue_beat(services, "make a house beat at 124 for 3 seconds", "m")
    assert mp3.data["format"] == "mp3"
    await run_worker(settings, redis_handle)

    wav = await services.queue.status(wav.job_id)
    assert wav.state is JobState.COMPLETED, wav.error
    assert wav.result is not None and wav.result["main"] == "beat.wav"
    assert {f["kind"] for f in wav.result["files"]} == {"audio", "image"}
    assert "preview" not in {f["kind"] for f in wav.result["files"]}  # no MP3 without ffmpeg
    assert wav.result["previewPath"].endswith("/beat.wav")  # the WAV doubles as the preview

    mp3 = await services.queue.status(mp3.job_id)
    assert mp3.state is JobState.FAILED and mp3.tries == 1  # no retries: it can't get better
    assert mp3.error == ffmpeg.INSTALL_HINT
    failed = [d for n, d in await job_events(services, mp3.job_id) if n == "generation:failed"]
    assert len(failed) == 1
    reply = replies_for_event("generation:failed", failed[0], services.store)
    assert isinstance(reply, FailedReply) and "apt-get install ffmpeg" in reply.text
    assert services.store.files(mp3.generation_id) == []
