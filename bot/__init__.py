"""BeatBot's platform-neutral core: language, conversation, jobs, events and storage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("beatbot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
