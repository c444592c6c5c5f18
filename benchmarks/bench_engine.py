"""Engine speed: compose + render + mix + master a 30 s stereo 44.1 kHz beat per genre, on one
core, excluding start-up and file encoding.

    python3 -m benchmarks.bench_engine [--quick]

Each genre gets warm-up takes (imports, compiled kernels and that genre's kits and voices in
place, as in a long-running render process): one per seed until the takes between them have
drawn every kit and voice of the genre's palette (engine.palettes; a take draws one option
per role, so one warm-up take left a new kit cold in most timed takes, and timed the first
beat a process ever made on it). Then timed takes, each with a new seed: a new beat whose
notes the instrument cache hasn't rendered yet (re-timing one seed would time a beat whose
every note is cached). The best take counts. "x realtime" = audio seconds /
seconds spent. The note splits the time by stage so the slow stage is visible.
One extra row times everything a chat job writes (MP3, stems, MIDI, waveform) for trap.
"""

from __future__ import annotations

from benchmarks.common import Measure, peak_rss_mib, pin_to_one_core, section_main, single_threaded

single_threaded()

import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

SECONDS = 30.0
SR = 44100
TARGET = 100.0  # the bound; its goal is 300x


def _take(spec: object, seed: int) -> dict[str, float]:
    """Seconds per stage for one beat, in memory."""
    from engine.pipeline import compose_stage, master_stage, mix_stage, render_stage

    times: dict[str, float] = {}
    start = time.perf_counter()
    arrangement = compose_stage(spec, seed)  # type: ignore[arg-type]
    times["compose"] = time.perf_counter() - start
    mark = time.perf_counter()
    stems = render_stage(arrangement, SR)
    times["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    mixed = mix_stage(stems, SR, "balanced", bpm=arrangement.bpm)
    times["mix"] = time.perf_counter() - mark
    mark = time.perf_counter()
    master_stage(mixed.mix, SR, -14.0, -1.0, "balanced")
    times["master"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    times["audio"] = arrangement.duration
    return times


def _full_job(spec: object, seed: int, folder: Path) -> tuple[float, float]:
    """(audio seconds, seconds) for make_beat writing what a chat job writes."""
    from engine.pipeline import make_beat

    start = time.perf_counter()
    result = make_beat(
        spec,  # type: ignore[arg-type]
        seed,
        sr=SR,
        out_path=folder / f"beat-{seed}.mp3",
        stems_dir=folder / f"stems-{seed}",
        midi_path=folder / f"beat-{seed}.mid",
        waveform_path=folder / f"wave-{seed}.png",
    )
    return result.duration, time.perf_counter() - start


def warm_seeds(genre: str) -> list[int]:
    """Seeds whose takes between them draw every option of the genre's palette."""
    from engine.compose import rng_for
    from engine.palettes import PALETTES, sound_for

    palette = PALETTES[genre]
    wanted = {
        *(("kit", k) for k in palette.kits),
        *(("bass", v) for v in palette.bass),
        *(("chords", v) for v in palette.chords),
        *(("melody", v) for v in palette.melody),
    }
    seeds: list[int] = []
    seen: set[tuple[str, str]] = set()
    for seed in range(1000, 1100):
        take = sound_for(genre, rng_for(seed, "palette"))
        drawn = {("kit", take.kit), ("bass", take.bass), ("chords", take.chords)}
        drawn.add(("melody", take.melody))
        if drawn - seen:
            seeds.append(seed)
            seen |= drawn
        if seen >= wanted:
            break
    return seeds


def measure(quick: bool) -> list[Measure]:
    from bot.allocator import keep_freed_memory

    pinned = pin_to_one_core()
    keep_freed_memory()  # as the worker's render processes do
    from engine.compose import BeatSpec
    from engine.genres import GENRES

    takes = 1 if quick else 3
    rows: list[Measure] = []
    total_audio = total_time = 0.0
    for genre in GENRES:
        spec = BeatSpec(
            genre.name, genre.default_bpm, genre.default_key, genre.default_mood, SECONDS
        )
        for seed in warm_seeds(genre.name):
            _take(spec, seed)
        best = min((_take(spec, 2 + i) for i in range(takes)), key=lambda t: t["total"])
        total_audio += best["audio"]
        total_time += best["total"]
        stages = ", ".join(
            f"{stage} {best[stage] * 1000:.0f}" for stage in ("compose", "render", "mix", "master")
        )
        rows.append(
            Measure(
                "engine",
                f"{genre.name} ({best['audio']:.1f} s clip)",
                best["audio"] / best["total"],
                "x realtime",
                TARGET,
                note=f"ms: {stages}",
            )
        )
    rows.insert(
        0,
        Measure(
            "engine",
            "all 14 genres (total audio / total time)",
            total_audio / total_time,
            "x realtime",
            TARGET,
            note=f"goal 300x; best of {takes} after warm-up takes drawing every palette option; "
            f"{pinned}; allocator as in workers",
        ),
    )
    spec = BeatSpec("trap", 140, "Cm", "dark", SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        _full_job(spec, 1, Path(tmp))
        audio, spent = min((_full_job(spec, 2 + i, Path(tmp)) for i in range(takes)),
                           key=lambda r: r[1])  # fmt: skip
    rows.append(
        Measure(
            "engine",
            "trap, everything a chat job writes",
            audio / spent,
            "x realtime",
            note=f"make_beat + MP3, stems, MIDI, waveform: {spent * 1000:.0f} ms",
        )
    )
    rows.append(Measure("memory", "peak RSS, engine process", peak_rss_mib(), "MiB"))
    return rows


if __name__ == "__main__":
    section_main(measure, "engine x realtime per genre (30 s clip, one core)")
