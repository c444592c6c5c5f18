"""One error hierarchy for the whole bot.

`UserError` and its subclasses carry a sentence that is safe to post in a chat or print in a
terminal: it says what went wrong and what to do. Everything else is internal: adapters log
it with its traceback and show the person a generic apology instead.
"""

from __future__ import annotations

from engine.errors import EngineInputError


class BeatBotError(Exception):
    """Base of every error BeatBot raises on purpose."""


class UserError(BeatBotError):
    """A problem the person can fix. `str(error)` is a friendly, complete sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(UserError):
    """A setting in config.toml or the environment is invalid; stops start-up."""


class InvalidRequest(UserError):
    """A request names something we can't do (unknown genre, BPM out of range, ...)."""


class BadAudio(UserError):
    """An upload is not usable audio (corrupt, empty, silent, too long, too big)."""


class UploadTooLarge(BadAudio):
    """An upload over the size limit (HTTP 413)."""


class NotFound(UserError):
    """A job, clip or file the person referred to does not exist (or expired)."""


class LimitReached(UserError):
    """A rate limit or quota refused the request; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingDependency(UserError):
    """Something the machine lacks (ffmpeg, Redis); the message says how to get it."""


class InternalError(BeatBotError):
    """A bug or an outage on our side. Never shown verbatim to a person."""


APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


def user_message(exc: BaseException) -> str:
    """The sentence a person should see for any exception."""
    if isinstance(exc, UserError):
        return exc.message
    if isinstance(exc, EngineInputError):
        return str(exc)
    return APOLOGY


def from_engine(exc: EngineInputError) -> UserError:
    """Lift an engine input error (already a friendly sentence) into the bot's hierarchy."""
    from engine.errors import AudioInputError

    if isinstance(exc, AudioInputError):
        return BadAudio(str(exc))
    return InvalidRequest(str(exc))
