"""A beat request said back in words: the sentence that offers the nearest genre to a style
we don't make, the message a button sends to ask for exactly that beat, and the note that
confirms how a request asked to be mixed and mastered.

What `prompt_for` writes, `bot.intents.parse` reads back as the same request (a property test
checks every combination), so a button works on any surface that can send text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import vocab


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
