"""A pressed button's id carries only its label's slug and its clip (Discord custom_id, Slack
action_id + value): every button BeatBot posts must map back to its command."""

from __future__ import annotations

import re

import pytest

from adapters.discord import buttons as discord_buttons
from adapters.slack import blocks as slack_blocks
from bot.assistant import actions_for, button_command, every_action, pick_actions
from bot.messages import Action

GID = "3f2a9c4e-1b7d-4e2a-9c1f-0a1b2c3d4e5f"


def posted() -> list[Action]:
    takes = {"takes": [{"take": n, "generationId": GID} for n in (1, 2, 3)]}
    offer = Action("Make it drum and bass", "make a drum and bass beat at 174 bpm", "")
    return [*every_action(GID), *actions_for(GID, ("drums",)), *pick_actions(takes), offer]


@pytest.mark.parametrize("action", posted(), ids=lambda a: a.label)
def test_every_posted_button_maps_back_on_discord_and_slack(action: Action) -> None:
    expected = "yes" if action.label.startswith("Make it") else action.command
    custom_id = discord_buttons.ActionButton(
        discord_buttons.slug(action), action.generation_id, action.label
    ).custom_id
    template = discord_buttons.ActionButton.__discord_ui_compiled_template__
    match = re.fullmatch(template, custom_id)
    assert match is not None, f"{custom_id!r} would not reach the bot"
    assert discord_buttons.command_for(match["slug"], match["gid"]) == expected
    block = slack_blocks.actions_block((action,), action.generation_id or "offer")
    element = block["elements"][0]
    assert slack_blocks.command_for(element["action_id"], element["value"]) == expected


def test_an_unknown_button_is_none_so_the_surface_says_it_is_stale() -> None:
    assert button_command("remix-it", GID) is None
    assert discord_buttons.command_for("remix-it", GID) is None
