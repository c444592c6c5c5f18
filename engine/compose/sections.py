"""The form of a beat: which sections, how long, and how hard each one hits (its arc).

A beat is an arc, not a loop: a sparse first verse, a hook that adds layers and lifts, a
drop-out that makes the hook land, quieter filtered intros and breaks. `Arc` is that plan
per section, read by every part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.compose.model import Section, rng_for
from engine.errors import EngineInputError
from engine.grooves import Style

HOOK_NAMES = ("hook", "drop", "solo")
# A plan is only varied by seed from this many bars: a 10 s clip cut into six one-bar
# sections is no song, so short beats keep the genre's classic form.
VARIED_PLAN_BARS = 16
# From this many bars a beat alternates verses and hooks: one 20-bar verse is a loop.
LONG_PLAN_BARS = 40


def plan_sections(template: Iterable[tuple[str, float]], bars: int) -> list[Section]:
    """Scale a section template to `bars` whole bars (phrases of 4 or 2 bars when it can)."""
    template = list(template)
    if bars <= 2:
        return [Section("hook" if "hook" in dict(template) else template[2][0], 0, bars)]
    quantum = 4 if bars >= 32 else 2 if bars >= 12 else 1
    units = bars // quantum
    weights = np.array([w for _, w in template], dtype=float)
    ideal = units * weights / weights.sum()
    counts = np.floor(ideal).astype(int)
    order = np.argsort(-(ideal - counts), kind="stable")
    for index in order[: units - int(counts.sum())]:
        counts[index] += 1
    sizes = [int(c) * quantum for c in counts]
    # Leftover bars join the biggest verse (else the biggest section) so phrases stay whole:
    # a verse can run 10 or 12 bars, a hook stays the 8 bars the ear expects.
    verses = [i for i, (name, _) in enumerate(template) if name == "verse" and sizes[i]]
    main = max(verses or range(len(sizes)), key=lambda i: (sizes[i], -i))
    sizes[main] += bars - sum(sizes)
    sections, start = [], 0
    for (name, _), size in zip(template, sizes, strict=True):
        if size > 0:
            sections.append(Section(name, start, size))
            start += size
    return sections


def plan_for(style: Style, bars: int, seed: int) -> list[Section]:
    """This take's form: one of the genre's plans, chosen by seed (the classic one when short)."""
    plans = list(style.plans)
    if bars >= LONG_PLAN_BARS:
        plans = [p for p in plans if len(p) > 4] or plans
    if bars < VARIED_PLAN_BARS:
        plans = plans[:1]
    # A plan too long for the beat would lose sections (the outro first): skip those.
    whole = [p for p in plans if len(plan_sections(p, bars)) == len(p)] or plans[:1]
    rng = rng_for(seed, "sections")
    return plan_sections(whole[int(rng.integers(len(whole)))], bars)


def checked_plan(plan: Sequence[Section]) -> list[Section]:
    """An explicit plan (extend, regenerate): sections must tile bars 0.. without gaps."""
    sections = list(plan)
    start = 0
    for section in sections:
        if section.start_bar != start or section.bars < 1:
            raise EngineInputError(
                "A section plan must run from bar 0 with no gaps or overlaps "
                f"(got {section.name} at bar {section.start_bar}, expected bar {start})."
            )
        start = section.end_bar
    if not sections:
        raise EngineInputError("A section plan needs at least one section.")
    return sections


@dataclass(frozen=True)
class Arc:
    """How hard a section hits, as the parts read it."""

    velocity: float  # scales every hit and note: verse 0.8 -> hook 1.0 is about +2 dB
    sparse: bool  # the first verse: thinned hats, no ornaments, a call without an answer
    layers: bool  # hook layers: open hats, percussion, octave melody, a wide pad
    dropout: float  # beats at the end where drums and bass stop, before a hook or drop
    rank: int  # how many sections of this name came before (0 = the first)
    peak: bool = False  # a returning hook: the last chorus hits hardest (busier, fuller)


# Section name -> velocity: the level curve of the beat before any layer is added.
VELOCITY: dict[str, float] = {
    "intro": 0.78,
    "verse": 0.84,
    "head": 0.9,
    "hook": 1.0,
    "drop": 1.0,
    "solo": 1.0,
    "build": 0.86,
    "break": 0.72,
    "outro": 0.8,
}


def arcs_for(sections: Sequence[Section], seed: int) -> dict[int, Arc]:
    """Each section's arc, keyed by its start bar. A section's arc depends only on itself,
    what came before and the name of the section after it (for its drop-out)."""
    arcs: dict[int, Arc] = {}
    seen: dict[str, int] = {}
    for index, section in enumerate(sections):
        rank = seen.get(section.name, 0)
        seen[section.name] = rank + 1
        following = sections[index + 1] if index + 1 < len(sections) else None
        velocity = VELOCITY.get(section.name, 0.85)
        sparse = section.name == "verse" and rank == 0
        if sparse:
            velocity -= 0.04  # the first verse leaves room to grow
        arcs[section.start_bar] = Arc(
            velocity=velocity,
            sparse=sparse,
            layers=section.name in HOOK_NAMES,
            dropout=_dropout(section, following, seed),
            rank=rank,
            peak=section.name in HOOK_NAMES and rank >= 1,
        )
    return arcs


def _dropout(section: Section, following: Section | None, seed: int) -> float:
    """Beats of silence before a hook: one beat to a whole bar, longer in longer sections.

    The silence is what makes the hook's downbeat hit; a build already ends on its own breath.
    """
    if following is None or following.name not in HOOK_NAMES or section.name == "build":
        return 0.0
    rng = rng_for(seed, f"dropout:{section.start_bar}")
    if section.bars >= 8:
        options, weights = (1.0, 2.0, 4.0), (0.4, 0.3, 0.3)
    elif section.bars >= 4:
        options, weights = (1.0, 2.0), (0.6, 0.4)
    else:
        options, weights = (1.0,), (1.0,)
    return float(options[int(rng.choice(len(options), p=np.array(weights)))])


def winding_down(section: Section, position: int) -> bool:
    """The second half of an outro of 4 bars or more: kick, snare and bass have left."""
    return section.name == "outro" and section.bars >= 4 and position >= section.bars // 2
