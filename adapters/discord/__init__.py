"""BeatBot on Discord (discord.py): translation between Discord and the assistant only.

`app.run_discord` is the entry point; the parts: `client` (the discord.py client that wires
them together), `flow` (one conversation turn by `bot.policy`'s rules, and event-stream
delivery), `render` (Replies -> markdown, embeds, files), `buttons` (persistent action
buttons) and `commands` (slash commands). `adapters/slack/` has the same shape.
"""
