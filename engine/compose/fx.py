"""Effect events: the record's surface, and the transitions a producer draws by hand.

Risers lead into hooks and drops, an impact (a boom and a burst of noise) marks every hook's
downbeat, a downlifter (a falling sweep) lets the energy out when a hook ends or a break
begins. `render` plays them by instrument name; their duration is how long each may sound.
"""

from __future__ import annotations

from engine.compose.model import NoteEvent, Section, Track
from engine.compose.take import HOOKS, Take

RISER_GENRES = ("pop", "house", "techno", "trap", "dubstep", "edm", "drill", "drum and bass")
# Softer transitions where a big EDM-style hit would break the mood.
GENTLE = ("lo-fi", "jazz", "r&b", "boom bap", "hip hop")
FX_GAIN_DB: dict[str, float] = {
    "vinyl": -26.0,
    "riser": -16.0,
    "impact": -12.0,
    "downlifter": -17.0,
}


def play_fx(take: Take) -> None:
    total = take.bars * 4.0
    if take.style.vinyl:
        vinyl = _track(take, "vinyl")
        vinyl.events.append(NoteEvent(0.0, total, 0.0, 0.8))
    level = 0.55 if take.spec.genre in GENTLE else 0.9
    for section in take.sections:
        following = take.next_section(section)
        if _rises_into(take, section, following):
            length = section.bars * 4.0 if section.name == "build" else min(4.0, section.bars * 4.0)
            _track(take, "riser").events.append(
                NoteEvent(section.end_bar * 4.0 - length, length, 0.0, 0.8)
            )
        if section.name in HOOKS:
            # The hook's downbeat: rings for up to a bar (the section may be shorter).
            ring = min(4.0, section.bars * 4.0)
            _track(take, "impact").events.append(
                NoteEvent(section.start_bar * 4.0, ring, 0.0, level)
            )
        calmer = following is not None and following.name not in (*HOOKS, "build")
        if following is not None and (
            (section.name in HOOKS and calmer) or following.name == "break"
        ):
            sweep = min(4.0, following.bars * 4.0)
            _track(take, "downlifter").events.append(
                NoteEvent(following.start_bar * 4.0, sweep, 0.0, 0.8 * level)
            )


def _rises_into(take: Take, section: Section, following: Section | None) -> bool:
    if section.name == "build":
        return True
    return (
        following is not None
        and following.name in ("hook", "drop")
        and take.spec.genre in RISER_GENRES
    )


def _track(take: Take, name: str) -> Track:
    return take.track(name, "fx", name, "fx", gain_db=FX_GAIN_DB[name], width=0.8)
