"""Arrangement -> Standard MIDI File (type 1) with mido.

Track 0 holds the tempo, time signature and key signature; then one track per part. Drums
play on channel 10 (mido channel 9) with General MIDI percussion notes; pitched parts get
their own channel and a General MIDI program. Effects (vinyl, risers) have no notes and no
track. Slides (808s, reese bends) are pitch bends: a track that slides first sets its bend range
to GLIDE_RANGE semitones (RPN 0), then each sliding note starts bent to where it slides from
and bends back to its own pitch over GLIDE_SECONDS, as the engine renders it.
"""

from __future__ import annotations

from pathlib import Path

import mido

from engine.compose import Arrangement

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # General MIDI channel 10, zero-based
_PITCHED_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]
GLIDE_RANGE = 24  # semitones each way: two-octave 808 dives fit
GLIDE_SECONDS = 0.08  # instruments.note's slide time
GLIDE_STEPS = 8  # bend messages per slide: smooth enough, few enough
BEND_MAX = 8191


def to_midi(arrangement: Arrangement) -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("track_name", name=f"BeatBot {arrangement.genre}", time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(arrangement.bpm), time=0))
    meta.append(
        mido.MetaMessage(
            "time_signature", numerator=arrangement.beats_per_bar, denominator=4, time=0
        )
    )
    meta.append(mido.MetaMessage("key_signature", key=arrangement.key.name, time=0))
    end = _ticks(arrangement.beats)
    meta.append(mido.MetaMessage("end_of_track", time=end))
    midi.tracks.append(meta)

    channels = iter(_PITCHED_CHANNELS)
    for track in arrangement.tracks.values():
        if track.kind == "fx" or not track.events:
            continue
        drum = track.kind == "drum"
        channel = DRUM_CHANNEL if drum else next(channels, _PITCHED_CHANNELS[-1])
        out = mido.MidiTrack()
        out.append(mido.MetaMessage("track_name", name=track.name, time=0))
        if not drum:
            out.append(
                mido.Message("program_change", program=track.midi_program, channel=channel, time=0)
            )
        # (tick, order, message): note-offs, then bends, then note-ons at the same tick.
        timeline: list[tuple[int, int, mido.Message]] = []
        if not drum and any(e.glide_from is not None for e in track.events):
            out.extend(_bend_range(channel))
        glide_ticks = max(GLIDE_STEPS, _ticks(GLIDE_SECONDS * arrangement.bpm / 60.0))
        for event in track.events:
            note = max(0, min(127, round(event.pitch)))
            velocity = max(1, min(127, round(event.velocity * 127)))
            on = _ticks(event.time)
            # Notes end by the last bar line, so the file is exactly as long as the beat.
            off = max(on + 1, min(end, _ticks(event.time + event.duration)))
            timeline.append(
                (on, 2, mido.Message("note_on", note=note, velocity=velocity, channel=channel))
            )
            if event.glide_from is not None:
                timeline += _slide(event.glide_from - note, on, glide_ticks, channel)
            timeline.append(
                (off, 0, mido.Message("note_off", note=note, velocity=0, channel=channel))
            )
        timeline.sort(key=lambda item: (item[0], item[1], getattr(item[2], "note", 0)))
        now = 0
        for tick, _, message in timeline:
            out.append(message.copy(time=tick - now))
            now = tick
        out.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
        midi.tracks.append(out)
    return midi


def write_midi(arrangement: Arrangement, path: str | Path) -> Path:
    """Write the arrangement as a .mid file; returns the path."""
    target = Path(path)
    to_midi(arrangement).save(str(target))
    return target


def _bend_range(channel: int) -> list[mido.Message]:
    """RPN 0 (pitch-bend sensitivity) = GLIDE_RANGE semitones, then the null RPN."""
    return [
        mido.Message("control_change", control=control, value=value, channel=channel)
        for control, value in (
            (101, 0),
            (100, 0),
            (6, GLIDE_RANGE),
            (38, 0),
            (101, 127),
            (100, 127),
        )
    ]


def _slide(
    semitones: float, on: int, ticks: int, channel: int
) -> list[tuple[int, int, mido.Message]]:
    """Bend from `semitones` away back to 0 over `ticks`, linear in pitch (as rendered)."""
    bends = []
    for step in range(GLIDE_STEPS + 1):
        remaining = semitones * (1 - step / GLIDE_STEPS)
        pitch = round(max(-GLIDE_RANGE, min(GLIDE_RANGE, remaining)) / GLIDE_RANGE * BEND_MAX)
        tick = on + round(step * ticks / GLIDE_STEPS)
        bends.append((tick, 1, mido.Message("pitchwheel", pitch=pitch, channel=channel)))
    return bends


def _ticks(beats: float) -> int:
    return round(beats * TICKS_PER_BEAT)
