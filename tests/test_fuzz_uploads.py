"""Malformed audio uploads to POST /api/files, and jobs on the nasty files that get through.

Every answer is a JSON sentence with a 4xx (or 201 when the bytes really are audio), the
server never answers 500, and a refused upload leaves nothing in the uploads folder. Files
that are accepted but can't be used (silent, truncated after the header) fail their master or
stems job with a sentence, once, without taking the worker down.
"""

from __future__ import annotations

import asyncio
import io
import random
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import soundfile as sf
from aiohttp.test_utils import TestClient
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from adapters.daw_server import create_app
from bot.config import Secrets, Settings, load_settings
from bot.connections import RedisHandle
from bot.errors import APOLOGY
from bot.services import Services
from engine.audio_io import decode
from tests.audio_fixtures import ffmpeg_path
from tests.workers import run_worker

TOKEN = "fuzz-upload-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SR = 44100
TEN_HOURS = 10 * 3600

Upload = tuple[str, str, bytes]  # label, file name, bytes


# --- material --------------------------------------------------------------------------------


def tone(seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    mono = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def encoded(fmt: str, subtype: str | None = None) -> bytes:
    out = io.BytesIO()
    sf.write(out, tone(), SR, format=fmt, subtype=subtype)
    return out.getvalue()


def mp3_bytes(tmp: Path) -> bytes:
    src, dst = tmp / "tone.wav", tmp / "tone.mp3"
    src.write_bytes(encoded("WAV", "PCM_16"))
    subprocess.run(
        [ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-b:a", "128k", str(dst)],
        check=True,
        timeout=60,
    )
    return dst.read_bytes()


def wav_header(
    *,
    channels: int = 2,
    rate: int = SR,
    bits: int = 16,
    tag: int = 1,
    data_size: int | None = None,
    riff_size: int | None = None,
    fmt_size: int = 16,
    block_align: int | None = None,
    byte_rate: int | None = None,
) -> bytes:
    align = block_align if block_align is not None else max(1, channels * bits // 8)
    rate_bytes = byte_rate if byte_rate is not None else (rate * align) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate_bytes, align & 0xFFFF, bits)
    fmt = fmt[:fmt_size] + b"\0" * max(0, fmt_size - len(fmt))
    size = data_size if data_size is not None else 0
    riff = riff_size if riff_size is not None else (4 + 8 + len(fmt) + 8 + size) & 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<I", fmt_size)
        + fmt
        + b"data"
        + struct.pack("<I", size & 0xFFFFFFFF)
    )


def pcm(frames: int, channels: int = 2, value: int = 0) -> bytes:
    return struct.pack("<h", value) * frames * channels


def flac_declaring(samples: int, flac: bytes) -> bytes:
    """A FLAC whose STREAMINFO claims `samples` frames (it holds one second)."""
    packed = int.from_bytes(flac[18:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | (samples & ((1 << 36) - 1))
    return flac[:18] + packed.to_bytes(8, "big") + flac[26:]


def mp3_declaring(frames: int, mp3: bytes) -> bytes:
    """An MP3 whose Xing/Info header claims `frames` frames."""
    for tag in (b"Xing", b"Info"):
        at = mp3.find(tag, 0, 400)
        if at >= 0:
            flags = int.from_bytes(mp3[at + 4 : at + 8], "big")
            assert flags & 1, "LAME wrote no frame count"
            return mp3[: at + 8] + frames.to_bytes(4, "big") + mp3[at + 12 :]
    raise AssertionError("no Xing/Info header in the test MP3")


def id3(size: int, declared: int | None = None) -> bytes:
    """An ID3v2.4 tag of `size` bytes of padding (declaring `declared` bytes)."""
    n = declared if declared is not None else size
    synchsafe = bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + synchsafe + b"\0" * size


def chunk(name: bytes, body: bytes, declared: int | None = None) -> bytes:
    size = len(body) if declared is None else declared
    return name + struct.pack("<I", size & 0xFFFFFFFF) + body + (b"\0" if len(body) % 2 else b"")


def nasty_uploads(tmp: Path) -> Iterator[Upload]:
    wav = encoded("WAV", "PCM_16")
    flac = encoded("FLAC", "PCM_16")
    ogg = encoded("OGG", "VORBIS")
    mp3 = mp3_bytes(tmp)
    good = {"wav": wav, "flac": flac, "ogg": ogg, "mp3": mp3}

    for ext, data in good.items():
        yield f"valid {ext}", f"tone.{ext}", data
        yield f"valid {ext} named .txt", "notes.txt", data
        for cut in (1, 3, 4, 8, 12, 16, 36, 44, 45, 64, 200, 1000):
            yield f"{ext} cut to {cut} B", f"cut{cut}.{ext}", data[:cut]
        for fraction in (0.1, 0.25, 0.5, 0.9, 0.999):
            yield f"{ext} cut to {fraction:.0%}", f"cut.{ext}", data[: int(len(data) * fraction)]
        for magic in (b"RIFX", b"\0\0\0\0", b"fLaX", b"ID3\xff", b"OggX", b"\xff\xff\xff\xff"):
            yield f"{ext} with magic {magic!r}", f"magic.{ext}", magic + data[4:]
        rng = random.Random(ext)
        for flips in (1, 10, 100):
            mangled = bytearray(data)
            for _ in range(flips):
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            yield f"{ext} with {flips} bytes flipped", f"flip.{ext}", bytes(mangled)

    # RIFF/WAVE headers that lie.
    one_second = pcm(SR)
    lies: dict[str, bytes] = {
        "riff size 4 GiB": wav_header(riff_size=0xFFFFFFFF, data_size=len(one_second)),
        "data size 4 GiB": wav_header(data_size=0xFFFFFFFF),
        "riff size 0": wav_header(riff_size=0, data_size=len(one_second)),
        "fmt size 4 GiB": wav_header(fmt_size=16)[:16] + struct.pack("<I", 0xFFFFFFF0),
        "fmt size 2": wav_header(fmt_size=2, data_size=len(one_second)),
        "0 channels": wav_header(channels=0, data_size=len(one_second)),
        "65535 channels": wav_header(channels=65535, data_size=len(one_second)),
        "1024 channels": wav_header(channels=1024, data_size=len(one_second)),
        "rate 0": wav_header(rate=0, data_size=len(one_second)),
        "rate 4 GHz": wav_header(rate=0xFFFFFFFF, data_size=len(one_second)),
        "rate 1 Hz": wav_header(rate=1, data_size=len(one_second)),
        "0 bits": wav_header(bits=0, data_size=len(one_second)),
        "7 bits": wav_header(bits=7, data_size=len(one_second)),
        "64 bits int": wav_header(bits=64, data_size=len(one_second)),
        "65535 bits": wav_header(bits=65535, data_size=len(one_second)),
        "block align 0": wav_header(block_align=0, data_size=len(one_second)),
        "block align 65535": wav_header(block_align=65535, data_size=len(one_second)),
        "byte rate 0": wav_header(byte_rate=0, data_size=len(one_second)),
        "format tag MP3": wav_header(tag=0x55, data_size=len(one_second)),
        "format tag 0xFFFE, short fmt": wav_header(tag=0xFFFE, data_size=len(one_second)),
        "format tag 0xBEEF": wav_header(tag=0xBEEF, data_size=len(one_second)),
        "float 16 bits": wav_header(tag=3, data_size=len(one_second)),
        "ADPCM no extra": wav_header(tag=2, bits=4, data_size=len(one_second)),
    }
    for label, header in lies.items():
        yield f"wav: {label}", "lies.wav", header + one_second
        yield f"wav header only: {label}", "header.wav", header
    yield "wav header only", "empty.wav", wav_header(data_size=0)
    yield "wav header declaring 1 s, no data", "nodata.wav", wav_header(data_size=len(one_second))
    yield "wav with no data chunk", "nodata.wav", wav_header()[:-8]
    yield "wav with two data chunks", "twice.wav", wav + chunk(b"data", one_second)
    yield "wav, odd data size", "odd.wav", wav_header(data_size=3) + b"\1\2\3"
    yield (
        "NaN float wav",
        "nan.wav",
        (wav_header(tag=3, bits=32, data_size=8 * 1000) + struct.pack("<f", float("nan")) * 2000),
    )
    yield (
        "inf float wav",
        "inf.wav",
        (wav_header(tag=3, bits=32, data_size=8 * 4410) + struct.pack("<f", float("inf")) * 8820),
    )

    # 10 hours, declared and (at a tiny rate) real.
    yield (
        "wav declaring 10 h of silence",
        "10h.wav",
        (wav_header(channels=1, rate=8000, bits=8, data_size=TEN_HOURS * 8000) + b"\x80" * 8000),
    )
    yield (
        "wav: 10 h of real silence at 100 Hz",
        "10h-real.wav",
        (
            wav_header(channels=1, rate=100, bits=8, data_size=TEN_HOURS * 100)
            + b"\x80" * (TEN_HOURS * 100)
        ),
    )
    yield "flac declaring 10 h", "10h.flac", flac_declaring(TEN_HOURS * SR, flac)
    yield "flac declaring 2^36-1 samples", "max.flac", flac_declaring((1 << 36) - 1, flac)
    yield "mp3 declaring 10 h", "10h.mp3", mp3_declaring(TEN_HOURS * SR // 1152, mp3)
    yield "mp3 declaring 0 frames", "zero.mp3", mp3_declaring(0, mp3)

    # Metadata bombs: huge tags, and tags that claim to be huge.
    yield "8 MB ID3 before a valid mp3", "tagged.mp3", id3(8 * 2**20) + mp3
    yield "8 MB ID3 and nothing else", "tag-only.mp3", id3(8 * 2**20)
    yield "ID3 declaring 256 MB", "liar.mp3", id3(64, declared=0x0FFFFFFF) + mp3
    yield "ID3 header only", "id3.mp3", b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f"
    yield "nested ID3 tags", "nested.mp3", id3(10, declared=10) * 500 + mp3
    list_chunk = chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 4 * 2**20) + b"a" * 4 * 2**20)
    body = wav[12:]
    yield (
        "wav with a 4 MB LIST chunk",
        "list.wav",
        (
            b"RIFF"
            + struct.pack("<I", 4 + len(list_chunk) + len(body))
            + b"WAVE"
            + list_chunk
            + body
        ),
    )
    yield (
        "wav with a LIST chunk declaring 4 GiB",
        "list-liar.wav",
        (wav[:12] + chunk(b"LIST", b"INFO", declared=0xFFFFFFF0) + wav[12:]),
    )
    flac_padding = b"\x01" + (2**24 - 1).to_bytes(3, "big")  # a PADDING block of 16 MB...
    yield (
        "flac with a padding block declaring 16 MB",
        "pad.flac",
        (flac[:4] + bytes([flac[4] & 0x7F]) + flac[5:42] + flac_padding + b"\0" * 1000),
    )
    picture = b"\x06" + (2 * 2**20).to_bytes(3, "big") + b"\0" * (2 * 2**20)
    yield (
        "flac with a 2 MB picture block",
        "pic.flac",
        (flac[:4] + bytes([flac[4] & 0x7F]) + flac[5:42] + picture + flac[42:]),
    )
    yield "zip file named .wav", "song.wav", b"PK\x03\x04" + b"\0" * 26 + b"A" * 5000
    yield "gzip named .mp3", "song.mp3", b"\x1f\x8b\x08\0" + bytes(range(256)) * 20
    yield "html named .flac", "song.flac", b"<html><body>" + b"x" * 2000 + b"</body></html>"
    yield "text named .wav", "song.wav", b"not audio at all\n" * 200
    yield "a PNG", "cover.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 500
    yield "zero-length", "empty.wav", b""
    yield "one byte", "one.wav", b"\0"
    yield "all zeros 100 KB", "zeros.wav", b"\0" * 100_000
    yield "all 0xFF 100 KB (mp3 sync bits)", "ff.mp3", b"\xff" * 100_000


random_blobs = st.one_of(
    st.binary(max_size=64),
    st.binary(min_size=100, max_size=4000),
    st.tuples(
        st.sampled_from([b"RIFF", b"fLaC", b"OggS", b"ID3\x04", b"\xff\xfb", b"FORM"]),
        st.binary(max_size=2000),
    ).map(b"".join),
)
names = st.one_of(
    st.sampled_from(["a.wav", "a.mp3", "a.flac", "a.txt", "a", ".wav", "a.WAV", "a.exe"]),
    st.sampled_from(["../../../etc/passwd", "..", "/abs/path.wav", "C:\\x.wav", "a%00b.wav"]),
    st.text(min_size=1, max_size=300).filter(lambda s: all(ord(c) >= 32 for c in s)),
)


def random_uploads(count: int) -> list[Upload]:
    drawn: list[Upload] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate]
    )
    @given(random_blobs, names)
    def collect(data: bytes, name: str) -> None:
        drawn.append((f"random {len(data)} B", name, data))

    collect()
    return drawn


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
async def api(services: Services, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(services, TOKEN))


async def post_upload(api: TestClient, name: str, data: bytes) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    response = await api.post("/api/files", data=form, headers=AUTH)
    try:
        return response.status, await response.json()
    except (aiohttp.ContentTypeError, ValueError):
        return response.status, await response.text()


def uploads_on_disk(services: Services) -> set[str]:
    return {p.name for p in services.store.uploads.iterdir()}


def usable(path: Path) -> bool:
    try:
        decode(path, sr=SR)
    except Exception:
        return False
    return True


async def test_fuzz_uploads_malformed_audio_is_refused_cleanly(
    api: TestClient, services: Services, tmp_path: Path
) -> None:
    cases = list(nasty_uploads(tmp_path)) + random_uploads(80)
    accepted: dict[str, str] = {}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    semaphore = asyncio.Semaphore(6)

    async def one(label: str, name: str, data: bytes) -> None:
        async with semaphore:
            status, payload = await post_upload(api, name, data)
        statuses[status] = statuses.get(status, 0) + 1
        where = f"{label} ({len(data)} B as {name[:40]!r})"
        if not isinstance(payload, dict):
            failures.append(f"{where}: {status}, not JSON: {str(payload)[:200]}")
        elif status == 201:
            accepted[payload["fileId"]] = label
            if payload["duration"] > services.settings.limits.max_upload_seconds:
                failures.append(f"{where}: accepted {payload['duration']} s")
        elif not (400 <= status < 500 and payload.get("success") is False):
            failures.append(f"{where}: {status} {payload}")
        elif not (isinstance(payload.get("error"), str) and len(payload["error"]) > 10):
            failures.append(f"{where}: no sentence in {payload}")
        elif "Traceback" in payload["error"] or payload["error"] == APOLOGY:
            failures.append(f"{where}: {payload['error']}")

    await asyncio.gather(*(one(*case) for case in cases))
    assert not failures, "\n".join(failures)
    assert len(cases) >= 200, len(cases)
    # Nothing is left behind for a refused upload; accepted ones are whole (file + metadata).
    assert uploads_on_disk(services) == set(accepted)
    for file_id in accepted:
        folder = services.store.uploads / file_id
        assert len(list(folder.iterdir())) == 2, list(folder.iterdir())
        assert not [p for p in folder.iterdir() if p.name.startswith(".part")]
    labels = set(accepted.values())
    for ext in ("wav", "flac", "ogg", "mp3"):
        assert f"valid {ext}" in labels and f"valid {ext} named .txt" in labels, labels
    for label in ("zero-length", "wav declaring 10 h of silence", "mp3 declaring 10 h"):
        assert label not in labels or label == "wav declaring 10 h of silence", label
    assert "wav: 10 h of real silence at 100 Hz" not in labels
    assert "flac declaring 10 h" not in labels
    nasty = sorted(
        label for file_id, label in accepted.items() if not usable(services.store.path_for(file_id))
    )
    print(f"{len(cases)} uploads: {dict(sorted(statuses.items()))}; accepted but unusable: {nasty}")


async def test_fuzz_uploads_over_the_cap_leave_nothing_even_without_content_length(
    aiohttp_client: Callable[..., Any], redis_handle: RedisHandle, settings: Settings
) -> None:
    custom = load_settings(
        data_dir=settings.data_dir,
        env={
            "BEATBOT_QUEUE__KEY_PREFIX": settings.queue.key_prefix,
            "BEATBOT_LIMITS__MAX_UPLOAD_MB": "0.5",
        },
    )
    services = await Services.open(custom, Secrets.from_env({}), redis_handle, render_processes=1)
    try:
        api = await aiohttp_client(create_app(services, TOKEN))

        async def chunks() -> Any:  # chunked transfer: no Content-Length to refuse up front
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
            for _ in range(40):
                yield b"\0" * 32768
            yield b"\r\n--b--\r\n"

        response = await api.post(
            "/api/files",
            data=chunks(),
            headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"},
        )
        payload = await response.json()
        assert response.status == 413 and "limit" in payload["error"], payload
        truncated = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\nRIFF'
        )
        for body, ctype in (
            (truncated, "multipart/form-data; boundary=b"),
            (b"--nope\r\n\r\n", "multipart/form-data; boundary=b"),
            (b"\0" * 1000, "multipart/form-data"),
            (b"\0" * 1000, "multipart/mixed; boundary="),
            (encoded("WAV", "PCM_16"), "audio/wav"),
        ):
            response = await api.post(
                "/api/files", data=body, headers={**AUTH, "Content-Type": ctype}
            )
            payload = await response.json()
            assert 400 <= response.status < 500 and payload["success"] is False, (
                body[:40],
                payload,
            )
        assert uploads_on_disk(services) == set()
    finally:
        await services.close()


async def test_fuzz_uploads_accepted_but_unusable_files_fail_their_jobs_with_a_sentence(
    api: TestClient, services: Services, settings: Settings, redis_handle: RedisHandle
) -> None:
    silence = wav_header(channels=1, rate=8000, bits=8, data_size=TEN_HOURS * 8000) + b"\x80" * 8000
    zeros = wav_header(data_size=len(pcm(SR))) + pcm(SR)
    blip = wav_header(data_size=40) + pcm(10, value=8000)  # 10 frames: far too short
    flac = encoded("FLAC", "PCM_16")
    inf = wav_header(tag=3, bits=32, data_size=8 * 4410) + struct.pack("<f", float("inf")) * 8820
    jobs: dict[str, str] = {}
    for label, data in (
        ("10 h declared, 1 s silence", silence),
        ("zeros", zeros),
        ("blip", blip),
        ("half a flac", flac[: len(flac) // 2]),
        ("infinite samples", inf),
        (
            "mp3-in-wav tag on pcm",
            wav_header(tag=0x55, data_size=len(pcm(SR))) + pcm(SR, value=900),
        ),
    ):
        status, payload = await post_upload(api, f"{label}.wav", data)
        if status != 201:  # refused at the door is fine too: then there is no job to fail
            assert 400 <= status < 500 and payload["success"] is False, payload
            continue
        file_id = payload["fileId"]
        for kind, body in (
            ("master", {"trackId": file_id, "quality": "club"}),
            ("stems", {"audioFileId": file_id, "stemTypes": ["drums"]}),
        ):
            response = await api.post(f"/api/generate/{kind}", json=body, headers=AUTH)
            assert response.status == 202, await response.text()
            jobs[f"{kind} on {label}"] = (await response.json())["jobId"]
    assert jobs, "every nasty file was refused at upload; nothing to run"

    await asyncio.wait_for(run_worker(settings, redis_handle), 120)

    for label, job_id in jobs.items():
        record = await services.queue.status(job_id)
        assert record.state.value == "failed", (label, record.state, record.error)
        error = record.error or ""
        words = ("silent", "no audio", "truncated", "damaged", "corrupt", "invalid samples")
        assert any(word in error for word in words), (label, error)
        assert record.tries <= 1, (label, record.tries)  # bad input fails at once, no retries
        assert APOLOGY not in error and "tries" not in error, (label, error)
