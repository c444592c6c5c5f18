"""The arrangement's arc survives the render: measured as K-weighted loudness per bar of the
rendered stems summed (before the mix bus, whose job is to keep it: the mix chain's own
tests and benchmarks/sound.py measure the master).

One 20 s render each of a hook genre, a four-on-the-floor genre and a build-and-drop genre,
rendered once for the module (the composition-level arc of every genre is in
test_engine_arrangement.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.compose import compose
from engine.render import render
from tests.compose_measure import HOOKS, spec_for
from tests.sound_measure import bar_levels

SR = 44100
GENRES = ("trap", "house", "edm")
SEED = 2


@pytest.fixture(scope="module")
def levels() -> dict[str, tuple[object, np.ndarray]]:
    made = {}
    for genre in GENRES:
        arrangement = compose(spec_for(genre, 20), SEED)
        mix = sum(render(arrangement, sr=SR).values())
        # Whole bars rarely land on whole samples: a frame of silence keeps the last bar,
        # which bar_levels would drop when the length rounds down.
        mix = np.pad(mix, ((0, 1), (0, 0)))
        bars = bar_levels(mix, SR, arrangement.bpm)
        assert len(bars) == arrangement.bars
        made[genre] = (arrangement, bars)
    return made


def mean_level(bars: np.ndarray, sections) -> float:
    """Mean power of the bars of some sections, in LU."""
    chosen = [bars[b] for s in sections for b in range(s.start_bar, s.end_bar)]
    return float(10 * np.log10(np.mean(10 ** (np.array(chosen) / 10))))


@pytest.mark.parametrize("genre", ["trap", "house"])
def test_hooks_lift_over_the_first_verse(genre: str, levels) -> None:
    arrangement, bars = levels[genre]
    hooks = [s for s in arrangement.sections if s.name in HOOKS]
    verse = next(s for s in arrangement.sections if s.name == "verse")
    lift = mean_level(bars, hooks) - mean_level(bars, [verse])
    assert lift >= 2.0, (genre, round(lift, 2))
    intro = [s for s in arrangement.sections if s.name == "intro"]
    assert mean_level(bars, hooks) - mean_level(bars, intro) >= 3.0, genre


@pytest.mark.parametrize("genre", ["trap", "house"])
def test_the_bar_before_a_hook_drops_out(genre: str, levels) -> None:
    """The drop-out is heard: the last bar before a hook is quieter than the hook's first."""
    arrangement, bars = levels[genre]
    for before, hook in zip(arrangement.sections, arrangement.sections[1:], strict=False):
        if hook.name in HOOKS and before.name != "build":
            assert bars[hook.start_bar] - bars[hook.start_bar - 1] >= 1.0, (genre, hook)


def test_electronic_drops_lift_over_intro_and_break(levels) -> None:
    """The drop is where it hits; the roll into it may be loud, but not the quiet parts."""
    arrangement, bars = levels["edm"]
    drops = [s for s in arrangement.sections if s.name == "drop"]
    calm = [s for s in arrangement.sections if s.name in ("break", "intro", "outro")]
    assert drops and calm
    assert mean_level(bars, drops) - mean_level(bars, calm) >= 3.0
