"""The arrangement is an arc: sparse first verse, drop-outs, hook layers, phrase turnarounds,
filter moves, impacts and downlifters; and sections that don't depend on what follows them.

Measured on real compositions of every genre (fast: no audio). How the arc survives the
render is in test_engine_section_levels.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.compose import STEM_NAMES, BeatSpec, Section, compose, rng_for
from engine.compose.sections import winding_down
from engine.errors import EngineInputError
from engine.genres import GENRE_NAMES
from engine.palettes import sound_for
from tests.compose_measure import (
    HOOKS,
    MAIN,
    distinct_drum_bars,
    drum_bar,
    drum_tracks,
    events_in,
    spec_for,
)

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def beats() -> dict[tuple[str, int], object]:
    """A minute of every genre, three takes each."""
    return {(g, s): compose(spec_for(g, 60), s) for g in GENRE_NAMES for s in SEEDS}


def hits_per_bar(arrangement, section: Section, names: list[str]) -> float:
    lo, hi = section.start_bar * 4, section.end_bar * 4
    return len(events_in(arrangement, names, lo, hi)) / section.bars


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_first_verse_is_the_sparsest_main_section(genre: str, beats) -> None:
    for seed in SEEDS:
        a = beats[(genre, seed)]
        verses = [s for s in a.sections if s.name == "verse"]
        hooks = [s for s in a.sections if s.name in HOOKS]
        if not verses or not hooks:
            continue
        drums = drum_tracks(a)
        first = hits_per_bar(a, verses[0], drums)
        assert all(first < hits_per_bar(a, h, drums) for h in hooks), (genre, seed)
        # No hook layers in the first verse, and softer hits.
        lo, hi = verses[0].start_bar * 4, verses[0].end_bar * 4
        assert not events_in(a, ["melody_octave", "pad_hook"], lo, hi)
        kicks = [e.velocity for e in events_in(a, ["kick"], lo, hi)]
        hook_kicks = [
            e.velocity
            for h in hooks
            for e in events_in(a, ["kick"], h.start_bar * 4, h.end_bar * 4)
        ]
        if kicks and hook_kicks:
            assert np.mean(kicks) < 0.9 * np.mean(hook_kicks)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_drums_and_bass_drop_out_before_every_hook(genre: str, beats) -> None:
    for seed in SEEDS:
        a = beats[(genre, seed)]
        for before, hook in zip(a.sections, a.sections[1:], strict=False):
            if hook.name not in HOOKS or before.name == "build":
                continue
            start = hook.start_bar * 4.0
            parts = [*drum_tracks(a), "bass", "sub"]
            # Silence for at least a beat and at most a bar before the downbeat (whose hits
            # may be humanised a hair early)...
            last = max(e.time for e in events_in(a, parts, start - 8, start - 0.1))
            gap = start - last
            assert 0.9 <= gap <= 4.0 + 1.0, (genre, seed, hook, gap)
            # ...with nothing held over into it.
            held = [e for e in events_in(a, ["bass", "sub"], start - 8, start)]
            assert all(e.time + e.duration <= start - 0.9 for e in held), (genre, seed)
            # ...and the hook lands on its downbeat.
            assert events_in(a, ["kick", "crash"], start - 0.05, start + 0.05), (genre, seed)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_hooks_add_layers_the_verse_does_not_have(genre: str, beats) -> None:
    a = beats[(genre, 1)]
    hooks = [s for s in a.sections if s.name in HOOKS]
    quiet = [s for s in a.sections if s.name in ("verse", "head", "break", "intro")]
    assert hooks and quiet

    def names_in(sections: list[Section]) -> set[str]:
        found = set()
        for s in sections:
            found |= {
                name for name in a.tracks if events_in(a, [name], s.start_bar * 4, s.end_bar * 4)
            }
        return found

    added = names_in(hooks) - names_in(quiet)
    # Percussion or open hats, and the octave melody or the wide pad.
    assert added & {"hat_open", "rim", "conga", "shaker", "ride", "impact"}, (genre, added)
    if genre not in ("jazz", "rock"):
        assert {"melody_octave", "pad_hook"} <= set(a.tracks), genre
        assert a.tracks["pad_hook"].width > a.tracks["chords"].width
    if genre != "jazz":
        assert "melody_octave" in added, genre


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_every_four_bar_phrase_turns_around(genre: str, beats) -> None:
    """The 4th bar of every phrase differs from the 2nd (the same kind of bar, A/B), in the
    drums or the bass."""
    for seed in SEEDS:
        a = beats[(genre, seed)]
        for s in a.sections:
            if s.name not in MAIN:
                continue
            for bar in range(s.start_bar + 3, s.end_bar, 4):
                bass_a = {
                    (round(e.time * 12) % 48, e.pitch, e.glide_from)
                    for e in events_in(a, ["bass"], (bar - 2) * 4, (bar - 1) * 4)
                }
                bass_b = {
                    (round(e.time * 12) % 48, e.pitch, e.glide_from)
                    for e in events_in(a, ["bass"], bar * 4, (bar + 1) * 4)
                }
                same_drums = drum_bar(a, bar) == {(n, k) for n, k in drum_bar(a, bar - 2)}
                assert not (same_drums and bass_a == bass_b), (genre, seed, s, bar)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_main_sections_vary_their_drum_bars(genre: str, beats) -> None:
    """A section of 8 bars plays at least 5 different drum bars (the old engine: 2-5)."""
    for seed in SEEDS:
        a = beats[(genre, seed)]
        for s in a.sections:
            if s.name in MAIN and s.bars >= 4:
                need = min(s.bars, 5 if s.bars >= 8 else 3)
                assert distinct_drum_bars(a, s) >= need, (genre, seed, s)


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_impacts_land_on_hooks_and_downlifters_follow_them(genre: str, beats) -> None:
    a = beats[(genre, 1)]
    impacts = {e.time for e in a.tracks["impact"].events}
    assert impacts == {s.start_bar * 4.0 for s in a.sections if s.name in HOOKS}
    for e in a.tracks["impact"].events:
        assert 0 < e.duration <= 4.0 and 0 < e.velocity <= 1
    downs = {e.time for e in a.tracks["downlifter"].events}
    for before, after in zip(a.sections, a.sections[1:], strict=False):
        calmer = after.name not in (*HOOKS, "build")
        if (before.name in HOOKS and calmer) or after.name == "break":
            assert after.start_bar * 4.0 in downs, (genre, before, after)
    for name in ("impact", "downlifter"):
        track = a.tracks[name]
        assert track.kind == "fx" and track.stem == "fx" and track.instrument == name


@pytest.mark.parametrize("genre", ["edm", "dubstep", "drum and bass"])
def test_electronic_filter_moves_open_into_the_drop(genre: str, beats) -> None:
    for seed in SEEDS:
        a = beats[(genre, seed)]
        moves = a.automation
        sections = {s.start_bar * 4.0: s for s in a.sections}
        intro = next(m for m in moves if m.start == 0.0)
        assert intro.kind == "lowpass" and intro.from_hz < intro.to_hz <= 2000
        for s in a.sections:
            lo, hi = s.start_bar * 4.0, s.end_bar * 4.0
            inside = [m for m in moves if m.start < hi and m.end > lo]
            if s.name == "drop":
                assert not inside, "the drop is full-band"
            if s.name == "build":
                (build,) = inside
                assert build.kind == "lowpass" and build.to_hz >= 16000
                assert (build.start, build.end) == (lo, hi)
                assert sections[hi].name == "drop"
            if s.name == "break":
                assert inside and all(m.kind == "lowpass" and m.from_hz <= 600 for m in inside)
        for m in moves:
            assert 0 <= m.start < m.end <= a.beats
            assert set(m.stems) <= set(STEM_NAMES) and "kick" not in m.stems
            assert m.from_hz > 0 and m.to_hz > 0 and m.kind in ("lowpass", "highpass")


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_filter_moves_never_overlap_on_a_stem(genre: str, beats) -> None:
    for seed in SEEDS:
        moves = beats[(genre, seed)].automation
        if genre in ("jazz", "rock"):
            assert moves == ()  # a band plays unfiltered
        for i, m in enumerate(moves):
            for other in moves[i + 1 :]:
                if set(m.stems) & set(other.stems):
                    assert m.end <= other.start or other.end <= m.start


@pytest.mark.parametrize("genre", GENRE_NAMES)
def test_outro_winds_down_to_the_hats(genre: str, beats) -> None:
    outros = [beats[(genre, s)].sections[-1] for s in SEEDS]
    assert all(o.name == "outro" for o in outros)
    seed = next((s for s, o in zip(SEEDS, outros, strict=True) if o.bars >= 4), None)
    if seed is None:  # short outros (2 bars) keep playing to the closing hit
        return
    a = beats[(genre, seed)]
    outro = a.sections[-1]
    late = [
        b
        for b in range(outro.start_bar, outro.end_bar - 1)
        if winding_down(outro, b - outro.start_bar)
    ]
    assert late
    for bar in late:
        played = {name for name, _ in drum_bar(a, bar)}
        assert played <= {"hat_closed", "ride", "rim"}, (genre, bar, played)
        assert not events_in(a, ["bass"], bar * 4, bar * 4 + 4)


def test_three_takes_choose_their_own_form_and_sound() -> None:
    for genre in ("trap", "house", "lo-fi"):
        plans = set()
        for seed in range(1, 7):
            a = compose(spec_for(genre, 60), seed)
            plans.add(tuple((s.name, s.bars) for s in a.sections))
            sound = sound_for(genre, rng_for(seed, "palette"))
            assert a.tracks["kick"].kit == sound.kit
            assert a.tracks["bass"].instrument == sound.bass
            assert a.tracks["chords"].instrument == sound.chords
            assert a.tracks["melody"].instrument == sound.melody
            # Where drums sit is the mix's decision: compose leaves them centred.
            assert all(a.tracks[n].pan == 0.0 for n in drum_tracks(a))
        assert len(plans) >= 2, genre


def test_a_section_does_not_depend_on_what_follows() -> None:
    """Issue 22's ground: appending sections keeps every earlier bar's notes (except the last
    bar, which turns from an ending into a transition)."""
    for genre in ("trap", "edm", "jazz", "lo-fi", "drum and bass"):
        spec = spec_for(genre, 40)
        base = compose(spec, 7)
        longer = [*base.sections, Section("hook", base.bars, 8), Section("outro", base.bars + 8, 4)]
        extended = compose(spec, 7, plan=longer)
        assert extended.bars == base.bars + 12
        assert extended.duration == pytest.approx(extended.bars * 240 / spec.bpm)
        keep = base.sections[-1].start_bar * 4.0  # everything before the old outro
        for name, track in base.tracks.items():
            if name == "vinyl":
                continue
            old = [e for e in track.events if e.time < keep - 0.1]
            new = [e for e in extended.tracks[name].events if e.time < keep - 0.1]
            assert old == new, (genre, name)
        assert base.chords[:-1] == extended.chords[: base.bars - 1]
        # The same plan gives the same beat.
        assert compose(spec, 7, plan=base.sections) == base


@pytest.mark.parametrize(
    "plan",
    [
        [],
        [Section("intro", 1, 4)],
        [Section("intro", 0, 4), Section("hook", 5, 4)],
        [Section("intro", 0, 0)],
    ],
)
def test_a_bad_plan_is_one_sentence(plan: list[Section]) -> None:
    with pytest.raises(EngineInputError, match="section plan"):
        compose(BeatSpec("trap", 140, "Cm", "dark", 20), 1, plan=plan)
