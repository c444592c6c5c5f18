"""Replies as Slack messages: mrkdwn text, the result card (Block Kit) and its buttons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.chat_common import neutralise_mentions
from bot.assistant import button_command, button_slug
from bot.messages import (
    Action,
    ErrorReply,
    FailedReply,
    JobAccepted,
    OutputFile,
    ProgressReply,
    Reply,
    ResultReply,
    TextReply,
)
from bot.richtext import Markup, RichText, render

ACTION_PREFIX = "beatbot:"
MAX_SECTION = 2900  # Slack's section text limit is 3000 characters


def escape(text: str) -> str:
    """Slack reads &, < and > as markup: text shows them only escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MRKDWN = Markup(
    escape=escape,
    escape_code=escape,
    escape_url=lambda url: url.replace("|", "%7C").replace(">", "%3E"),
    bold="*{}*",
    italic="_{}_",
    code="`{}`",
    link="<{url}|{text}>",
)


def mrkdwn(text: RichText | str) -> str:
    """Rich text (or a plain sentence, escaped) as Slack mrkdwn; echoed text never pings."""
    rich = RichText.of(text) if isinstance(text, str) else text
    return neutralise_mentions(render(rich, MRKDWN))


def reply_text(reply: Reply) -> str:
    """A reply's words as mrkdwn (a result's files and card are posted separately)."""
    if isinstance(reply, TextReply):
        return mrkdwn(reply.body)
    if isinstance(reply, ErrorReply):
        return f"⚠️ {mrkdwn(reply.text)}"
    if isinstance(reply, FailedReply):
        return f"❌ {mrkdwn(reply.text)}"
    if isinstance(reply, JobAccepted | ResultReply):
        return mrkdwn(reply.text)
    if isinstance(reply, ProgressReply):
        return mrkdwn(f"{reply.percent}% · {reply.stage}")
    return mrkdwn(str(getattr(reply, "text", "")))


# --- buttons ----------------------------------------------------------------------------


def action_id(action: Action) -> str:
    """One action_id per command ("beatbot:variation"), so Slack keeps them apart."""
    return ACTION_PREFIX + button_slug(action.label)


def command_for(action_id_: str, generation_id: str) -> str | None:
    """The command behind a pressed button; computed, not stored, so it survives restarts."""
    return button_command(action_id_.removeprefix(ACTION_PREFIX), generation_id)


def actions_block(actions: Sequence[Action], generation_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"beatbot-actions-{generation_id[:8]}",
        "elements": [
            {
                "type": "button",
                "action_id": action_id(action),
                "text": {"type": "plain_text", "text": action.label},
                "value": action.generation_id,
            }
            for action in actions
        ],
    }


# --- the result card ----------------------------------------------------------------------


def _detail_fields(details: Mapping[str, Any]) -> list[dict[str, str]]:
    after = details.get("after")
    lufs = details.get("lufs", after.get("lufs") if isinstance(after, Mapping) else None)
    rows = [
        ("Genre", details.get("genre")),
        ("BPM", f"{details['bpm']:g}" if isinstance(details.get("bpm"), int | float) else None),
        ("Key", details.get("key")),
        ("Seed", details.get("seed")),
        ("Loudness", f"{lufs:.1f} LUFS" if isinstance(lufs, int | float) else None),
        ("Length", f"{details['duration']:.0f} s" if details.get("duration") else None),
    ]
    return [
        {"type": "mrkdwn", "text": f"*{name}*\n{escape(str(value))}"}
        for name, value in rows
        if value
    ]


def result_blocks(reply: ResultReply) -> list[dict[str, Any]]:
    """The result card: a section with the beat's numbers, then one button per next step."""
    if reply.details.get("kind") == "takes":
        return takes_blocks(reply)
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": mrkdwn(reply.text)[:MAX_SECTION]},
    }
    fields = _detail_fields(reply.details)
    if fields:
        section["fields"] = fields
    blocks = [section]
    if reply.actions:
        blocks.append(actions_block(reply.actions, reply.generation_id))
    return blocks


def takes_blocks(reply: ResultReply) -> list[dict[str, Any]]:
    """Several takes: the sentence with what they share, then a line per take with its seed,
    length and loudness and its "Pick N" button (a failed take says why, with no button)."""
    head: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": mrkdwn(reply.text)[:MAX_SECTION]},
    }
    fields = [f for f in _detail_fields(reply.details) if not f["text"].startswith("*Seed*")]
    if fields:
        head["fields"] = fields
    picks = {a.generation_id: a for a in reply.actions}
    blocks = [head]
    for take in reply.details.get("takes", []):
        pick = picks.get(str(take.get("generationId")))
        blocks.append(_take_section(take, pick))
    return blocks


def _take_section(take: Mapping[str, Any], pick: Action | None) -> dict[str, Any]:
    result = take.get("result") or {}
    if pick is None or not result:
        line = f"*Take {take['take']}* · failed: {escape(str(take.get('error') or ''))}"
        return {"type": "section", "text": {"type": "mrkdwn", "text": line[:MAX_SECTION]}}
    line = (
        f"*Take {take['take']}* · seed {take['seed']} · {float(result['duration']):.0f} s · "
        f"{float(result['lufs']):.1f} LUFS"
    )
    return {
        "type": "section",
        "block_id": f"beatbot-take-{take['take']}-{str(take['generationId'])[:8]}",
        "text": {"type": "mrkdwn", "text": line},
        "accessory": {
            "type": "button",
            "action_id": action_id(pick),
            "text": {"type": "plain_text", "text": pick.label},
            "value": pick.generation_id,
            "style": "primary",
        },
    }


def has_card(reply: ResultReply) -> bool:
    """A beat or master gets a card with its numbers; stems or MIDI are just the files."""
    return bool(reply.actions or _detail_fields(reply.details))


def files_to_upload(files: Sequence[OutputFile]) -> list[OutputFile]:
    """A beat or master: the audio and its waveform. Stems or MIDI: those files."""
    main = [f for f in files if f.kind == "audio"]
    if main:
        return main + [f for f in files if f.kind == "image"]
    return [f for f in files if f.kind != "preview"]
