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
from bot import intents, vocab

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


# The forms issue 20 taught the parser: number words, swapped letters, terse sentences, beats
# that say how to mix and master, targets and percentages, open requests, styles we offer.
WORDY_PARTS = (
    ["", "make a", "yo", "Drill.", "surprise me with a", "something like"],
    ["dark", "", "uplfiting", "drak", "chill", "hpye", ""],
    ["trpa", "tarp", "hosue", "dirll", "uk garage", "phonk", "daft punk", "techno", "edm",
     "reggaeton", "2step", "house beat"],
    ["at a hundred and twenty", "one forty", "at ninety-five", "144.", "", "around one oh five"],
    ["", "G minor.", "in F sharp minor", ""],
    ["", "for half a minute", "two minutes", "forty five seconds"],
    ["", "mastered at -9 LUFS", "mix it warm", "bright mix, club master", ""],
)  # fmt: skip
WORDY_FOLLOW_UPS = (
    "20% faster", "make it 10 percent slower", "faster, like 150",
    "make it longer, like 60 seconds", "slow it down to ninety", "surprise me",
    "dealer's choice", "yes", "sure", "a minor change",
)  # fmt: skip


def corpus(count: int, seed: int = 7, parts=PARTS, follow_ups=FOLLOW_UPS) -> list[str]:
    """Distinct, realistic messages: requests built from parts, follow-ups, small talk."""
    rng = random.Random(seed)
    seen: set[str] = set()
    messages: list[str] = []
    while len(messages) < count:
        if rng.random() < 0.25:
            text = f"{rng.choice(follow_ups)} {rng.randint(0, 10**6)}"
        else:
            text = " ".join(rng.choice(part) for part in parts).format(n=rng.randint(60, 180))
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


def _new_words(count: int, seed: int = 5) -> list[str]:
    """Words never seen before, genre-like and not, for the typo matcher with no cache help."""
    rng = random.Random(seed)
    letters = "etaoinshrdlucmfwypbgkvjxqz"
    stems = list(vocab.FUZZY_TARGETS)
    words: list[str] = []
    while len(words) < count:
        if rng.random() < 0.5:  # a typo of a target: one swap, drop or extra letter
            word = list(rng.choice(stems))
            i = rng.randrange(len(word) - 1)
            op = rng.randrange(3)
            if op == 0:
                word[i], word[i + 1] = word[i + 1], word[i]
            elif op == 1:
                del word[i]
            else:
                word.insert(i, rng.choice(letters))
            words.append("".join(word) + rng.choice(["", "x", "q"]))
        else:
            words.append("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    return words


def _fuzzy_rate(words: list[str]) -> dict:
    vocab.fuzzy_lookup.cache_clear()
    started = time.perf_counter()
    for word in words:
        vocab.fuzzy_lookup(word)
    elapsed = time.perf_counter() - started
    return {"per_s": round(len(words) / elapsed), "µs": round(elapsed / len(words) * 1e6, 1)}


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
    wordy_messages = corpus(1_000 if quick else 5_000, 11, WORDY_PARTS, WORDY_FOLLOW_UPS)
    wordy = _rate("wordy", wordy_messages, _cold, takes=takes)
    fuzzy = min((_fuzzy_rate(_new_words(20_000)) for _ in range(takes)), key=lambda r: r["µs"])
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
        Measure(section, "parse(), distinct messages in words, typos, styles (issue 20)",
                wordy["msgs/s"], "msgs/s", TARGET,
                note=f"{wordy['µs/msg']} µs/msg, cache cleared each time, best of {takes}"),
        Measure(section, "typo matcher, a word never seen before (no cache)", fuzzy["per_s"],
                "words/s", note=f"{fuzzy['µs']} µs/word: Damerau (OSA) on the targets that "
                "share a first or second letter"),
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
