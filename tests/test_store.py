"""Files on a real disk: staging, uploads with a size cap, signed links, retention."""

from __future__ import annotations

import asyncio
import os
import stat
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.config import Secrets, Settings
from bot.errors import BadAudio, NotFound
from bot.store import MB, BadLink, ClipStore, safe_filename


def split_link(url: str) -> tuple[str, str, str]:
    """(relative path, exp, sig) as a file server would take them from a link."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    rel = unquote(parts.path.removeprefix("/files/"))
    return rel, query["exp"][0], query["sig"][0]


@pytest.fixture
def store(data_dir: Path) -> ClipStore:
    return ClipStore(data_dir, "test-signing-key", "http://127.0.0.1:8765", 600)


async def finished_generation(store: ClipStore) -> str:
    gid = str(uuid.uuid4())
    async with store.staging(gid) as folder:
        (folder / "beat.mp3").write_bytes(b"ID3 fake-but-bytes")
        (folder / "stems").mkdir()
        (folder / "stems" / "kick.wav").write_bytes(b"RIFF kick")
        store.write_summary(folder, {"main": "beat.mp3", "bpm": 140})
    return gid


async def test_staging_commits_whole_folder_or_nothing(store: ClipStore) -> None:
    gid = str(uuid.uuid4())
    async with store.staging(gid) as folder:
        (folder / "beat.wav").write_bytes(b"x" * 100)
        store.write_summary(folder, {"main": "beat.wav"})
        # Nothing is visible under the generation's folder until the block ends.
        assert not store.generation_dir(gid).exists()
        assert store.read_summary(gid) is None
    assert store.read_summary(gid) == {"main": "beat.wav"}
    assert [(f.name, f.size, f.relative) for f in store.files(gid)] == [
        ("beat.wav", 100, f"clips/{gid}/beat.wav")
    ]

    failed = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with store.staging(failed) as folder:
            (folder / "half.wav").write_bytes(b"half")
            raise RuntimeError("render crashed")
    assert not store.generation_dir(failed).exists()
    assert list(store.staging_root.iterdir()) == []

    # A cancelled job leaves nothing behind either.
    async def cancelled_job() -> None:
        async with store.staging(str(uuid.uuid4())) as folder:
            (folder / "half.wav").write_bytes(b"half")
            await asyncio.sleep(3600)

    task = asyncio.create_task(cancelled_job())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(store.staging_root.iterdir()) == []

    # A second try of the same generation replaces the first copy whole.
    async with store.staging(gid) as folder:
        (folder / "beat.flac").write_bytes(b"y" * 10)
        store.write_summary(folder, {"main": "beat.flac"})
    assert [f.name for f in store.files(gid)] == ["beat.flac"]
    assert store.read_summary(gid) == {"main": "beat.flac"}
    assert list(store.staging_root.iterdir()) == []


async def test_generation_ids_cannot_escape(store: ClipStore) -> None:
    for bad in ("../etc", "..", "a/b", "", ".hidden", "x" * 200, "a b", "%2e%2e"):
        with pytest.raises(NotFound):
            store.generation_dir(bad)
        with pytest.raises(NotFound):
            store.path_for(bad)
    assert store.files(str(uuid.uuid4())) == []


async def test_signed_link_serves_the_file(store: ClipStore) -> None:
    gid = await finished_generation(store)
    for stored in store.files(gid):
        url = store.sign(stored.relative)
        assert url.startswith(f"http://127.0.0.1:8765/files/clips/{gid}/")
        assert store.verify(*split_link(url)) == stored.path.resolve()
    assert {f.name for f in store.files(gid)} == {"beat.mp3", "stems/kick.wav"}  # no summary


async def test_expired_and_tampered_links_are_refused(store: ClipStore) -> None:
    gid = await finished_generation(store)
    rel = f"clips/{gid}/beat.mp3"
    _, exp, sig = split_link(store.sign(rel))

    _, old_exp, old_sig = split_link(store.sign(rel, ttl=-5))
    with pytest.raises(BadLink, match="expired"):
        store.verify(rel, old_exp, old_sig)
    # Moving the expiry forward breaks the signature.
    with pytest.raises(BadLink, match="not valid"):
        store.verify(rel, str(int(exp) + 3600), sig)
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for bad_sig in (flipped, "", sig[:-1], sig + "A", "é" * 43):
        with pytest.raises(BadLink, match="not valid"):
            store.verify(rel, exp, bad_sig)
    with pytest.raises(BadLink):
        store.verify(f"clips/{gid}/stems/kick.wav", exp, sig)  # another file, same signature
    for bad_exp in ("", "soon", "-1", "1e12", "²"):
        with pytest.raises(BadLink):
            store.verify(rel, bad_exp, sig)
    # Another server's key can't make links for this one.
    other = ClipStore(store.root, "another-key", "http://127.0.0.1:8765", 600)
    with pytest.raises(BadLink):
        store.verify(*split_link(other.sign(rel)))


async def test_traversal_attempts_are_refused(store: ClipStore, tmp_path: Path) -> None:
    gid = await finished_generation(store)
    (store.root / "signing.key").write_text("00" * 32)
    secret = tmp_path / "outside.txt"
    secret.write_text("secret")
    attempts = [
        f"clips/{gid}/../../signing.key",
        "clips/../signing.key",
        f"clips/{gid}/%2e%2e/%2e%2e/signing.key",
        f"clips/{gid}/%252e%252e/signing.key",
        f"clips/{gid}/..%2fsigning.key",
        f"clips/{gid}/..\\..\\signing.key",
        "/etc/passwd",
        str(secret),
        f"clips//{gid}/beat.mp3",
        f"./clips/{gid}/beat.mp3",
        "signing.key",
        "redis/beatbot.rdb",
        f"staging/{gid}/beat.mp3",
        f"clips/{gid}/.summary.json",
        f"clips/{gid}/beat.mp3\x00.png",
    ]
    exp = str(int(time.time()) + 600)
    for rel in attempts:
        # Even with a signature made by this server's own key, these paths are refused.
        forged = store._signature(rel, int(exp))
        with pytest.raises(NotFound):
            store.verify(rel, exp, forged)
        with pytest.raises(ValueError):
            store.sign(rel)


async def test_symlink_escaping_the_root_is_refused(store: ClipStore, tmp_path: Path) -> None:
    gid = await finished_generation(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.wav").write_bytes(b"private")
    folder = store.generation_dir(gid)
    (folder / "link.wav").symlink_to(outside / "private.wav")
    escaped = str(uuid.uuid4())
    (store.clips / escaped).symlink_to(outside, target_is_directory=True)
    for rel in (f"clips/{gid}/link.wav", f"clips/{escaped}/private.wav"):
        with pytest.raises(NotFound):
            store.verify(*split_link(store.sign(rel)))
    # A link to a file that was since deleted is a plain "gone".
    rel = f"clips/{gid}/beat.mp3"
    link = store.sign(rel)
    (folder / "beat.mp3").unlink()
    with pytest.raises(NotFound, match="no longer here"):
        store.verify(*split_link(link))


async def test_signing_key_from_env_or_kept_in_data_dir(data_dir: Path, settings: Settings) -> None:
    first = ClipStore.from_settings(settings, Secrets())
    key_file = data_dir / "signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = ClipStore.from_settings(settings, Secrets())  # a restart keeps the same key
    gid = await finished_generation(first)
    link = first.sign(f"clips/{gid}/beat.mp3")
    assert second.verify(*split_link(link)).name == "beat.mp3"

    from pydantic import SecretStr

    with_env = ClipStore.from_settings(settings, Secrets(signing_key=SecretStr("from-env")))
    with pytest.raises(BadLink):
        with_env.verify(*split_link(link))
    plain = ClipStore(data_dir, "from-env", settings.storage.public_url, 60)
    assert plain.verify(*split_link(with_env.sign(f"clips/{gid}/beat.mp3"))).name == "beat.mp3"
    assert first.public_url == "http://127.0.0.1:8765" and first.url_ttl == 86400


async def test_upload_is_stored_and_found_by_id(store: ClipStore) -> None:
    async def chunks():
        for _ in range(4):
            yield b"\x01" * 1000
            await asyncio.sleep(0)

    up = await store.save_upload(chunks(), "../../My Beat (v2).WAV", max_bytes=MB)
    assert up.size == 4000
    assert up.path.name == "My_Beat_v2.wav"
    assert up.path.parent == store.uploads / up.file_id
    assert up.original_name == "../../My Beat (v2).WAV"
    assert store.path_for(up.file_id) == up.path
    assert store.upload(up.file_id) == up
    # An upload can be linked to as well (the DAW plays it back).
    assert store.verify(*split_link(store.sign(store.relative(up.path)))) == up.path

    small = await store.save_upload(b"RIFF....WAVE", "take.wav")
    assert small.path.read_bytes() == b"RIFF....WAVE"
    with open(up.path, "rb") as fh:  # a plain file object works too
        copy = await store.save_upload(fh, "copy.wav")
    assert copy.size == 4000 and copy.file_id != up.file_id

    with pytest.raises(NotFound, match="upload it again"):
        store.path_for(uuid.uuid4().hex)


async def test_upload_over_the_limit_is_refused_while_streaming(store: ClipStore) -> None:
    sent = 0

    async def endless():
        nonlocal sent
        while True:  # a client that never stops sending
            sent += 64 * 1024
            yield b"\x00" * (64 * 1024)

    with pytest.raises(BadAudio, match=r"^The file is more than 1\.0 MB; the limit is 1\.0 MB"):
        await store.save_upload(endless(), "huge.wav", max_bytes=MB)
    assert sent <= MB + 64 * 1024  # stopped reading at the limit
    assert list(store.uploads.iterdir()) == []  # the partial file is gone

    with pytest.raises(BadAudio, match=r"^The file is 120 MB; the limit is 100 MB\.$"):
        await store.save_upload(endless(), "huge.wav", 100 * MB, size_hint=120 * MB)
    with pytest.raises(BadAudio, match=r"The file is 2\.0 MB; the limit is 1\.0 MB"):
        await store.save_upload(b"\x00" * (2 * MB), "big.wav", max_bytes=MB)
    with pytest.raises(BadAudio, match="empty"):
        await store.save_upload(b"", "nothing.wav")
    assert list(store.uploads.iterdir()) == []
    capped = ClipStore(store.root, "k", max_upload_bytes=10)
    with pytest.raises(BadAudio):
        await capped.save_upload(b"x" * 11, "a.wav")


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\me\\Beat 1.mp3") == "Beat_1.mp3"
    assert safe_filename(".wav") == "upload.wav"
    assert safe_filename("Café Señor.FLAC") == "Cafe_Senor.flac"
    assert safe_filename("") == "upload"
    assert safe_filename("....wav") == "upload.wav"
    assert len(safe_filename("a" * 500 + ".wav")) <= 105


async def test_prune_removes_only_what_is_past_retention(store: ClipStore) -> None:
    old_gid = await finished_generation(store)
    new_gid = await finished_generation(store)
    old_up = await store.save_upload(b"old", "old.wav")
    new_up = await store.save_upload(b"new", "new.wav")
    stale_staging = store.staging_root / "dead-worker.1234"
    stale_staging.mkdir()
    (stale_staging / "half.wav").write_bytes(b"half")
    running = store.staging_root / "running-job.5678"
    running.mkdir()
    forty_days_ago = time.time() - 40 * 86400
    for path in (store.generation_dir(old_gid), old_up.path.parent, stale_staging):
        os.utime(path, (forty_days_ago, forty_days_ago))

    report = await store.prune(30)
    assert (report.generations, report.uploads, report.staging) == (1, 1, 1)
    assert report.bytes_freed > 0
    assert not store.generation_dir(old_gid).exists()
    assert store.generation_dir(new_gid).exists()
    with pytest.raises(NotFound):
        store.path_for(old_up.file_id)
    assert store.path_for(new_up.file_id).read_bytes() == b"new"
    assert running.exists()  # a job writing right now is left alone
    assert (await store.prune()).generations == 0  # default: the configured retention
