"""Files on disk under the data dir, and the signed, expiring links that serve them.

    <data_dir>/clips/<generation_id>/   one folder per generation (mix, preview, stems/, MIDI,
                                        waveform), moved into place whole by `staging()`
    <data_dir>/uploads/<file_id>/<name> uploads, usable later as audioFileId/trackId
    <data_dir>/staging/                 folders being written; never served
    <data_dir>/signing.key              the HMAC key, when BEATBOT_SIGNING_KEY is not set

A link is `<public_url>/files/<relative path>?exp=<unix time>&sig=<HMAC-SHA256>`; `verify`
refuses expired or altered links and any path that would leave the clips or uploads folders.
Results and events keep the relative path (a storage reference); whoever hands one out signs
it (`bot.links`), so links point at the process the receiver talks to.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import inspect
import json
import os
import re
import secrets
import shutil
import time
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlencode

from bot.errors import BadAudio, NotFound, UploadTooLarge

MB = 1024 * 1024
CHUNK = 256 * 1024
SUMMARY = ".summary.json"  # hidden: the worker's description of a generation, never served
UPLOAD_META = ".upload.json"
STAGING_MAX_AGE = 24 * 3600  # a staging folder this old belongs to a worker that died

# Ids and file names we create use only these characters, so a link never needs escaping and
# anything else in a requested path ("..", "%2e", "\\", NUL) is refused before the disk is asked.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_SERVED_ROOTS = ("clips", "uploads")

BAD_LINK = "This download link is not valid; ask me for the file again to get a fresh link."
EXPIRED_LINK = "This download link has expired; ask me for the file again to get a fresh link."
GONE = "That file is no longer here (old files are removed after a while); make it again?"


class BadLink(NotFound):
    """A signed link that is expired, altered, or points outside the served folders."""


def megabytes(mb: float) -> int:
    return int(mb * MB)


def _mb_text(size: int) -> str:
    value = size / MB
    return f"{value:.1f} MB" if value < 10 else f"{value:.0f} MB"


@dataclass(frozen=True)
class StoredFile:
    name: str  # inside the generation folder, e.g. "stems/kick.wav"
    path: Path
    relative: str  # inside the data dir, what `sign` takes
    size: int


@dataclass(frozen=True)
class Upload:
    file_id: str
    path: Path
    size: int
    original_name: str


@dataclass(frozen=True)
class PruneReport:
    generations: int
    uploads: int
    staging: int
    bytes_freed: int


class ClipStore:
    def __init__(
        self,
        data_dir: Path | str,
        signing_key: bytes | str | None = None,
        public_url: str = "http://127.0.0.1:8765",
        url_ttl: int = 86400,
        *,
        retention_days: float = 30.0,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.root = Path(data_dir).expanduser().resolve()
        self.clips = self.root / "clips"
        self.uploads = self.root / "uploads"
        self.staging_root = self.root / "staging"
        for folder in (self.clips, self.uploads, self.staging_root):
            folder.mkdir(parents=True, exist_ok=True)
        self.public_url = public_url.rstrip("/")
        self.url_ttl = url_ttl
        self.retention_days = retention_days
        self.max_upload_bytes = max_upload_bytes
        if isinstance(signing_key, str):
            signing_key = signing_key.encode()
        self._key = signing_key or load_or_create_key(self.root / "signing.key")

    @classmethod
    def from_settings(cls, settings: Any, secrets: Any = None) -> ClipStore:
        """From `Settings` and `Secrets` (BEATBOT_SIGNING_KEY, when set)."""
        key = getattr(secrets, "signing_key", None)
        return cls(
            settings.storage.data_dir,
            key.get_secret_value() if key is not None else None,
            settings.storage.public_url,
            settings.storage.url_ttl,
            retention_days=settings.storage.retention_days,
            max_upload_bytes=megabytes(settings.limits.max_upload_mb),
        )

    # --- generations ---------------------------------------------------------------------

    def generation_dir(self, generation_id: str) -> Path:
        """The folder of one generation (it may not exist yet)."""
        return self.clips / _check_id(generation_id, "clip")

    def files(self, generation_id: str) -> list[StoredFile]:
        """Every servable file of a finished generation, sorted by name; [] if none."""
        folder = self.generation_dir(generation_id)
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if not path.is_file() or any(part.startswith(".") for part in name.split("/")):
                continue
            found.append(StoredFile(name, path, self.relative(path), path.stat().st_size))
        return found

    def read_summary(self, generation_id: str) -> dict[str, Any] | None:
        """What the worker recorded about a committed generation, or None if not committed."""
        try:
            return json.loads((self.generation_dir(generation_id) / SUMMARY).read_text())
        except FileNotFoundError:
            return None

    def write_summary(self, folder: Path | str, summary: Mapping[str, Any]) -> Path:
        """Record a generation's summary inside its staging folder (commits with it)."""
        return _write_atomic(Path(folder) / SUMMARY, json.dumps(dict(summary)).encode())

    @contextlib.asynccontextmanager
    async def staging(self, generation_id: str) -> AsyncIterator[Path]:
        """A private folder to write a generation into; moved into place whole on success,
        deleted on any failure (or cancellation), so nothing half-written is ever served."""
        _check_id(generation_id, "clip")
        folder = self.staging_root / f"{generation_id}.{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        try:
            yield folder
            await self.commit(generation_id, folder)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise

    async def commit(self, generation_id: str, tmp_dir: Path | str) -> Path:
        """Move a finished folder into place by rename; an older copy is replaced whole."""
        target = self.generation_dir(generation_id)
        source = Path(tmp_dir)
        try:
            os.rename(source, target)
            return target
        except OSError:
            if not target.exists():
                raise
        # A previous try left a copy: swap it out, then delete it, so readers never see a mix.
        aside = self.staging_root / f".old-{generation_id}.{uuid.uuid4().hex[:8]}"
        os.rename(target, aside)
        os.rename(source, target)
        await asyncio.to_thread(shutil.rmtree, aside, True)
        return target

    # --- uploads -------------------------------------------------------------------------

    async def save_upload(
        self,
        source: bytes | bytearray | memoryview | AsyncIterable[bytes] | Any,
        filename: str,
        max_bytes: int | None = None,
        *,
        size_hint: int | None = None,
    ) -> Upload:
        """Store an upload and return its id. `source` is bytes, an async iterable of chunks,
        or a reader with `read_chunk(n)` (aiohttp multipart) or `read(n)`, sync or async.

        Stops at `max_bytes` while streaming (BadAudio; the partial file is deleted).
        `size_hint` (e.g. Content-Length) refuses an oversized upload before reading it.
        """
        limit = max_bytes if max_bytes is not None else self.max_upload_bytes
        if isinstance(source, bytes | bytearray | memoryview):
            size_hint = len(source)
        if limit is not None and size_hint is not None and size_hint > limit:
            raise UploadTooLarge(
                f"The file is {_mb_text(size_hint)}; the limit is {_mb_text(limit)}."
            )
        file_id = uuid.uuid4().hex
        folder = self.uploads / file_id
        folder.mkdir(parents=True)
        name = safe_filename(filename)
        part = folder / f".part-{uuid.uuid4().hex[:8]}"
        size = 0
        try:
            with part.open("wb") as out:
                async for chunk in _chunks(source):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise UploadTooLarge(
                            f"The file is more than {_mb_text(limit)}; the limit is "
                            f"{_mb_text(limit)}. Send a shorter clip or a compressed format "
                            "such as MP3."
                        )
                    out.write(chunk)
            if size == 0:
                raise BadAudio(f"{name} is empty; send an audio file such as WAV, MP3 or FLAC.")
            original = filename.strip()[:200] or name
            _write_atomic(
                folder / UPLOAD_META,
                json.dumps({"name": name, "original_name": original, "size": size}).encode(),
            )
            os.rename(part, folder / name)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise
        return Upload(file_id, folder / name, size, original)

    def upload(self, file_id: str) -> Upload:
        """A stored upload, or NotFound with a sentence."""
        folder = self.uploads / _check_id(file_id, "upload")
        try:
            meta = json.loads((folder / UPLOAD_META).read_text())
            path = folder / meta["name"]
            if path.is_file():
                return Upload(file_id, path, int(meta["size"]), str(meta["original_name"]))
        except (FileNotFoundError, KeyError, ValueError):
            pass
        raise NotFound(
            f"I can't find the uploaded file {file_id!r}; uploads are removed after a while, "
            "so please upload it again."
        )

    def path_for(self, file_id: str) -> Path:
        """The file behind an audioFileId/trackId."""
        return self.upload(file_id).path

    # --- signed links ----------------------------------------------------------------------

    def relative(self, path: Path | str) -> str:
        """`path` relative to the data dir, as `sign` takes it."""
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            raise ValueError(f"{path} is not inside the data dir {self.root}") from None

    def is_ref(self, value: str) -> bool:
        """Whether `value` is a storage reference (a servable path relative to the data dir)."""
        return _servable(value.strip("/"))

    def local(self, ref: str) -> Path:
        """The file a storage reference names in this process's data dir."""
        if not self.is_ref(ref):
            raise ValueError(f"{ref!r} is not a storage reference")
        return self.root / ref.strip("/")

    def sign(self, relative_path: str, ttl: int | None = None) -> str:
        """A link to a file under clips/ or uploads/, valid for `ttl` seconds."""
        rel = relative_path.strip("/")
        if not _servable(rel):
            raise ValueError(f"{relative_path!r} is not a servable path")
        exp = int(time.time()) + (self.url_ttl if ttl is None else ttl)
        query = urlencode({"exp": exp, "sig": self._signature(rel, exp)})
        return f"{self.public_url}/files/{quote(rel)}?{query}"

    def verify(self, relative_path: str, exp: str | int, sig: str) -> Path:
        """The file a link points to, or BadLink/NotFound (a sentence) when it must not be
        served: expired, altered, outside clips/ and uploads/, or gone."""
        rel = str(relative_path)
        if not _servable(rel):
            raise BadLink(BAD_LINK)
        try:
            expires = int(str(exp)) if str(exp).isdigit() else -1
        except ValueError:
            expires = -1
        if expires < 0:
            raise BadLink(BAD_LINK)
        expected = self._signature(rel, expires).encode()
        if not hmac.compare_digest(expected, str(sig).encode("utf-8", "replace")):
            raise BadLink(BAD_LINK)
        if expires < time.time():
            raise BadLink(EXPIRED_LINK)
        # The name is clean, but a symlink on disk could still lead elsewhere.
        allowed = self.root / rel.split("/", 1)[0]
        resolved = (self.root / rel).resolve()
        if not resolved.is_relative_to(allowed) or not resolved.is_file():
            raise NotFound(GONE)
        return resolved

    def _signature(self, rel: str, exp: int) -> str:
        digest = hmac.new(self._key, f"{rel}\n{exp}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # --- retention -------------------------------------------------------------------------

    async def prune(self, older_than_days: float | None = None) -> PruneReport:
        """Delete generations and uploads older than the retention limit, and staging
        folders left by workers that died."""
        days = self.retention_days if older_than_days is None else older_than_days
        return await asyncio.to_thread(self._prune, time.time() - days * 86400)

    def _prune(self, cutoff: float) -> PruneReport:
        freed = 0
        counts = []
        for parent, limit in (
            (self.clips, cutoff),
            (self.uploads, cutoff),
            (self.staging_root, min(cutoff, time.time() - STAGING_MAX_AGE)),
        ):
            removed = 0
            for folder in parent.iterdir():
                try:
                    if folder.is_symlink() or not folder.is_dir():
                        continue
                    if folder.stat().st_mtime >= limit:
                        continue
                    size = _folder_size(folder)
                    shutil.rmtree(folder)
                except FileNotFoundError:
                    continue  # another process pruned it first
                freed += size
                removed += 1
            counts.append(removed)
        return PruneReport(counts[0], counts[1], counts[2], freed)


# --- helpers -------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> bytes:
    """The key kept in `path`, created once (mode 0600). Two processes starting together
    agree: the key is written to a private temp file and linked into place only if absent."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def safe_filename(name: str) -> str:
    """A file name safe on any disk and in a URL, keeping the extension: "My Beat (v2).WAV"
    -> "My_Beat_v2.wav"; directories and leading dots are dropped."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:100] or "upload"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise NotFound(f"{str(value)[:40]!r} is not a valid {what} id; check the link or id.")
    return value


def _servable(rel: str) -> bool:
    parts = rel.split("/")
    return (
        len(rel) <= 512
        and len(parts) >= 3
        and parts[0] in _SERVED_ROOTS
        and all(_SEGMENT.match(part) for part in parts)
        and PurePosixPath(rel).parts == tuple(parts)
    )


def _write_atomic(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


async def _chunks(source: Any) -> AsyncIterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    if hasattr(source, "read_chunk"):  # aiohttp BodyPartReader
        while chunk := await source.read_chunk(CHUNK):
            yield bytes(chunk)
        return
    if hasattr(source, "read"):  # aiohttp StreamReader, or an open file
        while True:
            chunk = source.read(CHUNK)
            if inspect.isawaitable(chunk):
                chunk = await chunk
            if not chunk:
                return
            yield bytes(chunk)
    if isinstance(source, AsyncIterable):
        async for chunk in source:
            if chunk:
                yield bytes(chunk)
        return
    raise TypeError(f"can't read an upload from {type(source).__name__}")
