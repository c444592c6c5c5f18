"""What BeatBot says when asked for help or the genre list, or when it didn't understand.

Plain text with light Markdown (bold, bullets) that reads well in Discord, Slack, the DAW
widget and a terminal alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from bot import vocab
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


def help_text() -> str:
    return "\n".join(
        (
            "**I make beats from a sentence.** Tell me a genre, and if you like a tempo, key, "
            "mood and length:",
            "• “dark trap beat at 140”",
            "• “chill lo-fi in F minor, 1 minute”",
            "• “boom bap at 90 bpm, nostalgic”",
            "Then change it: “make it faster”, “darker”, “same but in D minor”, "
            "“now as house”, or “another one” for a new take.",
            "Your clip: “stems” (drums, bass, melody, vocals), “master it for club” "
            "(streaming -14, cd -9, club -8 LUFS, or e.g. “-10 LUFS”), “midi”.",
            "Your own audio: send a file with “stems” or “master it for spotify”, or two or "
            "more files with “mix these bass heavy” (balanced, bass-heavy, bright, warm).",
            "Also: “genres” (what I can play), “status”, “cancel”.",
        )
    )


def genres_text() -> str:
    lines = ["**Genres I can make** (tempo range, default, moods):"]
    for genre in GENRES:
        low, high = genre.bpm_range
        lines.append(
            f"• **{genre.name}** {low}-{high} BPM (default {genre.default_bpm}) · "
            f"{', '.join(genre.mood_options)} · {genre.characteristics}"
        )
    lines.append("Any of them works with any mood: “sad house”, “dreamy drill”.")
    return "\n".join(lines)


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


def offer_text(asked: str, genre: str) -> str:
    """One sentence offering the nearest genre to a style or artist we can't make."""
    hint = vocab.STYLES.get(asked)
    shown = hint.shown if hint else asked
    if hint is not None and hint.artist:
        return f"I can't copy {shown}, but the closest I make is {genre} — want that?"
    return f"I don't do {shown} yet; the closest is {genre} — want that?"


def prompt_for(kind: str, params: Mapping[str, Any], adjust: Mapping[str, Any]) -> str:
    """A message that asks for exactly this beat ("make a dark house beat at 132 bpm"), for a
    button that sends it back: the parser reads it as `kind` with these params and changes."""
    genre = params["genre"]
    mood = f"{params['mood']} " if params.get("mood") else ""
    if kind == "refine":
        parts = [f"now as {genre}" + (f", {params['mood']}" if mood else "")]
    elif kind == "variation":
        parts = [f"another one as {genre}" + (f", {params['mood']}" if mood else "")]
    else:
        parts = [f"make a {mood}{genre} beat"]
    if "bpm" in params:
        parts[0] += f" at {params['bpm']:g} bpm"
    if "key" in params:
        parts[0] += f" in {params['key']}"
    if "duration" in params:
        parts.append(f"{params['duration']:g} seconds")
    parts += finish_words(params)
    if "seed" in params:
        parts.append(f"seed {params['seed']}")
    for name, word_up, word_down, unit in (
        ("bpm", "faster", "slower", " bpm"),
        ("bpm_percent", "faster", "slower", "%"),
        ("duration", "longer", "shorter", " seconds"),
        ("duration_percent", "longer", "shorter", "%"),
    ):
        change = adjust.get(name)
        if change:
            parts.append(f"{abs(change):g}{unit} {word_up if change > 0 else word_down}")
    return ", ".join(parts)


def finish_words(params: Mapping[str, Any]) -> list[str]:
    """How a beat's mix and master read: ["warm mix", "mastered for club at -9 LUFS"]."""
    words = [f"{params['mix_profile']} mix"] if "mix_profile" in params else []
    quality = f" for {params['quality']}" if "quality" in params else ""
    lufs = f" at {params['target_lufs']:g} LUFS" if "target_lufs" in params else ""
    if quality or lufs:
        words.append(f"mastered{quality}{lufs}")
    return words


def finish_note(params: Mapping[str, Any]) -> str:
    """ " Warm mix, mastered at -9 LUFS.": what a request said about its mix and master."""
    text = ", ".join(finish_words(params))
    return f" {text[0].upper()}{text[1:]}." if text else ""
