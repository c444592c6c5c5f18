"""Arrangement -> Standard MIDI File (type 1) with mido.

Track 0 holds the tempo, time signature and key signature; then one track per part. Drums
play on channel 10 (mido channel 9) with General MIDI percussion notes; pitched parts get
their own channel and a General MIDI program. Effects (vinyl, risers) have no notes and no
track. 808 slides are written as plain notes (a DAW's glide setting recreates them).
"""

from __future__ import annotations

from pathlib import Path

import mido

from engine.compose import Arrangement

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # General MIDI channel 10, zero-based
_PITCHED_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


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
        # (tick, order, message): note-offs sort before note-ons at the same tick.
        timeline: list[tuple[int, int, mido.Message]] = []
        for event in track.events:
            note = max(0, min(127, round(event.pitch)))
            velocity = max(1, min(127, round(event.velocity * 127)))
            on = _ticks(event.time)
            # Notes end by the last bar line, so the file is exactly as long as the beat.
            off = max(on + 1, min(end, _ticks(event.time + event.duration)))
            timeline.append(
                (on, 1, mido.Message("note_on", note=note, velocity=velocity, channel=channel))
            )
            timeline.append(
                (off, 0, mido.Message("note_off", note=note, velocity=0, channel=channel))
            )
        timeline.sort(key=lambda item: (item[0], item[1], item[2].note))
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


def _ticks(beats: float) -> int:
    return round(beats * TICKS_PER_BEAT)
