"""What BeatBot says when asked for help or the genre list, or when it didn't understand.

Longer answers are `RichText` (bold words, bullets) that each surface renders in its own
syntax; short ones are plain sentences.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from bot.richtext import RichText, bold, bullets, link, para, rich
from engine.compose import BEATS_PER_BAR, bars_for
from engine.genres import GENRES

# Prompts a person can copy; each one parses into a beat (tests check that).
EXAMPLE_PROMPTS: tuple[str, ...] = (
    "dark trap beat at 140",
    "chill lo-fi in F minor, 1 minute",
    "boom bap at 90 bpm, nostalgic",
    "uplifting house at 124 in A minor",
    "aggressive drill, 45 seconds",
    "dreamy r&b at 80 bpm in Eb",
    "energetic drum and bass at 174",
    "groovy jazz in Bb, 2 minutes",
)


def help_text() -> RichText:
    return rich(
        para(
            bold("I make beats from a sentence."),
            " Tell me a genre, and if you like a tempo, key, mood and length:",
        ),
        bullets(
            "“dark trap beat at 140”",
            "“chill lo-fi in F minor, 1 minute”",
            "“boom bap at 90 bpm, nostalgic”",
        ),
        para(
            "Then change it: “make it faster”, “darker”, “same but in D minor”, "
            "“now as house”, or “another one” for a new take."
        ),
        para(
            "Your clip: “stems” (drums, bass, melody, vocals), “master it for club” "
            "(streaming -14, cd -9, club -8 LUFS, or e.g. “-10 LUFS”), “midi”."
        ),
        para(
            "Your own audio: send a file with “stems” or “master it for spotify”, or two or "
            "more files with “mix these bass heavy” (balanced, bass-heavy, bright, warm)."
        ),
        para("Also: “genres” (what I can play), “status”, “cancel”."),
    )


def genres_text() -> RichText:
    rows = []
    for genre in GENRES:
        low, high = genre.bpm_range
        rows.append(
            (
                bold(genre.name),
                f" {low}-{high} BPM (default {genre.default_bpm}) · "
                f"{', '.join(genre.mood_options)} · {genre.characteristics}",
            )
        )
    return rich(
        para(bold("Genres I can make"), " (tempo range, default, moods):"),
        bullets(*rows),
        para("Any of them works with any mood: “sad house”, “dreamy drill”."),
    )


def unknown_text(text: str = "") -> str:
    """A short nudge with two example prompts (which two depends on the message, so a person
    who keeps typing sees different ideas)."""
    first = zlib.crc32(text.encode("utf-8", "replace")) % len(EXAMPLE_PROMPTS)
    second = (first + 1 + len(EXAMPLE_PROMPTS) // 2) % len(EXAMPLE_PROMPTS)
    return (
        "I make beats. Try “"
        + EXAMPLE_PROMPTS[first]
        + "” or “"
        + EXAMPLE_PROMPTS[second]
        + "” — or type “help”."
    )


def clip_length(duration: float, bpm: float) -> str:
    """The length a beat really gets: whole 4/4 bars, so 30 s at 140 BPM is "31 s (18 bars)"."""
    bars = bars_for(duration, bpm)
    seconds = bars * BEATS_PER_BAR * 60.0 / bpm
    return f"{seconds:.0f} s ({bars} bar{'s' * (bars != 1)})"


def asked(person: str, request: str) -> str:
    """The public line a slash command's job hangs from: who asked, and for what."""
    return f"{person} asked: {request}"


def history_text(entries: Sequence[Mapping[str, object]]) -> RichText:
    """A person's last beats, newest first, each with its link."""
    if not entries:
        return RichText.of("No beats yet. Ask me for one: “make a chill lo-fi beat”.")
    rows = []
    for entry in entries:
        summary = str(entry.get("summary") or entry.get("prompt") or entry.get("generationId"))
        url = str(entry.get("audioUrl") or entry.get("url") or "")
        rows.append((summary, " ", link("listen", url)) if url else (summary,))
    return rich(para(bold("Your last beats:")), bullets(*rows))


# How a card names a part left out ("No hi-hats, no melody.").
PART_LABELS: dict[str, str] = {
    "drums": "drums",
    "kick": "kick",
    "snare": "snare",
    "hats": "hi-hats",
    "perc": "percussion",
    "bass": "bass",
    "chords": "chords",
    "melody": "melody",
    "fx": "FX",
}


def _spoken_list(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def controls_note(summary: Mapping[str, Any]) -> str:
    """What a beat's card says about its producer controls: the parts left out and the
    instruments asked for, and what this render's edit did ("Extended by 8 bars to 40 s
    (20 bars).", "New hook, everything else as before."). Empty when there are none."""
    from engine.palettes import INSTRUMENT_LABELS

    sentences: list[str] = []
    exclude = [PART_LABELS.get(str(p), str(p)) for p in summary.get("exclude") or ()]
    if exclude:
        text = ", ".join(f"no {part}" for part in exclude)
        sentences.append(f"{text[0].upper()}{text[1:]}.")
    include = [INSTRUMENT_LABELS.get(str(v), str(v)) for v in summary.get("include") or ()]
    if include:
        sentences.append(f"With {_spoken_list(include)}.")
    edits = list(summary.get("edits") or ())
    if summary.get("newEdit") and edits:
        sentences.append(_edit_sentence(edits[-1], summary))
    return " ".join(sentences)


def _edit_sentence(edit: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    if "extend" in edit:
        bars = int(edit["extend"])
        sections = summary.get("sections") or ()
        total = sum(int(b) for _, b in sections)
        seconds = float(summary.get("duration") or 0)
        return (
            f"Extended by {bars} bar{'s' * (bars != 1)} to {seconds:.0f} s "
            f"({total} bar{'s' * (total != 1)})."
        )
    section = str(edit.get("redo"))
    part = str(edit.get("part") or "all")
    if part == "all":
        return f"New {section}, everything else as before."
    return f"New {PART_LABELS.get(part, part)} in the {section}, everything else as before."
