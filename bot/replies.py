"""What BeatBot says when asked for help or the genre list, or when it didn't understand.

Plain text with light Markdown (bold, bullets) that reads well in Discord, Slack, the DAW
widget and a terminal alike.
"""

from __future__ import annotations

import zlib

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
