"""The drum part: the genre's groove, varied bar by bar the way a drummer or producer would.

Per bar: the take's groove (an A bar and a B bar for the kick, so a 2-bar phrase breathes),
the section's colour (a sparse first verse, hook layers, the rock drummer moving to the ride),
a variation at the end of every 4-bar phrase, small ornaments (ghost notes, kick pickups)
now and then, a fill into the next section, and silence in the drop-out before a hook.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.compose.model import DRUM_STEM, GM_DRUMS, TOM_NOTES, NoteEvent, Section, rng_for
from engine.compose.sections import winding_down
from engine.compose.take import HOOKS, Take
from engine.grooves import HIT_VELOCITY

# Drill hats on a triplet-8th grid (12 per bar): "r" = a 16th-triplet burst.
TRIPLET_HATS = (
    "x.xx.xx.xx.r",
    "x.x.xxx.xx.x",
    "xx.x.xxr.x.x",
)
DRUM_GAIN_DB: dict[str, float] = {
    "kick": -1.0,
    "snare": -5.0,
    "clap": -6.0,
    "rim": -12.0,
    "hat_closed": -14.0,
    "hat_open": -16.0,
    "ride": -15.0,
    "crash": -17.0,
    "shaker": -18.0,
    "conga": -13.0,
    "tom": -8.0,
    "cowbell": -16.0,
}
HATS = ("hat_closed", "ride")
# How often a bar inside a phrase gets a small touch: more where the kick can't move.
ORNAMENT_CHANCE = {False: 0.4, True: 0.65}
BACKBEAT = ("snare", "clap")
# Steps never given a ghost snare: the beats themselves stay the backbeat's.
ON_BEATS = (0, 4, 8, 12)


@dataclass(frozen=True)
class Hit:
    name: str
    beat: float  # within the bar, before swing
    velocity: float
    pitch: int | None = None
    swing: bool = True
    backbeat: bool = False  # sits behind the grid by the style's snare lag


@dataclass(frozen=True)
class Groove:
    """The take's drum choices, drawn once: the same groove runs through the whole beat."""

    choice: dict[str, int]  # pattern variant per drum
    kick_b: int  # the kick variant for the second bar of each 2-bar phrase
    hook_choice: dict[str, int]  # hook layer variants
    breaks: int  # which jungle break (drum and bass)


def play_drums(take: Take) -> None:
    take_groove = _groove(take, rng_for(take.seed, "drums"))
    for section in take.sections:
        # A redrawn section picks its own groove variants; every other keeps the take's.
        redrawn = take.redrawn(section)
        groove = _groove(take, take.choices("drums", section)) if redrawn else take_groove
        rng = take.rng("drums", section)
        human = take.rng("humanise", section)
        for bar in range(section.start_bar, section.end_bar):
            for hit in _bar(take, groove, section, bar, rng):
                beat = bar * 4.0 + hit.beat
                if not take.silenced(beat):
                    _emit(take, hit, beat, human)


def _groove(take: Take, rng: np.random.Generator) -> Groove:
    style = take.style
    choice = {name: int(rng.integers(len(v))) for name, v in style.drums.items()}
    kicks = style.drums.get("kick", ("",))
    kick_b = choice.get("kick", 0)
    if len(kicks) > 1:
        kick_b = (kick_b + 1 + int(rng.integers(len(kicks) - 1))) % len(kicks)
    hook_choice = {name: int(rng.integers(len(v))) for name, v in style.hook_drums.items()}
    breaks = int(rng.integers(len(style.breaks))) if style.breaks else 0
    return Groove(choice, kick_b, hook_choice, breaks)


def _bar(
    take: Take, groove: Groove, section: Section, bar: int, rng: np.random.Generator
) -> list[Hit]:
    if take.is_last_bar(bar):
        return [Hit("kick", 0.0, 1.0), Hit("crash", 0.0, 0.9)]
    if section.name == "build":
        return _build_bar(take, section, bar)
    arc = take.arc(section)
    patterns = _patterns(take, groove, section, bar, rng)
    position = bar - section.start_bar
    fill_bar = section.end_bar - 1 - int(arc.dropout // 4)
    fill = _fill_start(take, section, bar, rng) if bar == fill_bar else None
    if fill is None and position % 4 == 3:
        _phrase_end(take, patterns, rng)  # the turnaround every 4 bars
    elif fill is None and rng.random() < ORNAMENT_CHANCE[take.style.four_on_floor] * (
        0.7 if arc.sparse else 1.0
    ):
        _ornament(take, patterns, rng)
    fill_drops = ("snare", "clap") if take.style.four_on_floor else ("snare", "clap", "kick")
    hits: list[Hit] = []
    for name, pattern in patterns.items():
        if name == "hat_closed" and take.style.triplet_hats:
            hits += _triplet_hats(rng)
            continue
        for step, letter in enumerate(pattern):
            if letter == "." or (fill is not None and step >= fill and name in fill_drops):
                continue
            velocity = HIT_VELOCITY[letter] * arc.velocity
            if name in HATS:
                velocity *= take.style.hat_accent[step % 4]
            if section.name == "intro" and name in ("kick", "snare", "clap"):
                velocity *= 0.85
            backbeat = name in BACKBEAT and step in ON_BEATS and letter != "o"
            hits.append(Hit(name, step / 4.0, velocity, backbeat=backbeat))
    if take.style.hat_rolls and "hat_closed" in patterns:
        hits = _hat_roll(hits, section, bar, rng)
    if fill is not None:
        hits += _fill(take, fill, rng)
    phrase_start = position % 4 == 0 and (position == 0 or arc.peak)  # a returning hook
    if phrase_start and bar > 0 and section.name not in ("break", "intro"):
        hits.append(Hit("ride" if take.spec.genre == "jazz" else "crash", 0.0, 0.85))
    return hits


def _patterns(
    take: Take, groove: Groove, section: Section, bar: int, rng: np.random.Generator
) -> dict[str, str]:
    """The 16-step pattern of every drum playing this bar, before ornaments and fills."""
    style, arc = take.style, take.arc(section)
    position = bar - section.start_bar
    hook = section.name in HOOKS
    patterns: dict[str, str] = {}
    for name, variants in style.drums.items():
        if not _plays(take, name, section, position):
            continue
        index = groove.choice[name]
        if hook and len(variants) > 1:
            index = (index + 1) % len(variants)
        if name == "kick" and position % 2 == 1:
            index = groove.kick_b
        if name == "hat_closed":
            if style.breaks:
                # Jungle hats change figure through the 4-bar phrase.
                index = (index + (position % 4 == 3) + 2 * (position % 8 >= 4)) % len(variants)
            elif (take.density > 1.1 or arc.peak) and hook:
                index = min(range(len(variants)), key=lambda i: variants[i].count("."))
            elif take.density < 0.9 or arc.sparse:
                index = max(range(len(variants)), key=lambda i: variants[i].count("."))
        patterns[name] = variants[index]
    if style.breaks and section.name in (*HOOKS, "verse"):
        figure = style.breaks[groove.breaks][position % 4]
        patterns.update({name: pattern for name, pattern in figure.items()})
    if arc.sparse and "hat_closed" in patterns:
        patterns["hat_closed"] = _thin(patterns["hat_closed"])
    if arc.layers:
        for name, variants in style.hook_drums.items():
            index = (groove.hook_choice[name] + (position % 8 >= 4)) % len(variants)
            patterns[name] = variants[index]
    if hook and style.hook_cymbal and "hat_closed" in patterns:
        # The drummer moves from the hat to the ride for the hook: one cymbal at a time.
        patterns[style.hook_cymbal] = patterns.pop("hat_closed")
    return patterns


def _plays(take: Take, name: str, section: Section, position: int) -> bool:
    genre = take.spec.genre
    if section.name == "intro":
        if take.style.four_on_floor and name == "kick":
            return True
        return name in ("hat_closed", "shaker", "ride", "rim") or genre in ("jazz", "rock")
    if section.name == "break":
        return name in ("hat_closed", "shaker", "rim")
    if section.name == "outro":
        if winding_down(section, position):
            return name in ("hat_closed", "ride", "rim")  # the beat winds down to the hats
        return name not in ("hat_open", "shaker")
    # The first verse keeps to kick, snare and hats.
    return not (take.arc(section).sparse and name in ("hat_open", "shaker", "rim"))


def _thin(pattern: str) -> str:
    """A lighter hat: ghosts out, 16ths down to 8ths (the first verse leaves room)."""
    return "".join(
        "." if (letter == "o" or step % 2) else letter for step, letter in enumerate(pattern)
    )


def _set(patterns: dict[str, str], name: str, step: int, letter: str) -> None:
    pattern = patterns.get(name, "." * 16)
    patterns[name] = pattern[:step] + letter + pattern[step + 1 :]


def _phrase_end(take: Take, patterns: dict[str, str], rng: np.random.Generator) -> None:
    """The 4th bar of a phrase turns around: a kick pickup, a snare drag, an open hat, or
    the kick stopping short, so the ear hears the phrase come round."""
    style = take.style
    options = ["open"] if "hat_open" in style.drums or "hat_open" in style.hook_drums else []
    if "kick" in patterns and not style.four_on_floor:
        options += ["pickup", "stop"]
    if "snare" in patterns or "clap" in patterns:
        options.append("drag")
    if not options:
        return
    kind = options[int(rng.integers(len(options)))]
    if kind == "open":
        opens = patterns.get("hat_open", "." * 16)
        free = [s for s in (14, 10, 6, 15, 7) if opens[s] == "."]
        step = int(free[int(rng.integers(len(free)))])
        _set(patterns, "hat_open", step, "x")
        for hat in HATS:
            if hat in patterns:
                _set(patterns, hat, step, ".")
    elif kind == "pickup":
        _set(patterns, "kick", (14, 15, 11)[int(rng.integers(3))], "x")
    elif kind == "stop":
        patterns["kick"] = patterns["kick"][:8] + "." * 8
        _set(patterns, "kick", 15, "o")
    else:
        name = "snare" if "snare" in patterns else "clap"
        for step in (13, 15) if rng.random() < 0.5 else (14, 15):
            _set(patterns, name, step, "o")


def _ornament(take: Take, patterns: dict[str, str], rng: np.random.Generator) -> None:
    """A small touch inside the phrase: a ghost snare, an extra kick, a dropped hat."""
    options = []
    if take.style.ghosts and "snare" in patterns:
        options.append("ghost")
    if take.style.four_on_floor and "clap" in patterns:
        options.append("clap")  # the kick never moves, so the clap and hats carry the variety
    if "kick" in patterns and not take.style.four_on_floor:
        options.append("kick")
    if "hat_closed" in patterns and not take.style.triplet_hats:
        options.append("hat")
    if "hat_open" in patterns and "hat_open" in take.style.drums:
        options.append("open")
    if not options:
        return
    kind = options[int(rng.integers(len(options)))]
    if kind == "ghost":
        free = [s for s in (3, 6, 7, 10, 11, 14, 15) if patterns["snare"][s] == "."]
        _set(patterns, "snare", int(rng.choice(free)) if free else 15, "o")
    elif kind == "clap":
        free = [s for s in (3, 7, 11, 14, 15) if patterns["clap"][s] == "."]
        _set(patterns, "clap", int(rng.choice(free)) if free else 15, "o")
    elif kind == "kick":
        free = [s for s in (3, 6, 7, 9, 11, 13, 14) if patterns["kick"][s] == "."]
        _set(patterns, "kick", int(rng.choice(free)) if free else 14, "o")
    elif kind == "open":  # one open hat choked closed: the off-beat stays, its colour moves
        opens = patterns["hat_open"]
        played = [s for s, letter in enumerate(opens) if letter != "."]
        if played:
            step = int(rng.choice(played))
            _set(patterns, "hat_open", step, ".")
            _set(patterns, "hat_closed", step, "x")
    else:
        hats = patterns["hat_closed"]
        played = [s for s, letter in enumerate(hats) if letter != "." and s % 4]
        if played:
            _set(patterns, "hat_closed", int(rng.choice(played)), ".")


def _triplet_hats(rng: np.random.Generator) -> list[Hit]:
    """Drill hats: a triplet-8th grid with gaps, and 16th-triplet bursts."""
    pattern = TRIPLET_HATS[int(rng.integers(len(TRIPLET_HATS)))]
    hits = []
    for step, letter in enumerate(pattern):
        if letter == ".":
            continue
        beat = step / 3.0
        if letter == "r":  # a 16th-triplet burst
            hits += [Hit("hat_closed", beat + k / 6.0, 0.55 + 0.2 * k, swing=False) for k in (0, 1)]
        else:
            hits.append(Hit("hat_closed", beat, HIT_VELOCITY[letter], swing=False))
    return hits


def _hat_roll(hits: list[Hit], section: Section, bar: int, rng: np.random.Generator) -> list[Hit]:
    """Trap: swap a beat of hats for a 32nd, 16th-triplet or 8th-triplet roll."""
    chance = 0.9 if section.name in HOOKS else 0.6
    if bar % 2 == 0 and rng.random() > chance:
        return hits
    rate = (8, 6, 3, 4)[int(rng.integers(4))]  # hits per beat
    start = float((1, 3, 2)[int(rng.integers(3))])
    length = 1.0 if rate != 3 else 2.0 if start < 3 else 1.0
    kept = [h for h in hits if not (h.name == "hat_closed" and start <= h.beat < start + length)]
    count = round(rate * length)
    rising = rng.random() < 0.5
    for k in range(count):
        shape = k / max(1, count - 1) if rising else 1 - k / max(1, count)
        kept.append(Hit("hat_closed", start + k / rate, 0.45 + 0.45 * shape, swing=False))
    return kept


def _fill_start(take: Take, section: Section, bar: int, rng: np.random.Generator) -> int | None:
    """A fill in a section's last bar (before the next section), from step 8 or 12."""
    if bar >= take.bars - 2 or section.name in ("build", "intro"):
        return None
    if section.bars < 2 and rng.random() < 0.5:
        return None
    return 8 if rng.random() < 0.5 else 12


def _fill(take: Take, start: int, rng: np.random.Generator) -> list[Hit]:
    genre = take.spec.genre
    steps = range(start, 16)
    hits = []
    if genre in ("rock", "jazz", "pop", "r&b"):
        for i, step in enumerate(steps):
            if step % 2 and genre == "jazz":
                continue
            tom = TOM_NOTES[min(len(TOM_NOTES) - 1, i * len(TOM_NOTES) // len(steps))]
            velocity = 0.7 + 0.3 * i / len(steps)
            hits.append(
                Hit("snare", step / 4.0, velocity)
                if i == 0
                else Hit("tom", step / 4.0, velocity, pitch=tom)
            )
    elif genre in ("trap", "drill", "dubstep"):
        rate = (8, 6)[int(rng.integers(2))]
        first = start / 4.0
        count = int((4.0 - first) * rate)
        hits = [
            Hit("snare", first + k / rate, 0.35 + 0.55 * k / max(1, count - 1), swing=False)
            for k in range(count)
        ]
    else:
        name = "clap" if take.style.four_on_floor and "clap" in take.style.drums else "snare"
        for step in steps:
            if genre in ("lo-fi", "boom bap", "hip hop") and step % 2 and rng.random() < 0.5:
                continue
            crescendo = (step - start) / (16 - start)
            hits.append(Hit(name, step / 4.0, 0.45 + 0.5 * crescendo))
    return hits


def _build_bar(take: Take, section: Section, bar: int) -> list[Hit]:
    """EDM/dubstep/dnb build: a snare roll that doubles its rate through the build's last four
    quarters (quarter notes, 8ths, 16ths, 32nds) and swells, but stays under the drop: the
    drop has to be the loudest thing, the roll only points at it."""
    length = section.bars * 4.0
    tail = min(length, 16.0)  # the doubling happens over the last 4 bars (or the whole build)
    hits = []
    beat = bar * 4.0 - section.start_bar * 4.0
    for k in range(4):
        at = beat + k  # beats into the build
        quarter = int(4 * max(0.0, at - (length - tail)) / tail)
        rate = (1, 2, 4, 8)[min(3, quarter)]
        for j in range(rate):
            offset = k + j / rate
            if at + j / rate >= length - 0.5:
                break  # a breath before the drop
            progress = (at + j / rate) / length
            hits.append(Hit("snare", offset, 0.25 + 0.45 * progress, swing=False))
    position = bar - section.start_bar
    for step in range(0, 16, 2):
        hits.append(Hit("hat_closed", step / 4.0, 0.4 + 0.3 * position / section.bars))
    return hits


def _emit(take: Take, hit: Hit, beat: float, rng: np.random.Generator) -> None:
    style = take.style
    track = take.track(
        hit.name,
        "drum",
        hit.name,
        DRUM_STEM[hit.name],
        kit=take.sound.kit,
        brightness=take.brightness,
        gain_db=DRUM_GAIN_DB.get(hit.name, -10.0),
    )
    time = take.swung(beat) if hit.swing else beat
    if hit.backbeat:
        time += style.snare_lag  # the lazy backbeat of the swung hip hop family
    if style.humanise_time and beat > 0:
        time += float(rng.normal(0.0, style.humanise_time))
    velocity = hit.velocity * (1.0 + float(rng.normal(0.0, style.humanise_velocity)))
    track.events.append(
        NoteEvent(
            time=max(0.0, min(time, take.bars * 4.0 - 0.01)),
            duration=0.25,
            pitch=float(hit.pitch if hit.pitch is not None else GM_DRUMS[hit.name]),
            velocity=min(1.0, max(0.1, velocity)),
        )
    )
