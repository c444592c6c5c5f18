"""The discord.py client: intents, persistent buttons, slash commands, message events."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from adapters.discord import commands
from adapters.discord.buttons import ActionButton
from adapters.discord.flow import Flow
from bot.services import Services

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """Guild messages and DMs, with their text (the privileged message-content intent)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    return wanted


class BeatBotClient(discord.Client):
    def __init__(self, services: Services, consumer_name: str) -> None:
        settings = services.settings.discord
        super().__init__(
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),  # never ping from echoed text
            guild_ready_timeout=settings.ready_timeout,
        )
        self.flow = Flow(self, services, consumer_name)
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._command_error  # type: ignore[method-assign]
        self.sync_commands = settings.sync_commands

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton)  # clicks on old messages work after a restart
        commands.register(self.tree, self.flow)
        if self.sync_commands:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        try:
            await self.flow.on_message(message)
        except Exception:  # one bad message must not stop the bot; the person gets a sentence
            log.exception("could not answer message %s", message.id)
            await _apologise(message.channel)

    async def _command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.exception("slash command failed", exc_info=error)
        from bot.errors import APOLOGY

        try:  # an error is the asker's business only (bot.policy)
            if interaction.response.is_done():
                await interaction.followup.send(APOLOGY, ephemeral=True)
            else:
                await interaction.response.send_message(APOLOGY, ephemeral=True)
        except discord.HTTPException:
            pass


async def _apologise(channel: discord.abc.Messageable) -> None:
    from bot.errors import APOLOGY

    try:
        await channel.send(APOLOGY)
    except discord.HTTPException:
        log.warning("could not apologise in %s", getattr(channel, "id", "?"))
