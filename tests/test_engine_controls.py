"""Producer controls in the engine: parts left out, voices asked for, extend, redo a section.

Measured on real renders (short beats at 22.05 kHz): a left-out part's stem is silent and the
others play the same notes; an extended beat's bars before its outro are bit-identical in the
pre-master mix to the beat it extends, and the master still meets loudness and true peak; a
redone hook leaves every other sample identical; takes and redo takes differ.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from engine.compose import BEATS_PER_BAR, Arrangement, BeatSpec, compose
from engine.compose.edits import arrangement_of
from engine.compose.model import (
    MAX_EDITS,
    PARTS,
    Extend,
    Redo,
    edits_from_json,
    edits_to_json,
)
from engine.errors import EngineInputError
from engine.palettes import INSTRUMENT_LABELS, includable
from engine.pipeline import make_beat, premaster, render_midi, render_stems
from engine.render import END_FADE_SECONDS

SR = 22050
SEED = 7
# 12 bars at 140 BPM: intro, verse, hook, outro.
TRAP = BeatSpec("trap", 140.0, "Cm", "dark", 12 * BEATS_PER_BAR * 60.0 / 140.0)
LOFI = BeatSpec("lo-fi", 84.0, "Am", "chill", 8 * BEATS_PER_BAR * 60.0 / 84.0)


def true_peak_db(audio: np.ndarray) -> float:
    """dBTP: the peak of the 4x oversampled signal (BS.1770-4 Annex 2)."""
    up = signal.resample_poly(np.asarray(audio, dtype=np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.abs(up).max()))


@cache
def mixed(spec: BeatSpec, seed: int = SEED) -> tuple[dict[str, np.ndarray], np.ndarray]:
    return premaster(spec, seed, sr=SR)


def frame_of(spec: BeatSpec, bar: int) -> int:
    return round(bar * BEATS_PER_BAR * 60.0 / spec.bpm * SR)


def events(spec: BeatSpec, seed: int = SEED) -> dict[str, list[tuple[float, float, float, float]]]:
    arrangement = arrangement_of(spec, seed)
    return {
        name: [(e.time, e.duration, e.pitch, e.velocity) for e in track.events]
        for name, track in arrangement.tracks.items()
    }


# --- exclude -------------------------------------------------------------------------------


def test_a_left_out_part_is_silent_and_the_others_play_the_same_notes(tmp_path: Path) -> None:
    without = replace(TRAP, exclude=("hats", "melody"))
    stems, mix = mixed(without)
    plain_stems, plain_mix = mixed(TRAP)
    assert np.any(plain_stems["hats"]) and np.any(plain_stems["melody"])
    assert not np.any(stems["hats"]) and not np.any(stems["melody"])
    assert np.any(stems["kick"]) and np.any(stems["bass"]) and np.any(stems["chords"])
    assert not np.allclose(mix, plain_mix, atol=1e-3)

    kept, plain = events(without), events(TRAP)
    assert {"hat_closed", "melody"} <= set(plain)
    assert not {"hat_closed", "hat_open", "melody", "melody_octave"} & set(kept)
    for name, notes in kept.items():
        assert notes == plain[name], name  # the same seed: the same notes, part by part

    names = {
        m.name for t in mido.MidiFile(render_midi(without, SEED, tmp_path / "b.mid")).tracks
        for m in t if m.type == "track_name"
    }  # fmt: skip
    assert "kick" in names and "bass" in names and not {"hat_closed", "melody"} & names
    result = make_beat(without, SEED, sr=SR, out_path=tmp_path / "b.wav", stems_dir=tmp_path / "s")
    assert result.left_out == ("hats", "melody")
    assert "hats" not in result.stems and "melody" not in result.stems
    plain_result = make_beat(TRAP, SEED, sr=SR, out_path=tmp_path / "p.wav")
    master, plain_master = sf.read(result.path)[0], sf.read(plain_result.path)[0]
    assert master.shape == plain_master.shape
    assert np.abs(master - plain_master).max() > 0.05


def test_drums_leave_out_all_four_drum_stems_and_only_parts_it_had_are_named() -> None:
    spec = replace(TRAP, exclude=("drums", "perc"))
    arrangement = compose(spec, SEED)
    assert {t.stem for t in arrangement.tracks.values()}.isdisjoint({"kick", "snare", "hats"})
    assert arrangement.left_out[0] == "drums"
    # Two bars of techno have no snare: leaving it out names only what the beat had.
    techno = compose(BeatSpec("techno", 120.0, "C", "chill", 4.0, exclude=("snare", "fx")), SEED)
    assert techno.left_out == ("fx",)


# --- include -------------------------------------------------------------------------------


def test_an_included_voice_plays_the_chords_with_the_same_notes() -> None:
    plain = compose(TRAP, SEED)
    piano = compose(replace(TRAP, include=("piano",)), SEED)
    assert plain.tracks["chords"].instrument != "piano"
    assert piano.tracks["chords"].instrument == "piano"
    assert piano.tracks["chords"].events == plain.tracks["chords"].events
    assert piano.tracks["melody"].events == plain.tracks["melody"].events
    assert piano.tracks["kick"].events == plain.tracks["kick"].events
    # A melody voice of the genre's own goes to the melody; a second chord voice too.
    both = compose(replace(TRAP, include=("piano", "strings")), SEED)
    assert (both.tracks["chords"].instrument, both.tracks["melody"].instrument) == (
        "piano",
        "strings",
    )
    flute = compose(replace(TRAP, include=("flute",)), SEED)
    assert flute.tracks["melody"].instrument == "flute"


def test_an_included_voice_changes_the_chord_stem() -> None:
    stems, _ = mixed(replace(TRAP, include=("piano",)))
    plain_stems, _ = mixed(TRAP)
    # The pre-master scale follows the mix's peak: compare at the kick's level.
    scale = np.abs(plain_stems["kick"]).max() / np.abs(stems["kick"]).max()
    assert np.allclose(stems["kick"] * scale, plain_stems["kick"], atol=1e-5)
    assert not np.allclose(stems["chords"] * scale, plain_stems["chords"], atol=1e-2)


def test_includable_voices_are_the_genres_and_have_labels() -> None:
    trap = includable("trap")
    assert {"piano", "rhodes", "strings", "flute", "808"} <= set(trap)
    assert "upright" not in trap  # a walking bass's voice doesn't play an 808 line
    assert "upright" in includable("jazz")
    for genre in ("trap", "jazz", "edm", "lo-fi"):
        assert all(voice in INSTRUMENT_LABELS for voice in includable(genre))
    with pytest.raises(EngineInputError) as caught:
        replace(TRAP, include=("kazoo",)).validated()
    assert "kazoo" in str(caught.value) and "Rhodes" in str(caught.value)


# --- extend --------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [TRAP, LOFI], ids=["trap", "lo-fi tape"])
def test_extend_keeps_the_bars_before_the_outro_bit_identical(base: BeatSpec) -> None:
    original = compose(base, SEED)
    assert original.sections[-1].name == "outro"
    keep = original.sections[-1].start_bar
    extended = replace(base, edits=(Extend(8),))
    stems, mix = mixed(extended)
    old_stems, old_mix = mixed(base)
    cut = frame_of(base, keep)
    assert len(mix) == frame_of(base, original.bars + 8)  # whole bars, exactly
    assert np.array_equal(mix[:cut], old_mix[:cut])
    for name, audio in stems.items():
        assert np.array_equal(audio[:cut], old_stems[name][:cut]), name
    assert np.any(mix[cut:])
    after = arrangement_of(extended, SEED)
    assert after.bars == original.bars + 8
    outro = original.sections[-1]
    assert after.sections[-1] == replace(outro, start_bar=original.bars + 8 - outro.bars)
    assert [s.name for s in after.sections[:-1]][-2:] in (["verse", "hook"], ["hook", "verse"])
    # The notes of the kept bars are the original's, to the last one.
    edge = keep * BEATS_PER_BAR
    for name, track in original.tracks.items():
        kept = [e for e in after.tracks[name].events if e.time < edge]
        assert kept == [e for e in track.events if e.time < edge], name


def test_an_extended_master_meets_loudness_and_true_peak(tmp_path: Path) -> None:
    extended = replace(TRAP, edits=(Extend(8),))
    result = make_beat(extended, SEED, sr=SR, out_path=tmp_path / "x.wav", lufs=-14.0)
    audio, rate = sf.read(result.path)
    assert result.bars == 20 and len(audio) == frame_of(TRAP, 20)
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(audio) + 14.0) <= 0.5
    assert true_peak_db(audio) <= -1.0
    assert result.sections[-1][0] == "outro" and sum(b for _, b in result.sections) == 20


def test_a_beat_without_an_outro_keeps_every_bar_up_to_its_end_fade() -> None:
    short = BeatSpec("house", 124.0, "Fm", "groovy", 2 * BEATS_PER_BAR * 60.0 / 124.0)
    assert compose(short, SEED).sections[-1].name != "outro"
    _, old_mix = mixed(short)
    _, mix = mixed(replace(short, edits=(Extend(4),)))
    assert len(mix) == frame_of(short, 6)
    fade = len(old_mix) - int(END_FADE_SECONDS * SR)
    assert np.array_equal(mix[:fade], old_mix[:fade])
    assert np.abs(mix[fade : len(old_mix)]).max() > np.abs(old_mix[fade:]).max()  # no dip


# --- redo ----------------------------------------------------------------------------------


def hook_mask(spec: BeatSpec, frames: int) -> np.ndarray:
    mask = np.zeros(frames, dtype=bool)
    for section in compose(spec, SEED).sections:
        if section.name == "hook":
            mask[frame_of(spec, section.start_bar) : frame_of(spec, section.end_bar)] = True
    return mask


def test_a_redone_hook_changes_the_hook_and_no_other_sample() -> None:
    stems, mix = mixed(replace(TRAP, edits=(Redo("hook"),)))
    old_stems, old_mix = mixed(TRAP)
    hook = hook_mask(TRAP, len(mix))
    assert hook.any() and not hook.all()
    assert np.array_equal(mix[~hook], old_mix[~hook])
    for name, audio in stems.items():
        assert np.array_equal(audio[~hook], old_stems[name][~hook]), name
    assert np.abs(mix[hook] - old_mix[hook]).max() > 0.05
    # The chords keep their progression: the hook's chord per bar is the original's.
    assert (
        arrangement_of(replace(TRAP, edits=(Redo("hook"),)), SEED).chords
        == compose(TRAP, SEED).chords
    )


def test_redo_takes_differ_and_a_part_redo_touches_only_that_part() -> None:
    first = events(replace(TRAP, edits=(Redo("hook", "drums", 1),)))
    second = events(replace(TRAP, edits=(Redo("hook", "drums", 2),)))
    plain = events(TRAP)
    drums = ("kick", "snare", "clap", "hat_closed", "hat_open", "rim", "crash")
    assert any(first.get(d) != second.get(d) for d in drums)
    assert any(first.get(d) != plain.get(d) for d in drums)
    for name in ("bass", "chords", "melody"):
        assert first[name] == plain[name] and second[name] == plain[name]
    _, take1 = mixed(replace(TRAP, edits=(Redo("hook", "drums", 1),)))
    _, take2 = mixed(replace(TRAP, edits=(Redo("hook", "drums", 2),)))
    assert np.abs(take1 - take2).max() > 0.05


def test_redone_chords_keep_the_progression_in_a_new_voicing() -> None:
    original = compose(TRAP, SEED)
    redone = arrangement_of(replace(TRAP, edits=(Redo("hook", "chords", 3),)), SEED)
    (hook,) = [s for s in original.sections if s.name == "hook"]

    def bars(arrangement: Arrangement) -> dict[int, tuple[set[int], list[float]]]:
        played: dict[int, tuple[set[int], list[float]]] = {}
        for e in arrangement.tracks["chords"].events:
            bar = int((e.time + 0.1) // BEATS_PER_BAR)
            if hook.start_bar <= bar < hook.end_bar:
                classes, pitches = played.setdefault(bar, (set(), []))
                classes.add(int(e.pitch) % 12)
                pitches.append(e.pitch)
        return played

    before, after = bars(original), bars(redone)
    assert before.keys() == after.keys() and before
    for bar in before:
        assert after[bar][0] == before[bar][0]  # the same chord, bar by bar
    assert any(sorted(after[b][1]) != sorted(before[b][1]) for b in before)


def test_a_redone_sections_midi_keeps_every_other_note(tmp_path: Path) -> None:
    spec = replace(TRAP, edits=(Redo("hook", "melody"),))
    original, redone = compose(TRAP, SEED), arrangement_of(spec, SEED)
    (hook,) = [s for s in original.sections if s.name == "hook"]
    lo, hi = hook.start_bar * BEATS_PER_BAR, hook.end_bar * BEATS_PER_BAR
    for name, track in original.tracks.items():
        outside = [e for e in track.events if not lo <= e.time < hi]
        assert [e for e in redone.tracks[name].events if not lo <= e.time < hi] == outside
    assert all(
        e.time + e.duration <= hi + 1e-9
        for e in redone.tracks["melody"].events
        if lo <= e.time < hi
    )
    assert redone.tracks["melody"].events != original.tracks["melody"].events
    path = render_midi(spec, SEED, tmp_path / "redo.mid")
    assert len(mido.MidiFile(path).tracks) >= 4


def test_edits_apply_in_order_extend_then_redo_then_extend() -> None:
    spec = replace(TRAP, edits=(Extend(8), Redo("hook", take=1), Extend(4)))
    _, mix = mixed(spec)
    once_spec = replace(TRAP, edits=(Extend(8),))
    _, once = mixed(once_spec)
    arrangement, extended = arrangement_of(spec, SEED), arrangement_of(once_spec, SEED)
    assert arrangement.bars == 24 and len(mix) == frame_of(TRAP, 24)
    assert arrangement.sections[-1].name == "outro"
    # Before the second extend's new bars: the once-extended beat, its hooks redrawn.
    kept = frame_of(TRAP, extended.sections[-1].start_bar)
    hooks = np.zeros(kept, dtype=bool)
    for section in extended.sections:
        if section.name == "hook":
            hooks[frame_of(TRAP, section.start_bar) : frame_of(TRAP, section.end_bar)] = True
    assert hooks.any()
    assert np.array_equal(mix[:kept][~hooks], once[:kept][~hooks])
    assert np.abs(mix[:kept][hooks] - once[:kept][hooks]).max() > 0.05


def test_stems_of_an_edited_beat_add_up_to_its_pre_master_mix(tmp_path: Path) -> None:
    spec = replace(TRAP, exclude=("perc",), edits=(Extend(4), Redo("verse")))
    paths = render_stems(spec, SEED, tmp_path, sr=SR)
    files = {name: sf.read(path, dtype="float64")[0] for name, path in paths.items()}
    _, mix = mixed(spec)
    assert "drums" in files and "perc" not in files
    assert np.allclose(sum(files.values()), mix, atol=1e-4)


# --- takes ---------------------------------------------------------------------------------


def test_takes_with_different_seeds_differ() -> None:
    notes = [events(TRAP, seed) for seed in (1, 2, 3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert notes[a] != notes[b]
    _, one = mixed(TRAP, 1)
    _, two = mixed(TRAP, 2)
    assert len(one) == len(two) and np.abs(one - two).max() > 0.05


# --- validation and JSON ---------------------------------------------------------------------


def test_edits_round_trip_through_json() -> None:
    edits = (Extend(8), Redo("hook", "drums", 2), Redo("intro"))
    data = edits_to_json(edits)
    assert data[0] == {"extend": 8}
    assert data[1] == {"redo": "hook", "part": "drums", "take": 2}
    assert edits_from_json(data) == edits
    assert edits_from_json([{"redo": "verse"}]) == (Redo("verse", "all", 1),)
    with pytest.raises(EngineInputError, match="extend"):
        edits_from_json([{"stretch": 2}])
    hash(replace(TRAP, exclude=("hats",), include=("piano",), edits=edits))  # still frozen


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"exclude": ("hihat",)}, "I can't leave out 'hihat'; the parts are drums"),
        ({"exclude": ("drums", "bass", "chords", "melody", "fx")}, "leaves nothing to play"),
        ({"include": ("banjo",)}, "I don't have 'banjo' for trap; I can add Rhodes"),
        ({"include": ("pad", "strings", "piano")}, "no part left for piano"),
        ({"edits": (Extend(2000),)}, "I can extend a beat by whole bars, 1 or more"),
        ({"edits": (Extend(400),)}, "I make up to 600 seconds"),
        ({"edits": (Extend(1),) * (MAX_EDITS + 1)}, "I keep up to 16"),
        ({"edits": (Redo("chorus"),)}, "I don't know the section 'chorus'"),
        ({"edits": (Redo("hook", "vocals"),)}, "I can't redo 'vocals'"),
        ({"edits": (Redo("hook", take=0),)}, "Takes count from 1"),
    ],
)
def test_bad_controls_get_one_sentence(change: dict[str, object], words: str) -> None:
    with pytest.raises(EngineInputError) as caught:
        replace(TRAP, **change).validated()
    message = str(caught.value)
    assert words in message and "\n" not in message and message.endswith(".")


def test_redo_of_a_section_the_beat_lacks_names_its_sections() -> None:
    with pytest.raises(EngineInputError) as caught:
        arrangement_of(replace(TRAP, edits=(Redo("drop"),)), SEED)
    assert str(caught.value) == (
        "This beat has no drop; its sections are intro, verse, hook and outro."
    )
    assert set(PARTS) == {
        "drums",
        "kick",
        "snare",
        "hats",
        "perc",
        "bass",
        "chords",
        "melody",
        "fx",
    }
