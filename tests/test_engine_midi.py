"""MIDI export: one track per part, tempo/key meta, drums on channel 10 with GM notes."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from engine.compose import GM_DRUMS, TOM_NOTES, BeatSpec, compose
from engine.midi import write_midi


@pytest.mark.parametrize(
    "spec",
    [
        BeatSpec("trap", 150, "Cm", "dark", 20),
        BeatSpec("jazz", 120, "Bb", "mellow", 20),
        BeatSpec("lo-fi", 80, "F#m", "chill", 20),
    ],
    ids=lambda s: s.genre,
)
def test_midi_notes_match_the_arrangement(spec: BeatSpec, tmp_path: Path) -> None:
    arrangement = compose(spec, 3)
    path = write_midi(arrangement, tmp_path / "beat.mid")
    midi = mido.MidiFile(str(path))
    assert midi.type == 1 and midi.ticks_per_beat == 480

    meta = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(spec.bpm)
    assert meta["key_signature"].key == arrangement.key.name
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (4, 4)

    by_name = {next(m.name for m in t if m.type == "track_name"): t for t in midi.tracks[1:]}
    expected = {n: t for n, t in arrangement.tracks.items() if t.kind != "fx"}
    assert set(by_name) == set(expected)
    gm = set(GM_DRUMS.values()) | set(TOM_NOTES)
    for name, track in expected.items():
        ons = [m for m in by_name[name] if m.type == "note_on" and m.velocity > 0]
        offs = [m for m in by_name[name] if m.type == "note_off"]
        assert len(ons) == len(offs) == len(track.events), name
        assert sorted(m.note for m in ons) == sorted(round(e.pitch) for e in track.events)
        channels = {m.channel for m in ons}
        if track.kind == "drum":
            assert channels == {9}, name  # General MIDI channel 10
            assert {m.note for m in ons} <= gm
        else:
            assert 9 not in channels and len(channels) == 1
            programs = [m.program for m in by_name[name] if m.type == "program_change"]
            assert programs == [track.midi_program]
        # Note-on times land where the arrangement put them.
        tick, starts = 0, []
        for message in by_name[name]:
            tick += message.time
            if message.type == "note_on":
                starts.append(tick)
        assert sorted(starts) == sorted(round(e.time * 480) for e in track.events)
    # The file is as long as the beat.
    assert midi.length == pytest.approx(arrangement.duration, abs=0.01)


def test_kick_is_gm_36_and_snare_38(tmp_path: Path) -> None:
    arrangement = compose(BeatSpec("rock", 125, "E", "energetic", 12), 1)
    midi = mido.MidiFile(str(write_midi(arrangement, tmp_path / "rock.mid")))
    notes = {}
    for track in midi.tracks[1:]:
        name = next(m.name for m in track if m.type == "track_name")
        notes[name] = {m.note for m in track if m.type == "note_on"}
    assert notes["kick"] == {36} and notes["snare"] <= {38} and notes["hat_closed"] == {42}


def test_slides_are_pitch_bends_that_return_to_centre(tmp_path: Path) -> None:
    """808 slides reach the DAW: a bend range of GLIDE_RANGE semitones (RPN 0), each sliding
    note starts bent to where it slides from and bends back to its own pitch."""
    from engine.midi import BEND_MAX, GLIDE_RANGE
    from tests.sound_measure import glide_fraction, midi_notes

    arrangement = compose(BeatSpec("trap", 150, "Cm", "dark", 30), 2)
    path = write_midi(arrangement, tmp_path / "slides.mid")
    midi = mido.MidiFile(str(path))
    bass = next(
        t for t in midi.tracks if any(m.type == "track_name" and m.name == "bass" for m in t)
    )
    controls = [(m.control, m.value) for m in bass if m.type == "control_change"]
    assert controls[:4] == [(101, 0), (100, 0), (6, GLIDE_RANGE), (38, 0)]
    tick, bends, ons = 0, {}, {}
    for message in bass:
        tick += message.time
        if message.type == "pitchwheel":
            bends.setdefault(tick, message.pitch)
        elif message.type == "note_on":
            ons[tick] = message.note
    sliding = [e for e in arrangement.tracks["bass"].events if e.glide_from is not None]
    assert len(sliding) >= 5
    for event in sliding:
        on = round(event.time * 480)
        expected = (event.glide_from - round(event.pitch)) / GLIDE_RANGE * BEND_MAX
        assert bends[on] == pytest.approx(expected, abs=1), event
    # Every bend ends back at centre before the next note.
    assert [m.pitch for m in bass if m.type == "pitchwheel"][-1] == 0
    notes = midi_notes(path)
    expected = len(sliding) / len(arrangement.tracks["bass"].events)
    assert glide_fraction(notes, "bass") == pytest.approx(expected)
    # Tracks that never slide carry no bends.
    chords = next(
        t for t in midi.tracks if any(m.type == "track_name" and m.name == "chords" for m in t)
    )
    assert not [m for m in chords if m.type in ("pitchwheel", "control_change")]
