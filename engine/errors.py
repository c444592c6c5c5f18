"""Errors the engine raises for bad input. Their messages are friendly sentences.

The engine knows nothing of chats; `bot.errors.from_engine` lifts these into the bot's
user-facing hierarchy.
"""


class EngineInputError(ValueError):
    """The numbers or files handed to the engine can't make music; the message says why."""


class AudioInputError(EngineInputError):
    """An audio file is unreadable, empty, silent, truncated or past a limit."""


class MissingTool(EngineInputError):
    """An external tool (ffmpeg) is needed and absent; the message says how to install it."""
