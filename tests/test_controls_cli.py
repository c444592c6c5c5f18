"""Issue 22 in the terminal: `beatbot chat` on a pseudo-terminal (its own embedded Redis and
in-process worker), a beat, then "extend it by 2 bars": the new clip is 2 bars longer
(measured) and its line says so; the commands offered under it include the part toggles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

from tests.test_cli_chat import PROMPT, Chat, start_chat, stop_embedded_redis

BAR_SECONDS = 4 * 60 / 90
CLIP = r"  Beat \(MP3\): (/\S+\.mp3)\r?\n"


@pytest.fixture
def person(tmp_path: Path) -> Iterator[dict[str, Path]]:
    places = {name: tmp_path / name for name in ("home", "work", "data")}
    for path in places.values():
        path.mkdir()
    yield places
    stop_embedded_redis(places["data"])


@pytest.fixture
def chat(person: dict[str, Path]) -> Iterator[Chat]:
    started = start_chat(person)
    yield started
    if started.process.isalive():
        started.process.terminate(force=True)


def seconds(path: str) -> float:
    info = soundfile.info(path)
    return info.frames / info.samplerate


def test_terminal_extend_appends_bars_and_offers_the_part_toggles(chat: Chat) -> None:
    chat.send("boom bap at 90 bpm for 8 seconds")
    chat.expect(r"✓ Here's your")
    first = chat.expect(CLIP).group(1)
    chat.expect(r'next: .*"without drums" · "without melody"')
    chat.expect(PROMPT)
    chat.send("extend it by 2 bars")
    chat.expect(r"On it: .*13 s \(5 bars\)")
    line = chat.expect(r"✓ (Here's your[^\r\n]*)").group(1)
    extended = chat.expect(CLIP).group(1)
    chat.send("quit")
    assert chat.wait_exit() == 0
    assert "Extended by 2 bars to 13 s (5 bars)." in line
    assert seconds(extended) - seconds(first) == pytest.approx(2 * BAR_SECONDS, abs=0.05)
    assert "Traceback" not in chat.text
