"""Filter automation: the producer's hand on the cutoff knob, as `FilterMove`s.

Electronic genres (edm, dubstep, drum and bass) low-pass the intro, open the filter through
the build so the drop arrives full-band, close it again for the break and the outro. Other
genres get a gentler version: a filtered intro that opens into the verse, a muffled break,
and a thinning high-pass in a long drop-out. Acoustic bands (jazz, rock) stay unfiltered.
"""

from __future__ import annotations

from engine.compose.model import FilterMove
from engine.compose.take import Take

ELECTRONIC = ("edm", "dubstep", "drum and bass")
UNFILTERED = ("jazz", "rock")
FULL_BAND_HZ = 18000.0
# Everything but the kick and the effects: the kick keeps the pulse through a filtered intro,
# and a riser must stay bright to rise.
BAND = ("snare", "hats", "perc", "bass", "chords", "melody")
MUSIC = ("chords", "melody")


def filter_moves(take: Take) -> tuple[FilterMove, ...]:
    genre = take.spec.genre
    if genre in UNFILTERED:
        return ()
    electronic = genre in ELECTRONIC
    moves: list[FilterMove] = []
    for section in take.sections:
        start, end = section.start_bar * 4.0, section.end_bar * 4.0
        following = take.next_section(section)
        into_build = following is not None and following.name == "build"
        if section.name == "intro" and following is not None:
            if electronic:
                # Dark and closed; the build (or the drop) opens it the rest of the way.
                moves.append(FilterMove(BAND, start, end, "lowpass", 300.0, 1200.0))
            else:
                moves.append(FilterMove(MUSIC, start, end, "lowpass", 700.0, 5000.0))
        elif section.name == "build":
            moves.append(FilterMove(BAND, start, end, "lowpass", 1200.0, FULL_BAND_HZ))
        elif section.name == "break":
            top = 1200.0 if into_build else 4000.0  # a break into a drop opens on its own
            stems = BAND if electronic else MUSIC
            moves.append(FilterMove(stems, start, end, "lowpass", 500.0, top))
        elif section.name == "outro" and section.bars >= 2:
            stems = BAND if electronic else MUSIC
            moves.append(FilterMove(stems, start, end, "lowpass", FULL_BAND_HZ, 400.0))
        else:
            gap = take.arc(section).dropout
            if gap >= 2.0:
                # A long drop-out thins out from the bottom: the hook's low end lands fresh.
                moves.append(FilterMove(MUSIC, end - gap, end, "highpass", 150.0, 900.0))
    return tuple(moves)
