"""The data dir's disk budget: clips and uploads stay under `storage.max_gb`, oldest out first.

What counts is what piles up: `<data dir>/clips/<generation id>/` (one folder per beat, stems,
master or mix) and `<data dir>/uploads/<file id>/`. When together they pass the budget, whole
folders are removed, oldest first (by when they were written), until they fit again; never
one that a waiting or running job reads or writes, nor the clip a job has just delivered.
The worker does this when it starts and after every job it ends; `beatbot doctor` shows the
usage against the budget. `storage.max_gb = 0` means no budget (only `retention_days`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import keys

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

log = logging.getLogger(__name__)

GB = 1024**3
# The folders under the data dir that the budget covers (bot.store's layout), by kind.
AREAS = (("clip", "clips"), ("upload", "uploads"))
# Fields of a job's request that name a clip or an upload it reads.
_INPUT_FIELDS = ("audio_file_id", "track_id", "generation_id")


@dataclass(frozen=True)
class Folder:
    """One generation or upload on disk."""

    kind: str  # "clip" | "upload"
    id: str
    path: Path
    size: int  # bytes, every file inside
    written: float  # mtime: when it was last written


@dataclass(frozen=True)
class Usage:
    clips: int  # bytes
    uploads: int
    clip_count: int
    upload_count: int
    budget: int | None  # bytes; None: no budget

    @property
    def total(self) -> int:
        return self.clips + self.uploads

    @property
    def over(self) -> bool:
        return self.budget is not None and self.total > self.budget

    def describe(self) -> str:
        """ "1.2 GB of 10 GB: 34 clips (1.1 GB), 3 uploads (95 MB)"."""
        of = f" of {size_text(self.budget)}" if self.budget is not None else " (no budget)"
        return (
            f"{size_text(self.total)}{of}: {self.clip_count} clip{'s' * (self.clip_count != 1)} "
            f"({size_text(self.clips)}), {self.upload_count} upload"
            f"{'s' * (self.upload_count != 1)} ({size_text(self.uploads)})"
        )


@dataclass(frozen=True)
class Pruned:
    removed: list[Folder]
    usage: Usage  # after pruning

    @property
    def freed(self) -> int:
        return sum(folder.size for folder in self.removed)


def budget_bytes(settings: Settings) -> int | None:
    gb = settings.storage.max_gb
    return int(gb * GB) if gb > 0 else None


def size_text(size: int) -> str:
    for unit, scale in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def folders(data_dir: Path) -> list[Folder]:
    """Every generation and upload folder, oldest first."""
    found = []
    for kind, area in AREAS:
        try:
            entries = list(os.scandir(data_dir / area))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                written = entry.stat(follow_symlinks=False).st_mtime
                found.append(Folder(kind, entry.name, Path(entry.path), _size(entry.path), written))
            except FileNotFoundError:  # removed while we looked (another worker's pruning)
                continue
    return sorted(found, key=lambda folder: folder.written)


def usage(data_dir: Path, budget: int | None) -> Usage:
    return _usage(folders(data_dir), budget)


def prune_to_budget(data_dir: Path, budget: int, keep: Iterable[str] = ()) -> Pruned:
    """Remove the oldest folders not in `keep` (ids) until clips + uploads fit `budget`."""
    kept = set(keep)
    found = folders(data_dir)
    total = sum(folder.size for folder in found)
    removed = []
    for folder in found:
        if total <= budget:
            break
        if folder.id in kept:
            continue
        with contextlib.suppress(FileNotFoundError):  # another worker's pruning got it first
            shutil.rmtree(folder.path)
        total -= folder.size
        removed.append(folder)
    gone = {folder.path for folder in removed}
    return Pruned(removed, _usage([f for f in found if f.path not in gone], budget))


async def ids_in_use(services: Services) -> set[str]:
    """Generation and upload ids that waiting, deferred or running jobs read or write."""
    prefix = services.settings.queue.key_prefix
    redis = services.redis
    queued = await redis.zrange(keys.queue(prefix), 0, -1)
    active = await redis.smembers(keys.active_jobs(prefix))
    busy: set[str] = set()
    for raw in {*queued, *active}:
        record = await services.jobs.get(raw.decode() if isinstance(raw, bytes) else str(raw))
        if record is None or record.finished:
            continue
        busy.add(record.generation_id)
        busy.update(_inputs(record.data))
    return busy


async def keep_within_budget(services: Services, keep: Iterable[str] = ()) -> Pruned | None:
    """Prune to `storage.max_gb`, sparing what jobs use and `keep`; None without a budget."""
    budget = budget_bytes(services.settings)
    if budget is None:
        return None
    spare = await ids_in_use(services) | set(keep)
    try:
        pruned = await asyncio.to_thread(prune_to_budget, services.store.root, budget, spare)
    except OSError as exc:  # a disk problem must not stop a worker or fail a finished job
        log.warning("disk budget: could not prune (%s)", exc)
        return None
    if pruned.removed:
        log.info(
            "disk budget: removed %d clips and %d uploads (%s), oldest first; now %s",
            sum(folder.kind == "clip" for folder in pruned.removed),
            sum(folder.kind == "upload" for folder in pruned.removed),
            size_text(pruned.freed),
            pruned.usage.describe(),
        )
    if pruned.usage.over:
        log.warning(
            "disk budget: still %s; what is left is in use by jobs", pruned.usage.describe()
        )
    return pruned


async def after_job(ctx: dict[str, Any]) -> None:
    """arq's `after_job_end`: keep the budget, sparing the clip this job just delivered."""
    services: Services | None = ctx.get("services")
    if services is None:
        return
    record = await services.jobs.get(str(ctx.get("job_id", "")))
    await keep_within_budget(services, [record.generation_id] if record is not None else [])


def _inputs(data: dict[str, Any]) -> set[str]:
    ids = {str(data[name]) for name in _INPUT_FIELDS if data.get(name)}
    ids.update(str(track) for track in data.get("track_ids") or ())
    return ids


def _usage(found: list[Folder], budget: int | None) -> Usage:
    clips = [folder for folder in found if folder.kind == "clip"]
    uploads = [folder for folder in found if folder.kind == "upload"]
    return Usage(
        clips=sum(folder.size for folder in clips),
        uploads=sum(folder.size for folder in uploads),
        clip_count=len(clips),
        upload_count=len(uploads),
        budget=budget,
    )


def _size(path: str) -> int:
    """Bytes of every file under `path` (links not followed)."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += _size(entry.path)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total
