"""What each job type does on the CPU (run in a pool process), and how its output is described.

Descriptions name files by storage reference (relative to the data dir); links are signed
where they are handed out (`bot.links`).

The `render_beat`/`split_stems`/`mix_tracks`/`master_track` functions run in a child process:
plain data in, files written into the job's staging folder, a JSON-able summary out. They
call `progress(stage, fraction)` between stages. The other functions run in the worker and
turn a summary into the result record, the DAW clip and the history entry.

A beat job writes what a chat posts: the clip (and an MP3 preview of a WAV/FLAC) and its
waveform. Its stems and MIDI are made on demand from its request and seed, and kept in the
beat's folder (`stems/`, `beat.mid`) for the next person who asks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.errors import NotFound
from bot.jobs import JobRecord, JobType
from bot.replies import controls_note
from bot.requests import spec_of
from bot.store import ClipStore

Progress = Callable[[str, float], None]

PREVIEW = "preview.mp3"
WAVEFORM = "waveform.png"
MIDI = "beat.mid"
STEMS = "stems"  # a beat's stems, rendered on demand, in its folder
BEAT_STEMS_NOTE = (
    "These are the beat's own parts, rendered again from its seed: together they are its "
    "mix before mastering."
)
BEAT_GONE = "I can't find that beat's audio any more. Make a new one?"

# --- inputs ----------------------------------------------------------------------------


def resolve_inputs(type: JobType, data: Mapping[str, Any], store: ClipStore) -> dict[str, Any]:
    """File paths the work needs, checked now so a missing upload fails with a sentence."""
    if type is JobType.STEMS and data.get("generation_id"):
        summary = store.read_summary(data["generation_id"])
        if summary is None:
            raise NotFound(BEAT_GONE)
        folder = store.generation_dir(data["generation_id"])
        return {"cache": str(folder / STEMS), "main": summary["main"]}
    if type is JobType.STEMS:
        return {"path": str(store.path_for(data["audio_file_id"]))}
    if type is JobType.MIX:
        return {"paths": [str(store.path_for(track)) for track in data["track_ids"]]}
    if type is JobType.MASTER:
        if data.get("track_id"):
            return {"path": str(store.path_for(data["track_id"]))}
        summary = store.read_summary(data["generation_id"])
        if summary is None:
            raise NotFound(BEAT_GONE)
        folder = store.generation_dir(data["generation_id"])
        return {"path": str(folder / summary["main"])}
    return {}


# --- child-process work ------------------------------------------------------------------


def render_beat(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Progress
) -> dict[str, Any]:
    """What a chat posts: the clip and its waveform (stems and MIDI wait until asked for)."""
    from engine.pipeline import make_beat

    out = Path(folder)
    fmt = data.get("format") or "mp3"
    if fmt == "mp3":
        from engine.ffmpeg import require_ffmpeg

        require_ffmpeg()  # say how to install ffmpeg now, not after a whole render
    spec = spec_of(data)
    result = make_beat(
        spec,
        int(data["seed"]),
        sr=int(data.get("sample_rate") or 44100),
        profile=data.get("mix_profile") or "balanced",
        lufs=float(data["target_lufs"]),
        ceiling=float(data.get("ceiling", -1.0)),
        out_path=out / f"beat.{fmt}",
        waveform_path=out / WAVEFORM,
        on_progress=progress,
    )
    if fmt != "mp3":
        _mp3_preview(out / f"beat.{fmt}", out / PREVIEW, float(data.get("ceiling", -1.0)))
    return {
        "kind": "beat",
        "main": f"beat.{fmt}",
        "format": fmt,
        "genre": spec.genre,
        "bpm": spec.bpm,
        "key": spec.key,
        "mood": spec.mood,
        "seed": int(data["seed"]),
        "duration": round(result.duration, 3),
        "lufs": round(result.loudness.lufs, 2),
        "truePeak": round(result.loudness.true_peak, 2),
        # what the card says about the producer controls (bot.replies.controls_note)
        "exclude": list(spec.exclude),
        "include": list(spec.include),
        "edits": list(data.get("edits") or []),
        "leftOut": list(result.left_out),
        "newEdit": bool(data.get("new_edit")),
        "sections": [[name, bars] for name, bars in result.sections],
    }


def beat_stems(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Progress
) -> dict[str, Any]:
    """A beat's stems, rendered from its request and seed into its folder's `stems/` unless
    they are there already; the summary names the files that add up to its mix."""
    from engine.errors import EngineInputError
    from engine.pipeline import render_stems

    beat = data["beat"]
    cache = Path(inputs["cache"])
    if not cache.is_dir():
        fresh = Path(folder) / STEMS
        render_stems(
            spec_of(beat),
            int(beat["seed"]),
            fresh,
            sr=int(beat.get("sample_rate") or 44100),
            profile=beat.get("mix_profile") or "balanced",
            on_progress=progress,
        )
        try:
            os.rename(fresh, cache)  # the whole folder at once: never half a set of stems
        except OSError:
            if not cache.is_dir():
                raise  # else another job put the same stems there first
    names = summing_stems(cache)
    wanted = set(data.get("stem_types") or ())
    chosen = [name for name in names if not wanted or Path(name).stem in wanted]
    if not chosen:
        raise EngineInputError(missing_stems(sorted(wanted), names))
    return {
        "kind": "stems",
        "source": data["generation_id"],
        "main": inputs["main"],
        "format": "wav",
        "duration": _wav_seconds(cache / chosen[0]),
        "stems": chosen,
        "method": "rendered",
        "note": BEAT_STEMS_NOTE,
    }


def missing_stems(asked: list[str], names: list[str]) -> str:
    parts = ", ".join(Path(name).stem for name in names)
    return f"That beat has no {' or '.join(asked)} stem; its stems are {parts}."


def summing_stems(folder: Path) -> list[str]:
    """The stem files in a beat's `stems/` folder that add up to its mix: "drums" stands for
    its parts (a folder from before on-demand stems holds kick, snare... as well)."""
    from engine.pipeline import DRUM_PARTS

    names = sorted(p.name for p in folder.glob("*.wav")) if folder.is_dir() else []
    if "drums.wav" in names:
        names = [name for name in names if Path(name).stem not in DRUM_PARTS]
    return names


def beat_midi(beat: Mapping[str, Any], folder: Path) -> Path:
    """A beat's MIDI file in its folder, composed from its request and seed the first time
    someone asks (quick: no audio is rendered), and kept for the next time."""
    from engine.pipeline import render_midi

    target = folder / MIDI
    if not target.exists():
        if not folder.is_dir():
            raise NotFound(BEAT_GONE)
        part = folder / f".{MIDI}.{uuid.uuid4().hex[:8]}"
        try:
            render_midi(spec_of(beat), int(beat["seed"]), part)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    return target


def _wav_seconds(path: Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return round(info.frames / info.samplerate, 3)


def split_stems(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Progress
) -> dict[str, Any]:
    """Stems of an upload, separated with DSP; a beat of ours has its own (`beat_stems`)."""
    if data.get("generation_id"):
        return beat_stems(data, inputs, folder, progress=progress)
    from engine.audio_io import decode, write_audio
    from engine.loudness import measure
    from engine.separate import separate

    out = Path(folder)
    progress("Decoding", 0.05)
    audio = decode(Path(inputs["path"]), sr=44100, max_seconds=inputs.get("max_seconds"))
    progress("Separating", 0.2)
    separation = separate(audio, 44100, list(data["stem_types"]))
    progress("Encoding", 0.8)
    (out / "stems").mkdir(exist_ok=True)
    stems = []
    for name, stem in separation.stems.items():
        write_audio(out / "stems" / f"{name}.wav", stem, 44100, bit_depth=24, ceiling=None)
        stems.append(f"{name}.wav")
    _mp3_preview_audio(audio, out / PREVIEW)
    return {
        "kind": "stems",
        "main": PREVIEW,
        "format": "wav",
        "duration": round(len(audio) / 44100, 3),
        "stems": sorted(stems),
        "method": separation.method,
        "note": separation.note,
        "lufs": round(measure(audio, 44100).lufs, 2),
    }


def mix_tracks(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Progress
) -> dict[str, Any]:
    from engine.audio_io import decode, write_audio
    from engine.loudness import measure
    from engine.mix import auto_mix

    out = Path(folder)
    tracks = []
    paths = list(inputs["paths"])
    for index, path in enumerate(paths):
        progress(f"Decoding track {index + 1}", 0.05 + 0.3 * index / len(paths))
        tracks.append(decode(Path(path), sr=44100, max_seconds=inputs.get("max_seconds")))
    progress("Mixing", 0.4)
    mixed = auto_mix(tracks, 44100, data.get("mix_profile") or "balanced")
    progress("Encoding", 0.85)
    write_audio(out / "mix.wav", mixed.mix, 44100, bit_depth=24)
    _mp3_preview_audio(mixed.mix, out / PREVIEW)
    loud = measure(mixed.mix, 44100)
    return {
        "kind": "mix",
        "main": "mix.wav",
        "format": "wav",
        "duration": round(len(mixed.mix) / 44100, 3),
        "roles": list(mixed.roles),
        "gainsDb": [round(g, 2) for g in mixed.gains_db],
        "lufs": round(loud.lufs, 2),
        "truePeak": round(loud.true_peak, 2),
    }


def master_track(
    data: Mapping[str, Any], inputs: Mapping[str, Any], folder: str, *, progress: Progress
) -> dict[str, Any]:
    from engine.audio_io import decode, write_audio
    from engine.master import master_to

    out = Path(folder)
    progress("Decoding", 0.05)
    audio = decode(Path(inputs["path"]), sr=44100, max_seconds=inputs.get("max_seconds"))
    progress("Mastering", 0.3)
    mastered = master_to(audio, 44100, float(data["target_lufs"]), ceiling=-1.0)
    progress("Encoding", 0.8)
    write_audio(out / "master.wav", mastered.audio, 44100, bit_depth=24)
    _mp3_preview_audio(mastered.audio, out / PREVIEW)
    return {
        "kind": "master",
        "main": "master.wav",
        "format": "wav",
        "duration": round(len(audio) / 44100, 3),
        "quality": data.get("quality"),
        "targetLufs": float(data["target_lufs"]),
        "before": _loudness(mastered.before),
        "after": _loudness(mastered.after),
        "lufs": round(mastered.after.lufs, 2),
        "truePeak": round(mastered.after.true_peak, 2),
    }


def _loudness(value: Any) -> dict[str, float]:
    return {
        "lufs": round(value.lufs, 2),
        "lra": round(value.lra, 2),
        "truePeak": round(value.true_peak, 2),
    }


def _mp3_preview(source: Path, target: Path, ceiling: float) -> None:
    from engine.audio_io import decode
    from engine.ffmpeg import find_ffmpeg

    if find_ffmpeg() is None:
        return
    _mp3_preview_audio(decode(source, sr=44100), target, ceiling)


def _mp3_preview_audio(audio: Any, target: Path, ceiling: float = -1.0) -> None:
    """The small MP3 chats and the DAW stream. Optional: without ffmpeg, WAV/FLAC jobs still
    finish and the main file doubles as the preview (`result_record` falls back to it)."""
    from engine.audio_io import write_audio
    from engine.ffmpeg import find_ffmpeg

    if find_ffmpeg() is None:
        return
    write_audio(target, audio, 44100, ceiling=ceiling)


# --- describing results (in the worker) ------------------------------------------------

_TITLES = {"audio": "Beat", "preview": "Preview (MP3)", "midi": "MIDI", "image": "Waveform"}


def result_record(
    record: JobRecord, summary: Mapping[str, Any], store: ClipStore
) -> dict[str, Any]:
    """The seed's result shape plus every file, as storage references: the process that
    hands the result out adds signed links (`bot.links`), for the address it is reached at.
    A summary with a `source` describes files kept in that generation's folder (a beat's
    stems rendered on demand): its files are those, its audio links the beat's."""
    folder = store.generation_dir(summary.get("source") or record.generation_id)
    main = folder / summary["main"]
    files = []
    if not summary.get("source"):  # (the beat itself was posted with the beat)
        files.append(_file("audio", _main_title(summary), main, store))
        if (folder / PREVIEW).exists() and summary["main"] != PREVIEW:
            files.append(_file("preview", "Preview (MP3)", folder / PREVIEW, store))
    files.extend(stem_files(store, folder, summary.get("stems", [])))
    if summary["kind"] == "beat":
        for name, kind, title in ((MIDI, "midi", "MIDI"), (WAVEFORM, "image", "Waveform")):
            if (folder / name).exists():
                files.append(_file(kind, title, folder / name, store))
    preview = folder / PREVIEW if (folder / PREVIEW).exists() else main
    result: dict[str, Any] = {
        **summary,
        "audioPath": store.relative(main),
        "previewPath": store.relative(preview),
        "summary": _summary_text(summary),
        "metadata": {  # of the file at audioUrl (a stems job's is its MP3 preview)
            "format": _format_of(summary["main"]),
            "bitrate": 320 if _format_of(summary["main"]) == "mp3" else None,
            "sampleRate": 44100,
            "channels": 2,
        },
        "files": files,
    }
    return result


def _format_of(name: str) -> str:
    return Path(name).suffix.lstrip(".").lower()


def _main_title(summary: Mapping[str, Any]) -> str:
    kind = summary["kind"]
    if summary["main"] == PREVIEW:  # a stems job's main file: the song, as an MP3 preview
        return "Preview (MP3)"
    fmt = _format_of(summary["main"]).upper()
    return {"beat": f"Beat ({fmt})", "mix": f"Mix ({fmt})", "master": f"Master ({fmt})"}.get(
        kind, f"Audio ({fmt})"
    )


def stem_files(store: ClipStore, folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """File entries (storage references) for stems in a generation folder's `stems/`."""
    return [
        _file("stem", f"{Path(name).stem.title()} stem", folder / STEMS / name, store)
        for name in names
    ]


def midi_file(store: ClipStore, path: Path) -> dict[str, Any]:
    return _file("midi", "MIDI", path, store)


def _file(kind: str, title: str, path: Path, store: ClipStore) -> dict[str, Any]:
    return {"kind": kind, "title": title, "path": store.relative(path), "size": path.stat().st_size}


def _summary_text(summary: Mapping[str, Any]) -> str:
    kind = summary["kind"]
    if kind == "beat":
        text = (
            f"Here's your {summary['mood']} {summary['genre']} beat: {summary['bpm']:g} BPM, "
            f"{summary['key']}, {summary['duration']:.0f} s, seed {summary['seed']} "
            f"({summary['lufs']:.1f} LUFS, {summary['truePeak']:.1f} dBTP)."
        )
        note = controls_note(summary)
        return f"{text} {note}" if note else text
    if kind == "stems":
        return (
            f"Stems ready: {', '.join(Path(s).stem for s in summary['stems'])}. {summary['note']}"
        )
    if kind == "mix":
        return (
            f"Mixed {len(summary['roles'])} tracks ({', '.join(summary['roles'])}) at "
            f"{summary['lufs']:.1f} LUFS, {summary['truePeak']:.1f} dBTP."
        )
    before, after = summary["before"], summary["after"]
    return (
        f"Mastered: {before['lufs']:.1f} → {after['lufs']:.1f} LUFS, "
        f"true peak {after['truePeak']:.1f} dBTP, LRA {after['lra']:.1f} LU."
    )


def daw_clip(record: JobRecord, result: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `daw:audio:loaded` payload, for jobs that make something to put on a timeline."""
    if result.get("kind") == "stems":
        return None
    bpm = result.get("bpm")
    name = f"{result['genre']} - {bpm:g} BPM" if bpm else f"{result['kind']} - {record.job_id}"
    return {
        "generationId": record.generation_id,
        "trackId": f"track-{record.generation_id[:8]}",
        "trackName": name,
        "clipId": f"clip-{record.generation_id}",
        "clip": {
            "path": result["previewPath"],
            "downloadPath": result["audioPath"],
            "duration": result["duration"],
            "bpm": bpm,
            "key": result.get("key"),
            "name": name,
        },
        "autoPlay": bool(record.data.get("auto_play", False)),
    }


def history_entry(record: JobRecord, result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "generationId": record.generation_id,
        "jobId": record.job_id,
        "type": record.type.value,
        "params": record.data,
        "seed": result.get("seed"),
        "summary": result.get("summary"),
        "audioPath": result.get("audioPath"),
        "duration": result.get("duration"),
        "createdAt": int(record.created_at * 1000),
    }
