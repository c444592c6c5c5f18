"""Several takes in `beatbot chat`: a real process on a pseudo-terminal, its embedded Redis and
in-process worker (a render process per core), real audio at the printed paths."""

from __future__ import annotations

import re
from pathlib import Path

from bot import keys
from bot.jobs import JobState
from bot.queue import CANCELLED
from engine.compose import BEATS_PER_BAR, bars_for
from tests.takes_measure import assert_takes_differ
from tests.test_cli_chat import (  # noqa: F401
    PREFIX,
    PROMPT,
    Chat,
    chats,
    open_redis,
    person,
    release_redis,
    start_chat,
)

TAKE_LINE = re.compile(r"take (\d): (/\S+\.mp3)")


def test_terminal_takes_are_numbered_lines_and_typing_pick_2_carries_on_with_it(
    person: dict[str, Path],  # noqa: F811
    chats: list[Chat],  # noqa: F811
) -> None:
    chat = start_chat(person)
    chats.append(chat)
    chat.send("3 takes of a trap beat for 8 seconds")
    accepted = chat.expect(r"trap beat at (\d+) BPM [^\n]*seeds (\d+), (\d+) and (\d+);")
    bpm = int(accepted.group(1))
    seeds = [int(accepted.group(i)) for i in (2, 3, 4)]
    chat.expect(r"take 3: /\S+\.mp3", timeout=120)
    chat.expect(PROMPT)
    shown = chat.text
    lines = TAKE_LINE.findall(shown)
    assert [number for number, _ in lines] == ["1", "2", "3"], shown[-3000:]
    assert shown.count("✓ 3 takes of your") == 1  # one result, not one per take
    assert '"pick 1" · "pick 2" · "pick 3"' in shown
    seconds = bars_for(8, bpm) * BEATS_PER_BAR * 60 / bpm  # whole bars
    assert_takes_differ([Path(path) for _, path in lines], seconds=seconds)

    chat.send("pick 2")
    chat.expect(rf"Take 2 is now the clip: trap, {bpm} BPM, seed {seeds[1]}\.")
    chat.send("make it faster")
    faster = chat.expect(r"On it: a \w+ trap beat at (\d+) BPM in \w+, [^\n]*seed (\d+)\.")
    assert int(faster.group(1)) > bpm and int(faster.group(2)) == seeds[1]
    chat.expect(r"Here's your \w+ trap beat", timeout=120)
    chat.send("quit")
    assert chat.wait_exit() == 0, chat.text[-2000:]
    assert "Traceback" not in chat.text


def test_ctrl_c_while_takes_render_cancels_every_take_and_leaves_no_orphan(
    person: dict[str, Path],  # noqa: F811
    chats: list[Chat],  # noqa: F811
) -> None:
    chat = start_chat(person)
    chats.append(chat)
    chat.send("2 takes of a trap beat for 1 minute")
    group = chat.expect(r"On it: 2 takes .*?\(job ([0-9a-f]{12})\)").group(1)
    chat.expect(r"[1-9]\d?%")  # the takes' combined progress, under the prompt
    chat.process.sendintr()
    assert chat.wait_exit() == 130, chat.text[-2000:]
    seen = chat.text
    cancelled = re.findall(r"Cancelled job ([0-9a-f]{12})\.", seen)
    assert len(cancelled) == 2 and group not in cancelled, seen[-2000:]
    assert "Traceback" not in seen
    assert_takes_cancelled(person["data"], cancelled)


def assert_takes_cancelled(data_dir: Path, jobs: list[str]) -> None:
    """After the chat has exited: every take is finished as cancelled, nothing of them is
    queued, running or half-written, and no cancelled take's audio was kept."""
    _handle, client = open_redis(data_dir)
    try:
        for job in jobs:
            record = client.hgetall(keys.job(PREFIX, job))
            assert record[b"state"].decode() == JobState.FAILED.value
            assert record[b"error"].decode() == CANCELLED
        assert client.zcard(keys.queue(PREFIX)) == 0
        assert client.scard(keys.active_jobs(PREFIX)) == 0
        in_flight = [
            key.decode()
            for pattern in ("arq:in-progress:*", "arq:job:*", "arq:retry:*")
            for key in client.scan_iter(match=pattern)
        ]
        assert in_flight == []
    finally:
        release_redis(data_dir, client)
    assert list((data_dir / "staging").iterdir()) == []
    assert list((data_dir / "clips").iterdir()) == []
