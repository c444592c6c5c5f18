"""How every genre sounds, as numbers and pictures, from the files `beatbot make` writes.

    python3 -m benchmarks.sound                  all 14 genres, 60 s each (a few minutes)
    python3 -m benchmarks.sound --genres trap house --seconds 30

For each genre it renders one beat with stems and MIDI (the same `make_beat` as
`beatbot make ... --stems DIR --midi FILE`), measures it with tests/sound_measure.py and
draws one picture: per-bar stem levels with the sections marked, over a spectrogram of the
master. It writes benchmarks/sound.md (the table) and benchmarks/sound/<genre>.png, so a
reviewer can look before listening. Targets are issue 18's; a cell ends in ✗ when it misses.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import ROOT
from engine.compose import STEM_NAMES, Arrangement, BeatSpec, compose
from engine.genres import GENRES, get_genre
from engine.pipeline import make_beat
from tests import sound_measure as measure

OUT_DIR = ROOT / "benchmarks" / "sound"
TABLE = ROOT / "benchmarks" / "sound.md"
SEED = 1
TAKE_SEEDS = (1, 2, 3)  # three takes of one trap prompt: do they sound like three producers?
LRA_TARGET = {"edm": 4.0, "dubstep": 4.0, "trap": 3.0, "house": 3.0, "pop": 3.0, "drill": 3.0}
SWING_TARGET = {"lo-fi": 1.35, "boom bap": 1.35, "hip hop": 1.35, "r&b": 1.2}
SHORT_KICKS = ("house", "techno", "boom bap", "rock")


@dataclass
class GenreSound:
    genre: str
    lra: float
    lift: float
    correlation: float
    low_correlation: float
    kick_decay: float
    hats_above_16k: float
    hats_below_6k: float
    swing: float
    glide: float
    realtime: float


def render(genre: str, seconds: float, seed: int, folder: Path) -> tuple[Path, Arrangement, float]:
    info = get_genre(genre)
    spec = BeatSpec(genre, float(info.default_bpm), info.default_key, info.default_mood, seconds)
    started = time.perf_counter()
    result = make_beat(
        spec,
        seed,
        out_path=folder / "beat.wav",
        stems_dir=folder / "stems",
        midi_path=folder / "beat.mid",
    )
    took = time.perf_counter() - started
    return result.path, compose(spec, seed), result.duration / took


def measure_genre(genre: str, seconds: float, folder: Path) -> tuple[GenreSound, dict]:
    path, arrangement, realtime = render(genre, seconds, SEED, folder)
    audio, sr = sf.read(path, dtype="float32")
    levels = measure.bar_levels(audio, sr, arrangement.bpm)
    notes = measure.midi_notes(folder / "beat.mid")
    stems = {
        name: sf.read(folder / "stems" / f"{name}.wav", dtype="float32")[0]
        for name in STEM_NAMES
        if (folder / "stems" / f"{name}.wav").exists()
    }
    kick_onsets = measure.onsets_of(notes, "kick", arrangement.bpm)
    kick = measure.decay_times(stems["kick"], sr, onsets=kick_onsets) if "kick" in stems else []
    hats = measure.band_fractions(stems["hats"], sr, [6000, 16000]) if "hats" in stems else None
    row = GenreSound(
        genre=genre,
        lra=measure.loudness_range(path),
        lift=measure.bar_lift(levels),
        correlation=measure.lr_correlation(audio, sr),
        low_correlation=measure.lr_correlation(audio, sr, high=120.0),
        kick_decay=float(np.median(kick)) if kick else float("nan"),
        hats_above_16k=hats[2] if hats else float("nan"),
        hats_below_6k=hats[0] if hats else float("nan"),
        swing=measure.swing_ratio(notes),
        glide=measure.glide_fraction(notes) if genre in ("trap", "drill") else float("nan"),
        realtime=realtime,
    )
    stem_levels = {name: measure.bar_levels(x, sr, arrangement.bpm) for name, x in stems.items()}
    picture = {"arrangement": arrangement, "master": audio, "sr": sr, "stems": stem_levels}
    return row, picture


def take_overlap(seconds: float, folder: Path) -> tuple[float, int]:
    """(largest pairwise melody Jaccard, distinct first melody pitches) over three trap takes."""
    sets, firsts = [], set()
    for seed in TAKE_SEEDS:
        take = folder / f"take{seed}"
        take.mkdir()
        render("trap", seconds, seed, take)
        notes = measure.midi_notes(take / "beat.mid")
        melody = [n for n in notes if n.track == "melody"]
        sets.append(measure.note_set(notes))
        if melody:
            firsts.add(melody[0].pitch)
    pairs = [measure.note_jaccard(a, b) for i, a in enumerate(sets) for b in sets[i + 1 :]]
    return max(pairs), len(firsts)


def draw(genre: str, picture: dict, path: Path) -> None:
    """Per-bar stem levels (sections marked) above a log-frequency spectrogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arrangement: Arrangement = picture["arrangement"]
    stems: dict[str, np.ndarray] = picture["stems"]
    names = [n for n in STEM_NAMES if n in stems]
    bars = max(len(v) for v in stems.values())
    grid = np.full((len(names), bars), np.nan)
    for row, name in enumerate(names):
        grid[row, : len(stems[name])] = stems[name]
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), gridspec_kw={"height_ratios": [1, 1.3]}, constrained_layout=True
    )
    image = top.imshow(
        np.clip(grid, -60, None), aspect="auto", cmap="magma", interpolation="nearest", vmin=-60
    )
    top.set_yticks(range(len(names)), names)
    top.set_xlabel("bar")
    figure.colorbar(image, ax=top, label="LUFS per bar")
    for section in arrangement.sections:
        top.axvline(section.start_bar - 0.5, color="white", linewidth=1.2)
        top.text(section.start_bar - 0.3, 0, section.name, color="white", fontsize=8, va="center")
    top.set_title(
        f"{genre} — {arrangement.bpm:g} BPM, {arrangement.key.name}, seed {SEED}", loc="left"
    )
    mono = picture["master"].mean(axis=1)
    sr = picture["sr"]
    bottom.specgram(mono, NFFT=2048, Fs=sr, noverlap=1024, cmap="magma", vmin=-120)
    bottom.set_yscale("symlog", linthresh=200)
    bottom.set_ylim(30, sr / 2)
    bottom.set_ylabel("Hz")
    bottom.set_xlabel("seconds")
    figure.savefig(path, dpi=72)
    plt.close(figure)
    # A 256-colour palette keeps each picture small enough to commit (a few hundred KB -> ~100).
    from PIL import Image

    with Image.open(path) as full:
        full.convert("RGB").quantize(colors=256).save(path, optimize=True)


def mark(value: float, ok: bool | None, fmt: str = "{:.2f}") -> str:
    if not np.isfinite(value):
        return "–"
    text = fmt.format(value)
    return text if ok is None else f"{text} {'✓' if ok else '✗'}"


def table(rows: list[GenreSound], overlap: tuple[float, int] | None, seconds: float) -> str:
    lines = [
        f"# How each genre sounds ({seconds:g} s renders, seed {SEED})",
        "",
        "Written by `python3 -m benchmarks.sound`; pictures in `benchmarks/sound/`. Targets from "
        "issue 18: LRA ≥ 4 LU (edm, dubstep) / ≥ 3 LU (trap, house, pop, drill); loudest bar "
        "after bar 4 ≥ 2 dB over the median bar; L/R correlation 0.70-0.85 broadband and ≥ 0.95 "
        "below 120 Hz; kick -20 dB within 0.45 s (house, techno, boom bap, rock); hat swing ≥ "
        "1.35 (lo-fi, boom bap, hip hop) / ≥ 1.2 (r&b); ≥ 25% of trap 808 notes glide.",
        "",
        "| genre | LRA LU | bar lift dB | L/R corr | corr <120 Hz | kick -20 dB s "
        "| hats >16k | hats <6k | hat swing | 808 glide | x realtime |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lra_target = LRA_TARGET.get(r.genre)
        swing_target = SWING_TARGET.get(r.genre)
        cells = [
            r.genre,
            mark(r.lra, r.lra >= lra_target if lra_target else None, "{:.1f}"),
            mark(r.lift, r.lift >= 2.0, "{:.1f}"),
            mark(r.correlation, 0.70 <= r.correlation <= 0.85),
            mark(r.low_correlation, r.low_correlation >= 0.95, "{:.3f}"),
            mark(r.kick_decay, r.kick_decay <= 0.45 if r.genre in SHORT_KICKS else None),
            mark(r.hats_above_16k, None),
            mark(r.hats_below_6k, None),
            mark(r.swing, r.swing >= swing_target if swing_target else None),
            mark(r.glide, r.glide >= 0.25 if r.genre == "trap" else None),
            mark(r.realtime, None, "{:.0f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if overlap is not None:
        jaccard, firsts = overlap
        lines += [
            "",
            f"Three trap takes (seeds {', '.join(map(str, TAKE_SEEDS))}): largest pairwise "
            f"melody Jaccard {mark(jaccard, jaccard <= 0.35)} (target ≤ 0.35); "
            f"{firsts} distinct first melody pitches {'✓' if firsts > 1 else '✗'}.",
        ]
    lines += [
        "",
        "x realtime here is `make_beat` end to end (compose, render, mix, master, and writing "
        "WAV, stems and MIDI) in one cold-ish process; `python3 -m benchmarks --only engine` "
        "times the engine alone.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.sound", description=__doc__)
    parser.add_argument("--genres", nargs="+", default=[g.name for g in GENRES])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-pictures", action="store_true")
    args = parser.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for genre in args.genres:
            folder = Path(tmp) / genre.replace(" ", "_").replace("&", "n")
            folder.mkdir()
            row, picture = measure_genre(genre, args.seconds, folder)
            rows.append(row)
            if not args.no_pictures:
                draw(genre, picture, OUT_DIR / f"{folder.name}.png")
            print(f"{genre}: LRA {row.lra:.1f} LU, corr {row.correlation:.2f}", flush=True)
        overlap = take_overlap(args.seconds, Path(tmp)) if "trap" in args.genres else None
    text = table(rows, overlap, args.seconds)
    TABLE.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
