"""Persistent action buttons: the custom_id carries the command and the generation id,
so a click works after a restart (a DynamicItem needs no view kept in memory)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.assistant import button_command, button_slug
from bot.messages import Action
from bot.takes import pick_command

if TYPE_CHECKING:
    from adapters.discord.flow import Flow

PREFIX = "beatbot"
_STYLE = {"variation": discord.ButtonStyle.primary}


def slug(action: Action) -> str:
    return button_slug(action.label)


def command_for(action_slug: str, generation_id: str) -> str | None:
    """The assistant command a button stands for (None: a button we no longer have)."""
    return button_command(action_slug, generation_id)


def _style(action_slug: str) -> discord.ButtonStyle:
    if pick_command(action_slug):
        return discord.ButtonStyle.primary
    return _STYLE.get(action_slug, discord.ButtonStyle.secondary)


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=PREFIX + r":(?P<slug>[a-z0-9-]+):(?P<gid>[0-9a-fA-F-]{0,64})",
):
    def __init__(self, action_slug: str, generation_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action_slug.title(),
                style=_style(action_slug),
                custom_id=f"{PREFIX}:{action_slug}:{generation_id}",
            )
        )
        self.slug = action_slug
        self.generation_id = generation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str]
    ) -> ActionButton:
        return cls(match["slug"], match["gid"], item.label)

    async def callback(self, interaction: discord.Interaction) -> None:
        flow: Flow = interaction.client.flow  # type: ignore[attr-defined]
        await flow.on_button(interaction, self.slug, self.generation_id)


def actions_view(actions: tuple[Action, ...]) -> discord.ui.View | None:
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(ActionButton(slug(action), action.generation_id, action.label))
    return view
