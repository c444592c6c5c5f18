"""Where the audio commands write: a bad output path is one line and exit 2 before any work,
and every file is written with the person's umask. Real processes, real files.

Tests run as root, which ignores permission bits, so the unwritable places are ones root
can't write either: /sys (sysfs takes no new files: "permission denied" even for root) and a
folder mounted read-only in a private mount namespace (`unshare -m`, as root only; as
another user a chmod 555 folder is read-only enough).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audio_fixtures import write_tone

ROOT = Path(__file__).resolve().parents[1]
SYSFS = Path("/sys/kernel")  # a folder no one may create files in, root included
# Twenty 3-minute takes: a minute or more of rendering on any machine if a check came late,
# so a refusal in under CHECK_SECONDS (a second or two, even on a busy box) can't be a render.
LONG_BEAT = ("dark trap beat 3 minutes", "--takes", "20")
CHECK_SECONDS = 20.0


def beatbot(
    *args: str, cwd: Path, umask: int | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATBOT")}
    env.update(PYTHONPATH=str(ROOT), BEATBOT_STORAGE__DATA_DIR=str(cwd.parent / "data"))
    return subprocess.run(
        [*prefix, sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The person's folder: a song to master, a file and a folder to misuse."""
    folder = tmp_path / "work"
    folder.mkdir()
    write_tone(folder / "song.wav", seconds=3.0)
    (folder / "notes.txt").write_text("not a folder\n")
    (folder / "beats").mkdir()
    return folder


@pytest.fixture
def read_only(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    """A read-only folder, and the command prefix that makes it so for the process."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder, ()
    if shutil.which("unshare") is None:
        pytest.fail("The read-only test needs `unshare` (util-linux: apt-get install util-linux).")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = ("unshare", "-m", "sh", "-c", script, str(folder))
    probe = subprocess.run([*prefix, "touch", str(folder / "x")], capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        pytest.fail(
            "Could not mount a read-only folder with `unshare -m` (needs root with "
            f"CAP_SYS_ADMIN): {probe.stderr.strip() or probe.returncode}"
        )
    return folder, prefix


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))}


def refused(run: subprocess.CompletedProcess[str], seconds: float | None, *words: str) -> str:
    """One `error:` line on stderr, exit 2, nothing rendered (and, for `make`, in less time
    than the render would have taken)."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "Composing" not in run.stderr and run.stdout == "", "rendering started"
    assert seconds is None or seconds < CHECK_SECONDS, f"took {seconds:.1f} s to refuse"
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    return lines[0]


MAKE_CASES = {
    # name: (flags, words the error must say); paths are relative to the work folder.
    "output: permission denied": (["-o", f"{SYSFS}/beat.wav"], ["permission", str(SYSFS)]),
    "output: a file used as a folder": (["-o", "notes.txt/beat.wav"], ["notes.txt", "is a file"]),
    "output: a folder used as a file": (["-o", "beats"], ["beats", "is a folder"]),
    "output: a missing folder": (["-o", "nowhere/beat.wav"], ["nowhere", "does not exist"]),
    "stems: permission denied": (
        ["-o", "beat.wav", "--stems", f"{SYSFS}/stems"],
        ["permission", str(SYSFS)],
    ),
    "stems: a file used as a folder": (
        ["-o", "beat.wav", "--stems", "notes.txt"],
        ["notes.txt", "is a file"],
    ),
    "stems: under a file": (
        ["-o", "beat.wav", "--stems", "notes.txt/stems"],
        ["notes.txt", "is a file"],
    ),
    "midi: permission denied": (
        ["-o", "beat.wav", "--midi", f"{SYSFS}/beat.mid"],
        ["permission", "midi"],
    ),
    "midi: a folder used as a file": (
        ["-o", "beat.wav", "--midi", "beats"],
        ["beats", "is a folder"],
    ),
    "midi: a missing folder": (
        ["-o", "beat.wav", "--midi", "nowhere/beat.mid"],
        ["nowhere", "does not exist"],
    ),
    "waveform: a file used as a folder": (
        ["-o", "beat.wav", "--waveform", "notes.txt/w.png"],
        ["notes.txt", "is a file"],
    ),
}


@pytest.mark.parametrize("case", list(MAKE_CASES))
def test_make_refuses_a_bad_output_before_rendering(case: str, work: Path) -> None:
    flags, words = MAKE_CASES[case]
    before = snapshot(work)
    started = time.monotonic()
    run = beatbot("make", *LONG_BEAT, *flags, cwd=work)
    refused(run, time.monotonic() - started, *words)
    assert snapshot(work) == before  # nothing written, no probe file left behind


def test_make_refuses_a_read_only_folder(
    work: Path, read_only: tuple[Path, tuple[str, ...]]
) -> None:
    folder, prefix = read_only
    for flags in (["-o", str(folder / "beat.wav")], ["-o", "b.wav", "--stems", str(folder)]):
        started = time.monotonic()
        run = beatbot("make", *LONG_BEAT, *flags, cwd=work, prefix=prefix)
        refused(run, time.monotonic() - started, str(folder))
        assert "read-only" in run.stderr or "permission" in run.stderr, run.stderr
    assert list(folder.iterdir()) == [] and not (work / "b.wav").exists()


AUDIO_CASES = {
    # One subprocess each (these commands load the engine first): the kinds, across commands.
    "master: permission denied": (["master", "song.wav", "-o", f"{SYSFS}/m.wav"], "permission"),
    "master: output is a folder": (["master", "song.wav", "-o", "beats"], "is a folder"),
    "master: preview under a file": (
        ["master", "song.wav", "-o", "m.wav", "--preview", "notes.txt/ab.wav"],
        "is a file",
    ),
    "mix: a missing folder": (["mix", "song.wav", "song.wav", "-o", "no/x.wav"], "does not exist"),
    "stems: a file used as a folder": (["stems", "song.wav", "-o", "notes.txt"], "is a file"),
}


@pytest.mark.parametrize("case", list(AUDIO_CASES))
def test_master_mix_and_stems_refuse_a_bad_output_before_reading(case: str, work: Path) -> None:
    # Checked before the input is decoded (the modules' own imports take the time here).
    args, word = AUDIO_CASES[case]
    before = snapshot(work)
    refused(beatbot(*args, cwd=work), None, word)
    assert snapshot(work) == before


# --- file modes ----------------------------------------------------------------------------


def modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_make_writes_audio_midi_png_and_stems_with_the_umask(
    umask: int, file_mode: int, dir_mode: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run = beatbot(
        "make", "trap beat 4 seconds", "-o", "beat.mp3", "--midi", "beat.mid",
        "--stems", "stems", "--waveform", "beat.png", "--loop", "1",
        cwd=out, umask=umask,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    found = modes(out)
    files = {name: mode for name, mode in found.items() if (out / name).is_file()}
    for name in ("beat.mp3", "beat.mid", "beat.png", "beat-loop1.mp3", "stems/drums.wav"):
        assert name in files, sorted(found)
    assert all(mode == file_mode for mode in files.values()), {k: oct(v) for k, v in files.items()}
    assert found["stems"] == dir_mode


def test_master_stems_and_mix_write_with_the_umask(work: Path) -> None:
    runs = [
        ("master", "song.wav", "-o", "m.flac", "--preview", "ab.mp3", "--waveform", "m.png"),
        ("stems", "song.wav", "-o", "split", "--types", "drums,bass"),
        ("mix", "song.wav", "m.flac", "-o", "mix.wav"),
    ]
    for args in runs:
        run = beatbot(*args, cwd=work, umask=0o027)
        assert run.returncode == 0, (args, run.stderr)
    written = {
        name: mode
        for name, mode in modes(work).items()
        if name not in ("song.wav", "notes.txt") and (work / name).is_file()
    }
    for name in ("m.flac", "ab.mp3", "m.png", "split/drums.wav", "mix.wav"):
        assert name in written, sorted(written)
    assert set(written.values()) == {0o640}, {k: oct(v) for k, v in written.items()}
