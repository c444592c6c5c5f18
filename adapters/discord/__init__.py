"""BeatBot on Discord (discord.py): translation between Discord and the assistant only.

`adapters.discord_bot.run_discord` is the entry point; the parts live here:
`render` (Replies -> message content, embeds, files), `buttons` (persistent action
buttons), `flow` (one conversation turn and event-stream delivery), `commands` (slash
commands) and `client` (the discord.py client that wires them together).
"""
