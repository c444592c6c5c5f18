"""How many chat messages per second the parser reads: `python3 -m benchmarks.bench_parse`.

Rows: the parse function on distinct messages (no cache help), on repeated messages (the
cache, as in a busy channel where people press the same buttons), on 10 kB pastes, and the
`beatbot parse` command fed a file through stdin (one JSON line per line).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Measure, peak_rss_mib, section_main
from bot import intents

TARGET = 10_000.0  # msgs/s, the bound

PARTS = (
    ["make a", "gimme a", "yo", "can you do a", "", "", "<@123>", "please make"],
    ["dark", "chill", "hard", "sad", "dreamy", "gloomy", "", "", "energetic", "agressive"],
    ["trap", "lofi", "boom bap", "deep house", "uk drill", "dnb", "tecno", "hiphopp", "rnb",
     "synth pop", "edm", "dubstep", "jazzy", "rock", "beat", "polka"],
    ["beat", "", "instrumental", "type beat"],
    ["at {n}", "{n} bpm", "around {n}", "", "", "bpm {n}"],
    ["in C minor", "in F#m", "in Bb", "", "key of G", "in A"],
    ["for 2 minutes", "30s", "1:30", "", "", "45 seconds long"],
    ["", "", "-14 LUFS", "for the club", "bass heavy", "warm"],
)  # fmt: skip
FOLLOW_UPS = (
    "make it faster", "a lot slower", "10 bpm faster", "same but in D minor", "now as house",
    "darker", "another one", "one more, but sad", "stems for that", "just the drums",
    "master it for club", "mix these bass heavy", "help", "genres", "status", "cancel", "hi",
    "thanks!", "lol", "what's up", "🔥🔥🔥", "привет", "in my house", "",
)  # fmt: skip


def corpus(count: int, seed: int = 7) -> list[str]:
    """Distinct, realistic messages: requests built from parts, follow-ups, small talk."""
    rng = random.Random(seed)
    seen: set[str] = set()
    messages: list[str] = []
    while len(messages) < count:
        if rng.random() < 0.25:
            text = f"{rng.choice(FOLLOW_UPS)} {rng.randint(0, 10**6)}"
        else:
            text = " ".join(rng.choice(part) for part in PARTS).format(n=rng.randint(60, 180))
            text = " ".join(text.split()) + f" #{rng.randint(0, 10**6)}"
        if text not in seen:
            seen.add(text)
            messages.append(text)
    return messages


def _rate(
    name: str, messages: list[str], fn: Callable[[str], object], repeat: int = 1, takes: int = 1
) -> dict:
    """Messages per second over `repeat` passes; the best of `takes` timings (each starting
    with an empty cache), as the engine's best-of-3: a 2-vCPU VM's neighbours only slow it."""
    elapsed = float("inf")
    for _ in range(takes):
        if takes > 1:
            intents._parse_cached.cache_clear()
        started = time.perf_counter()
        for _ in range(repeat):
            for message in messages:
                fn(message)
        elapsed = min(elapsed, time.perf_counter() - started)
    count = len(messages) * repeat
    return {
        "case": name,
        "messages": count,
        "seconds": round(elapsed, 3),
        "msgs/s": round(count / elapsed),
        "µs/msg": round(elapsed / count * 1e6, 1),
    }


def _cold(text: str) -> object:
    intents._parse_cached.cache_clear()  # measure the full read, not a cache hit
    return intents.parse(text)


def _command() -> list[str]:
    script = shutil.which("beatbot")
    return [script] if script else [sys.executable, "-m", "adapters.cli"]


def _cli(messages: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "messages.txt")
        path.write_text("\n".join(messages) + "\n")
        env = {**os.environ, "BEATBOT_STORAGE__DATA_DIR": tmp}
        started = time.perf_counter()
        subprocess.run([*_command(), "parse", "hi"], check=True, capture_output=True, env=env)
        startup = time.perf_counter() - started
        with path.open("rb") as stdin:
            started = time.perf_counter()
            done = subprocess.run(
                [*_command(), "parse"], stdin=stdin, check=True, capture_output=True, env=env
            )
            elapsed = time.perf_counter() - started
    lines = done.stdout.count(b"\n")
    assert lines == len(messages), "beatbot parse must print one line per input line"
    streaming = max(elapsed - startup, 1e-9)
    return {
        "case": f"beatbot parse < file (start-up {startup:.2f} s not counted)",
        "messages": lines,
        "seconds": round(elapsed, 3),
        "msgs/s": round(lines / streaming),
        "µs/msg": round(streaming / lines * 1e6, 1),
    }


def measure(quick: bool) -> list[Measure]:
    messages = corpus(4_000 if quick else 20_000)
    intents.parse("warm up the vocabulary and regexes")
    takes = 1 if quick else 3
    cold = _rate("cold", messages[: 1_000 if quick else 5_000], _cold, takes=takes)
    misses = _rate("misses", messages, intents.parse, takes=takes)
    hot = messages[:500]
    for text in hot:
        intents.parse(text)
    hits = _rate("hits", hot, intents.parse, repeat=10 if quick else 40)
    pastes = [(m + " ") * (10_240 // (len(m) + 1) + 1) for m in messages[: 50 if quick else 200]]
    big = _rate("pastes", pastes, _cold)
    cli = _cli(messages[: 2_000 if quick else 20_000])
    section = "parse"
    return [
        Measure(section, "parse(), distinct messages, cache cleared each time", cold["msgs/s"],
                "msgs/s", TARGET,
                note=f"{cold['µs/msg']} µs/msg, {cold['messages']:,} messages, best of {takes}"),
        Measure(section, "parse(), distinct messages (LRU cache misses)", misses["msgs/s"],
                "msgs/s", TARGET, note=f"{misses['µs/msg']} µs/msg"),
        Measure(section, "parse(), repeated messages (cache hits)", hits["msgs/s"], "msgs/s",
                note="a busy channel pressing the same buttons"),
        Measure(section, "parse(), 10 kB pastes", big["msgs/s"], "msgs/s",
                note=f"{big['µs/msg']} µs/msg"),
        Measure(section, "`beatbot parse` < file", cli["msgs/s"], "msgs/s",
                note=cli["case"].removeprefix("beatbot parse < file ").strip("()")),
        Measure("memory", "peak RSS, parse process", peak_rss_mib(), "MiB"),
    ]  # fmt: skip


if __name__ == "__main__":
    section_main(measure, "parse msgs/s")
