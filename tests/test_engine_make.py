"""make_beat end to end: every genre's file measures what was asked, plus exports and the CLI.

Each file is measured from the outside: tempo by onset autocorrelation, key by chroma against
Krumhansl-Kessler profiles, duration in whole bars, integrated loudness (pyloudnorm, and
ffmpeg's ebur128 for the compressed formats) and true peak on 4x oversampled audio.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from engine.audio_io import decode
from engine.compose import STEM_NAMES, BeatSpec
from engine.genres import GENRE_NAMES, get_genre
from engine.pipeline import (
    compose_stage,
    make_beat,
    master_stage,
    mix_stage,
    render_stage,
)
from engine.theory import parse_key
from tests.audio_fixtures import ebur128
from tests.audio_measure import PITCH_NAMES, estimate_key, estimate_tempo

SR = 44100
SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[1]


def spec_for(genre: str, seconds: float = SECONDS, **kw: object) -> BeatSpec:
    g = get_genre(genre)
    values = {
        "genre": genre,
        "bpm": g.default_bpm,
        "key": g.default_key,
        "mood": g.default_mood,
        "duration": seconds,
        **kw,
    }
    return BeatSpec(**values)  # type: ignore[arg-type]


def true_peak_db(audio: np.ndarray) -> float:
    """dBTP: the peak of the 4x oversampled signal (BS.1770-4 Annex 2)."""
    up = signal.resample_poly(np.asarray(audio, dtype=np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.abs(up).max()))


def lufs(audio: np.ndarray, sr: int = SR) -> float:
    return float(pyloudnorm.Meter(sr).integrated_loudness(np.asarray(audio, dtype=np.float64)))


@pytest.fixture(scope="module")
def beats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, np.ndarray]]:
    folder = tmp_path_factory.mktemp("beats")
    made = {}
    for genre in GENRE_NAMES:
        result = make_beat(
            spec_for(genre),
            1,
            sr=SR,
            lufs=-14.0,
            ceiling=-1.0,
            out_path=folder / f"{genre.replace(' ', '_')}.wav",
        )
        audio, sr = sf.read(result.path, dtype="float32")
        assert sr == SR
        made[genre] = (result, audio)
    return made


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_genre_file_measures_what_was_asked(genre: str, beats) -> None:
    result, audio = beats[genre]
    g = get_genre(genre)
    key = parse_key(g.default_key)

    # Tempo: search the genre's neighbourhood (as a DJ tool would) so the octave is settled.
    low, high = g.bpm_range
    tempo = estimate_tempo(audio, SR, low * 0.75, high * 1.25)
    assert tempo == pytest.approx(g.default_bpm, rel=0.02), f"{genre}: measured {tempo:.1f} BPM"

    tonic, mode, score = estimate_key(audio, SR)
    found = f"{PITCH_NAMES[tonic]} {mode} (r={score:.2f})"
    assert tonic == key.tonic, f"{genre}: asked {g.default_key}, measured {found}"
    if genre != "rock":  # power chords have no third: rock's mode is ambiguous by design
        assert mode == key.mode, f"{genre}: asked {g.default_key}, measured {found}"

    bar = 240 / g.default_bpm
    seconds = len(audio) / SR
    assert abs(seconds / bar - round(seconds / bar)) < 1e-3  # whole bars
    assert abs(seconds - SECONDS) <= bar / 2 + 1e-6
    assert result.duration == pytest.approx(seconds, abs=1e-6)

    assert lufs(audio) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_db(audio) <= -1.0
    assert result.loudness.true_peak <= -1.0


def test_same_seed_is_byte_identical_and_another_seed_differs(tmp_path: Path) -> None:
    spec = spec_for("hip hop", 8)
    paths = [
        make_beat(spec, seed, out_path=tmp_path / f"{i}.wav").path
        for i, seed in enumerate((42, 42, 43))
    ]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]
    a, _ = sf.read(paths[0])
    c, _ = sf.read(paths[2])
    n = min(len(a), len(c))
    assert np.abs(a[:n] - c[:n]).mean() > 0.01  # clearly different, not a dither wiggle


@pytest.mark.parametrize(
    ("fmt", "quality", "target"), [("mp3", "club", -8.0), ("flac", "cd", -9.0)]
)
def test_mp3_and_flac_hold_loudness_and_ceiling_by_ffmpeg(
    fmt: str, quality: str, target: float, tmp_path: Path
) -> None:
    result = make_beat(
        spec_for("house", 8), 7, lufs=target, ceiling=-1.0, out_path=tmp_path / f"beat.{fmt}"
    )
    measured, peak = ebur128(result.path)
    assert measured == pytest.approx(target, abs=0.5)
    assert peak <= -1.0
    decoded = decode(result.path, sr=SR)
    assert lufs(decoded) == pytest.approx(target, abs=0.5)
    assert true_peak_db(decoded) <= -1.0


def test_stems_sum_to_the_pre_master_mix(tmp_path: Path) -> None:
    spec = spec_for("boom bap", 8)
    arrangement = compose_stage(spec, 9)
    raw = render_stage(arrangement, SR)
    assert tuple(raw) == STEM_NAMES
    mixed = mix_stage(raw, SR, "warm", bpm=spec.bpm)
    total = np.zeros_like(mixed.mix)
    for audio in mixed.stems.values():
        total += audio
    assert np.allclose(total, mixed.mix, atol=1e-6)
    assert np.abs(mixed.mix).max() < 1.0  # headroom for the stem files

    result = make_beat(
        spec,
        9,
        profile="warm",
        out_path=tmp_path / "beat.wav",
        stems_dir=tmp_path / "stems",
        midi_path=tmp_path / "beat.mid",
    )
    files = {p.stem: sf.read(p, dtype="float64")[0] for p in (tmp_path / "stems").glob("*.wav")}
    assert set(result.stems) == set(files)
    assert {"drums", "kick", "snare", "hats", "bass", "chords", "melody", "fx"} <= set(files)
    parts = [files[name] for name in STEM_NAMES if name in files]
    assert np.allclose(sum(parts), mixed.mix, atol=1e-4)  # 24-bit files, unity sum
    drums = sum(files[n] for n in ("kick", "snare", "hats", "perc") if n in files)
    assert np.allclose(files["drums"], drums, atol=1e-4)
    # The master is that mix, bussed and brought to loudness.
    master = master_stage(mixed.mix, SR, -14.0, -1.0, "warm")
    written, _ = sf.read(result.path, dtype="float64")
    assert np.allclose(written, master.audio, atol=1e-4)
    assert result.midi_path is not None and result.midi_path.stat().st_size > 100


def test_loop_is_bar_aligned_and_seamless(tmp_path: Path) -> None:
    spec = spec_for("lo-fi", 20)
    result = make_beat(spec, 5, out_path=tmp_path / "beat.wav", loop_bars=2)
    assert result.loop_path is not None and result.loop_path.name == "beat-loop2.wav"
    loop, _ = sf.read(result.loop_path, dtype="float64")
    assert len(loop) == round(2 * 240 / spec.bpm * SR)
    # Play it twice: the jump across the wrap is no bigger than the audio's ordinary steps.
    steps = np.abs(np.diff(loop, axis=0)).max(axis=1)
    wrap = np.abs(loop[0] - loop[-1]).max()
    assert wrap <= np.percentile(steps, 99.5)
    assert lufs(np.tile(loop, (3, 1))) == pytest.approx(-14.0, abs=0.7)
    assert true_peak_db(np.tile(loop, (2, 1))) <= -1.0


def test_progress_reports_the_stages_in_order(tmp_path: Path) -> None:
    stages: list[tuple[str, float]] = []
    make_beat(
        spec_for("techno", 6),
        1,
        out_path=tmp_path / "t.wav",
        on_progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    names = [s for s, _ in stages]
    assert names[0] == "Composing" and names[-1] == "Encoding"
    assert {
        "Rendering drums",
        "Rendering bass",
        "Rendering chords",
        "Rendering melody",
        "Mixing",
        "Mastering",
    } <= set(names)
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions)


# --- the command -------------------------------------------------------------------------


def beatbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BEATBOT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args, "--data-dir", str(cwd / "data")],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_beatbot_make_prints_what_it_made(tmp_path: Path) -> None:
    run = beatbot(
        "make",
        "dark trap beat at 140 in F#m",
        "-o",
        "beat.wav",
        "--seed",
        "3",
        "--duration",
        "8",
        "--midi",
        "beat.mid",
        "--stems",
        "stems",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(": ", 1) for line in run.stdout.strip().splitlines())
    assert lines["genre"] == "trap" and lines["bpm"] == "140" and lines["key"] == "F#m"
    assert lines["mood"] == "dark" and lines["seed"] == "3"
    assert float(lines["loudness"].split()[0]) == pytest.approx(-14.0, abs=0.5)
    assert float(lines["true peak"].split()[0]) <= -1.0
    assert (tmp_path / "beat.wav").exists() and (tmp_path / "beat.mid").exists()
    assert (tmp_path / "stems" / "drums.wav").exists()
    assert "Composing..." in run.stderr  # plain progress lines when not on a terminal
    audio, _ = sf.read(tmp_path / "beat.wav")
    assert estimate_tempo(audio, SR, 105, 200) == pytest.approx(140, rel=0.02)


def test_beatbot_make_picks_and_prints_a_seed_and_renders_takes(tmp_path: Path) -> None:
    run = beatbot(
        "make", "chill lofi", "-o", "take.flac", "--takes", "2", "--duration", "5", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    seeds = [
        int(line.split(": ")[1]) for line in run.stdout.splitlines() if line.startswith("seed: ")
    ]
    assert len(seeds) == 2 and seeds[1] == seeds[0] + 1
    assert (tmp_path / "take-take1.flac").exists() and (tmp_path / "take-take2.flac").exists()


def test_beatbot_make_leaves_out_and_adds_parts(tmp_path: Path) -> None:
    run = beatbot(
        "make", "dark trap", "-o", "b.wav", "--duration", "6", "--seed", "3",
        "--exclude", "hats, Melody", "--include", "piano", "--stems", "st", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "left out: hats, melody" in run.stdout
    stems = {p.stem for p in (tmp_path / "st").glob("*.wav")}
    assert {"kick", "chords", "bass"} <= stems and not {"hats", "melody"} & stems


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["trap beat at 0 bpm"], "BPM"),
        (["house beat 10 hours long"], ""),
        (["trap", "--key", "H#"], "key"),
        (["trap", "--genre", "polka"], "polka"),
        (["trap", "--bpm", "0"], "BPM"),
        (["trap", "--exclude", "hats,vocals"], "vocals"),
        (["trap", "--include", "banjo"], "banjo"),
        (["trap", "--exclude", "drums,bass,chords,melody,fx"], "nothing to play"),
    ],
)
def test_beatbot_make_bad_requests_exit_2_with_one_line(
    args: list[str], word: str, tmp_path: Path
) -> None:
    run = beatbot("make", *args, "-o", "x.wav", cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert word.lower() in lines[0].lower()
    assert "Traceback" not in run.stderr and not (tmp_path / "x.wav").exists()


_PITCHES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@pytest.mark.parametrize("index", range(len(GENRE_NAMES)), ids=list(GENRE_NAMES))
def test_any_key_asked_is_the_key_measured(index: int, tmp_path: Path) -> None:
    """Not only the defaults: each genre in another tonic and the other mode (30 s, the
    default length) still reads as the key that was asked."""
    genre = GENRE_NAMES[index]
    home = parse_key(get_genre(genre).default_key)
    tonic = (home.tonic + 5 * (index + 1)) % 12
    key = _PITCHES[tonic] + ("" if home.is_minor else "m")
    result = make_beat(spec_for(genre, 30.0, key=key), 1, out_path=tmp_path / "beat.wav")
    audio, sr = sf.read(result.path, dtype="float32")
    found_tonic, mode, score = estimate_key(audio, sr)
    found = f"{PITCH_NAMES[found_tonic]} {mode} (r={score:.2f})"
    assert found_tonic == tonic, f"{genre}: asked {key}, measured {found}"
    if genre != "rock":
        assert mode == parse_key(key).mode, f"{genre}: asked {key}, measured {found}"


def test_masters_headed_for_mp3_leave_room_for_the_encoder() -> None:
    from engine.pipeline import LOSSY_HEADROOM_DB, master_ceiling

    assert master_ceiling(-1.0, Path("beat.wav")) == -1.0
    assert master_ceiling(-1.0, Path("beat.FLAC")) == -1.0
    assert master_ceiling(-1.0, Path("beat.mp3")) == -1.0 - LOSSY_HEADROOM_DB
    assert master_ceiling(-9.0, Path("beat.mp3")) == -9.0  # never below the range mastering takes
