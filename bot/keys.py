"""Every Redis key BeatBot writes, in one place. All start with the configured prefix."""

from __future__ import annotations


def queue(prefix: str) -> str:
    """The arq queue (a sorted set of job ids)."""
    return f"{prefix}:queue"


def job(prefix: str, job_id: str) -> str:
    """Hash: one job's record (state, progress, stage, request, result, error); expires
    `storage.retention_days` after the job was queued."""
    return f"{prefix}:job:{job_id}"


def generation_job(prefix: str, generation_id: str) -> str:
    """String: the job id of a generation; expires with the job's record."""
    return f"{prefix}:generation-job:{generation_id}"


def generation_jobs_legacy(prefix: str) -> str:
    """Hash: generation id -> job id, as written before job records expired (read only)."""
    return f"{prefix}:generation-jobs"


def active_jobs(prefix: str) -> str:
    """Set: ids of jobs running right now."""
    return f"{prefix}:jobs:active"


def counter(prefix: str, name: str) -> str:
    """Integer: how many jobs ended in this state (completed, failed)."""
    return f"{prefix}:jobs:{name}"


# --- events (bot.events) --------------------------------------------------------------


def events(prefix: str) -> str:
    """Stream: every job and DAW event, capped at `queue.stream_maxlen` entries."""
    return f"{prefix}:events"


def event_dedupe(prefix: str, dedupe_key: str) -> str:
    """String: the stream id of a logical event already published (e.g. `<gid>:finished`)."""
    return f"{prefix}:events:dedupe:{dedupe_key}"


def once(prefix: str, key: str) -> str:
    """String: set once by an adapter that has done something (posted a result) for `key`."""
    return f"{prefix}:once:{key}"


# --- limits (bot.limits) --------------------------------------------------------------


def rate(prefix: str, user: str) -> str:
    """Sorted set: one member per request in the last minute, scored by server time (ms)."""
    return f"{prefix}:rate:{user}"


def quota(prefix: str, user: str) -> str:
    """Hash: {day, used_ms}: audio rendered for this user on that UTC day."""
    return f"{prefix}:quota:{user}"


# --- history (bot.history) ------------------------------------------------------------


def history_order(prefix: str, user: str) -> str:
    """List: the user's generation ids, newest first, at most `limits.history_size`."""
    return f"{prefix}:history:order:{user}"


def history_entries(prefix: str, user: str) -> str:
    """Hash: generation id -> JSON history entry, for the ids in `history_order`."""
    return f"{prefix}:history:entries:{user}"


def generation(prefix: str, generation_id: str) -> str:
    """String: JSON record of one generation."""
    return f"{prefix}:generation:{generation_id}"


def chat_thread(platform: str, prefix: str, channel: str, thread: str) -> str:
    """String: set while a chat thread is one BeatBot answers in (follow-ups need no @)."""
    return f"{prefix}:{platform}:thread:{channel}:{thread}"


def chat_status(platform: str, prefix: str, job_id: str) -> str:
    """String: the first line of a job's status message, kept above its progress bar."""
    return f"{prefix}:{platform}:status:{job_id}"


def chat_prefs(platform: str, prefix: str, user: str) -> str:
    """String (JSON): a chat user's own defaults (format, quality, duration)."""
    return f"{prefix}:{platform}:prefs:{user}"


def chat_health(prefix: str, platform: str) -> str:
    """String (JSON): whether a chat adapter could start, and if not, why (for /healthz and
    `beatbot doctor`)."""
    return f"{prefix}:health:{platform}"


def consumer_alive(prefix: str, group: str) -> str:
    """String with a TTL: a chat adapter's delivery loop refreshes it while it runs."""
    return f"{prefix}:alive:{group}"
