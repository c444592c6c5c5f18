"""Slash commands: each becomes the sentence a person would type, answered by the same flow
and the same rules (`bot.policy`): private unless it starts a job.

Every handler acknowledges first (Discord wants an answer within 3 s); the work follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot import prefs
from bot.messages import TextReply
from bot.replies import history_text
from engine.genres import GENRE_NAMES

if TYPE_CHECKING:
    from adapters.discord.flow import Flow

QualityName = Literal["streaming", "cd", "club"]
ProfileName = Literal["balanced", "bass-heavy", "bright", "warm"]
FormatName = Literal["mp3", "wav", "flac"]


def beat_text(
    genre: str,
    bpm: float | None = None,
    key: str | None = None,
    mood: str | None = None,
    duration: float | None = None,
    seed: int | None = None,
) -> str:
    """/beat options as a request the assistant's parser reads: "make a dark trap beat …"."""
    words = ["make a", mood or "", genre, "beat"]
    if bpm:
        words.append(f"at {bpm:g} bpm")
    if key:
        words.append(f"in {key}")
    if duration:
        words.append(f"for {duration:g} seconds")
    if seed is not None:
        words.append(f"seed {seed}")
    return " ".join(w for w in words if w)


def master_text(quality: str | None, lufs: float | None, upload: bool) -> str:
    what = "master this" if upload else "master it"
    if lufs is not None:
        return f"{what} at {lufs:g} LUFS"
    return f"{what} for {quality}" if quality else what


async def genre_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    current = current.lower().strip()
    names = [g for g in GENRE_NAMES if current in g] or list(GENRE_NAMES)
    return [app_commands.Choice(name=g, value=g) for g in names[:25]]


def register(tree: app_commands.CommandTree, flow: Flow) -> None:
    @tree.command(name="beat", description="Make a beat")
    @app_commands.describe(duration="seconds", seed="same seed, same beat")
    @app_commands.autocomplete(genre=genre_choices)
    async def beat(
        interaction: discord.Interaction,
        genre: str,
        bpm: app_commands.Range[float, 40, 240] | None = None,
        key: str | None = None,
        mood: str | None = None,
        duration: app_commands.Range[float, 1, 600] | None = None,
        seed: app_commands.Range[int, 0, 2**31 - 1] | None = None,
    ) -> None:
        await flow.on_command(interaction, beat_text(genre, bpm, key, mood, duration, seed))

    @tree.command(name="stems", description="Split a track (or this thread's beat) into stems")
    async def stems(
        interaction: discord.Interaction,
        audio: discord.Attachment | None = None,
        which: str | None = None,
    ) -> None:
        text = f"stems {which}" if which else "stems"
        await flow.on_command(interaction, text, [audio] if audio else [])

    @tree.command(name="mix", description="Mix two or more tracks")
    async def mix(
        interaction: discord.Interaction,
        track1: discord.Attachment,
        track2: discord.Attachment,
        track3: discord.Attachment | None = None,
        track4: discord.Attachment | None = None,
        profile: ProfileName = "balanced",
    ) -> None:
        files = [t for t in (track1, track2, track3, track4) if t is not None]
        await flow.on_command(interaction, f"mix these {profile}", files)

    @tree.command(name="master", description="Master a track (or this thread's beat)")
    @app_commands.describe(lufs="loudness target, e.g. -14")
    async def master(
        interaction: discord.Interaction,
        audio: discord.Attachment | None = None,
        quality: QualityName | None = None,
        lufs: app_commands.Range[float, -30, -4] | None = None,
    ) -> None:
        text = master_text(quality, lufs, audio is not None)
        await flow.on_command(interaction, text, [audio] if audio else [])

    @tree.command(name="genres", description="The genres BeatBot knows")
    async def genres(interaction: discord.Interaction) -> None:
        await flow.on_command(interaction, "genres")

    @tree.command(name="help", description="What BeatBot can do")
    async def help_(interaction: discord.Interaction) -> None:
        await flow.on_command(interaction, "help")

    @tree.command(name="history", description="Your last beats")
    async def history(interaction: discord.Interaction) -> None:
        async def answer() -> TextReply:
            entries = await flow.services.history.list(str(interaction.user.id), limit=10)
            return TextReply.of(history_text(entries))

        await flow.answer_privately(interaction, answer)

    @tree.command(name="settings", description="Your defaults for new beats")
    async def settings(
        interaction: discord.Interaction,
        format: FormatName | None = None,
        quality: QualityName | None = None,
        duration: app_commands.Range[float, 1, 600] | None = None,
    ) -> None:
        values = {
            "format": format or "",
            "quality": quality or "",
            "duration": f"{duration:g}" if duration else "",
        }

        async def answer() -> TextReply:
            saved = await prefs.save(flow.services, "discord", str(interaction.user.id), values)
            return TextReply(prefs.describe(saved))

        await flow.answer_privately(interaction, answer)
