"""Links are signed where they are handed out, for the address the receiver can reach.

Job results, events and history hold storage references: paths relative to the data dir
(`clips/<generation id>/beat.mp3`) under the keys of `REFS`. A worker writes them wherever it
runs; the process that hands the data to a person or a program (`beatbot serve`: WebSocket
frames, REST status/result/history, chat replies) adds a link signed with its own
`storage.public_url` beside each reference, under the field names clients already read
(`url`, `audioUrl`, `previewUrl`, `downloadUrl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bot.store import ClipStore

# reference key -> the link field added beside it
REFS: dict[str, str] = {
    "path": "url",
    "audioPath": "audioUrl",
    "previewPath": "previewUrl",
    "downloadPath": "downloadUrl",
}

T = TypeVar("T")


def with_links(data: T, store: ClipStore) -> T:
    """A copy of `data` (any JSON-like value) with a fresh signed link beside every storage
    reference in it. Values under those keys that are no references (an absolute server path
    from a record written before references, say) are left as they are, links included."""
    if isinstance(data, Mapping):
        out = {key: with_links(value, store) for key, value in data.items()}
        for ref_key, link_key in REFS.items():
            ref = data.get(ref_key)
            if isinstance(ref, str) and store.is_ref(ref):
                out[link_key] = store.sign(ref)
        return out  # type: ignore[return-value]
    if isinstance(data, list):
        return [with_links(item, store) for item in data]  # type: ignore[return-value]
    return data
