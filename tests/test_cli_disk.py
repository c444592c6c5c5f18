"""The disk budget (`storage.max_gb`): real folders of real bytes under a data dir, a real
worker on a real Redis, and `beatbot doctor` as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bot import disk
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.jobs import JobState, JobType
from bot.services import Services
from tests.audio_fixtures import write_tone
from tests.workers import run_worker

ROOT = Path(__file__).resolve().parents[1]
KB = 1024
HOUR = 3600.0


def put(data_dir: Path, area: str, size: int, age_hours: float, name: str | None = None) -> str:
    """A generation or upload folder holding `size` bytes, last written `age_hours` ago."""
    folder_id = name or uuid.uuid4().hex
    folder = data_dir / area / folder_id
    (folder / "stems").mkdir(parents=True)
    (folder / "beat.mp3").write_bytes(os.urandom(size // 2))
    (folder / "stems" / "drums.wav").write_bytes(os.urandom(size - size // 2))
    stamp = time.time() - age_hours * HOUR
    for path in (folder / "stems" / "drums.wav", folder / "stems", folder / "beat.mp3", folder):
        os.utime(path, (stamp, stamp))
    return folder_id


def present(data_dir: Path) -> set[str]:
    return {p.name for area in ("clips", "uploads") for p in (data_dir / area).iterdir()}


def test_prune_removes_the_oldest_whole_folders_until_under_the_budget(tmp_path: Path) -> None:
    oldest = put(tmp_path, "clips", 300 * KB, age_hours=50)
    busy = put(tmp_path, "uploads", 300 * KB, age_hours=40)  # a queued job reads it
    old = put(tmp_path, "clips", 300 * KB, age_hours=30)
    recent = put(tmp_path, "uploads", 300 * KB, age_hours=2)
    newest = put(tmp_path, "clips", 300 * KB, age_hours=1)
    assert disk.usage(tmp_path, 1000 * KB).total == 1500 * KB

    pruned = disk.prune_to_budget(tmp_path, 1000 * KB, keep={busy})

    assert [folder.id for folder in pruned.removed] == [oldest, old]
    assert present(tmp_path) == {busy, recent, newest}
    assert pruned.usage.total == 900 * KB == disk.usage(tmp_path, None).total
    assert not pruned.usage.over and pruned.freed == 600 * KB
    # Under the budget: nothing more goes.
    assert disk.prune_to_budget(tmp_path, 1000 * KB).removed == []


def tiny_budget(data_dir: Path, key_prefix: str, kilobytes: int) -> Settings:
    return load_settings(
        data_dir=data_dir,
        env={
            "BEATBOT_QUEUE__KEY_PREFIX": key_prefix,
            "BEATBOT_STORAGE__MAX_GB": str(kilobytes * KB / disk.GB),
        },
    )


async def test_the_worker_prunes_at_start_and_after_each_job_sparing_what_jobs_use(
    data_dir: Path, key_prefix: str, redis_handle: RedisHandle, redis_client: object
) -> None:
    settings = tiny_budget(data_dir, key_prefix, kilobytes=800)
    services = await Services.open(settings, Secrets.from_env({}), redis_handle)
    try:
        # The oldest thing on disk is the upload (517 KB of WAV) a waiting job will master.
        song = write_tone(data_dir.parent / "song.wav", seconds=3.0)
        upload = await services.store.save_upload(song.read_bytes(), "song.wav")
        stamp = time.time() - 100 * HOUR
        os.utime(upload.path.parent, (stamp, stamp))
        clips = [put(data_dir, "clips", 200 * KB, age_hours=h) for h in (90, 80, 70)]
        job = await services.queue.enqueue(
            JobType.MASTER, {"track_id": upload.file_id, "target_lufs": -14.0}
        )
        assert await disk.ids_in_use(services) == {upload.file_id, job.generation_id}

        # A worker starting (and taking no job): the two oldest clips go, the upload stays.
        await run_worker(settings, redis_handle, max_burst_jobs=0)
        assert present(data_dir) == {upload.file_id, clips[2]}

        # After the job the upload is free to go, and goes with the last old clip; the master
        # just delivered stays, although it alone is over the budget.
        await run_worker(settings, redis_handle)
        record = await services.queue.status(job.job_id)
        assert record.state is JobState.COMPLETED, record.error
        assert present(data_dir) == {job.generation_id}
        assert disk.usage(data_dir, disk.budget_bytes(settings)).over
        master = services.store.files(job.generation_id)
        assert master and all(f.path.is_file() for f in master)
    finally:
        await services.close()


def doctor(data_dir: Path, max_gb: float, redis_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATBOT")}
    env.update(
        REDIS_URL=redis_url,  # the tests' Redis: no embedded one to start for each run
        PYTHONPATH=str(ROOT),
        BEATBOT_STORAGE__DATA_DIR=str(data_dir),
        BEATBOT_STORAGE__MAX_GB=str(max_gb),
    )
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "doctor", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    return checks["disk"]


def test_doctor_reports_usage_against_the_budget(tmp_path: Path, redis_handle: RedisHandle) -> None:
    data_dir = tmp_path / "data"
    for hours in (3, 2, 1):
        put(data_dir, "clips", 1024 * KB, age_hours=hours)
    put(data_dir, "uploads", 512 * KB, age_hours=1)

    fits = doctor(data_dir, 0.01, redis_handle.url)  # 10 MB
    assert fits["status"] == "ok", fits
    assert fits["detail"] == "3.5 MB of 10 MB: 3 clips (3.0 MB), 1 upload (512 KB)"

    over = doctor(data_dir, 0.002, redis_handle.url)  # 2 MB
    assert over["status"] == "missing" and "over storage.max_gb" in over["detail"], over
    assert "storage.max_gb" in over["fix"]

    unlimited = doctor(data_dir, 0, redis_handle.url)
    assert unlimited["status"] == "ok" and "(no budget)" in unlimited["detail"], unlimited
    assert present(data_dir) and len(present(data_dir)) == 4  # doctor only measures
