"""Typed settings: `config.toml` defaults, an optional user file, then environment overrides.

Order of precedence (last wins): the packaged `config.toml`, `--config PATH`,
`BEATBOT_<SECTION>__<KEY>` environment variables, then `--data-dir`.
Secrets are read from the environment only and never appear in `Settings`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from bot.errors import ConfigError

ENV_PREFIX = "BEATBOT_"
DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")

Quality = Literal["streaming", "cd", "club"]
Profile = Literal["balanced", "bass-heavy", "bright", "warm"]
AudioFormat = Literal["wav", "flac", "mp3"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Section):
    sample_rate: int = Field(ge=22050, le=96000)
    default_duration: float = Field(gt=0, le=600)
    max_duration: float = Field(gt=0, le=3600)
    min_bpm: float = Field(ge=20, le=400)
    max_bpm: float = Field(ge=20, le=400)
    default_quality: Quality
    default_profile: Profile
    default_format: AudioFormat
    bit_depth: Literal[16, 24]
    true_peak_ceiling: float = Field(ge=-12, le=0)


class QueueSettings(_Section):
    max_jobs: int = Field(ge=1, le=64)
    max_tries: int = Field(ge=1, le=20)
    retry_backoff: float = Field(ge=0, le=600)
    job_timeout: int = Field(ge=5, le=24 * 3600)
    key_prefix: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    stream_maxlen: int = Field(ge=100)
    health_check_interval: int = Field(ge=1, le=3600)


class StorageSettings(_Section):
    data_dir: Path
    url_ttl: int = Field(ge=10)
    retention_days: float = Field(gt=0)
    max_gb: float = Field(ge=0)  # clips + uploads budget; 0: none
    public_url: str = Field(pattern=r"^https?://")


class LimitSettings(_Section):
    max_upload_mb: float = Field(gt=0, le=4096)
    max_upload_seconds: float = Field(gt=0)
    requests_per_minute: int = Field(ge=1)
    daily_audio_seconds: float = Field(gt=0)
    history_size: int = Field(ge=1, le=10_000)
    conversation_ttl: int = Field(ge=60)


class DawSettings(_Section):
    host: str
    port: int = Field(ge=0, le=65535)
    cors_origins: list[str]


class DiscordSettings(_Section):
    api_base: str = Field(pattern=r"^https?://")
    gateway_url: str = Field(pattern=r"^wss?://")
    allowed_guilds: list[int]
    allowed_channels: list[int]
    edit_interval: float = Field(ge=0)
    upload_limit_mb: float = Field(ge=0)
    ready_timeout: float = Field(ge=0)
    sync_commands: bool


class SlackSettings(_Section):
    api_base: str = Field(pattern=r"^https?://")
    update_interval: float = Field(ge=0)


class Settings(_Section):
    engine: EngineSettings
    queue: QueueSettings
    storage: StorageSettings
    limits: LimitSettings
    daw: DawSettings
    discord: DiscordSettings
    slack: SlackSettings

    @property
    def data_dir(self) -> Path:
        return self.storage.data_dir


@dataclass(frozen=True)
class Secrets:
    """Credentials, from the environment only. `repr` never shows a value."""

    discord_token: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    api_token: SecretStr | None = None
    signing_key: SecretStr | None = None
    redis_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env

        def secret(name: str) -> SecretStr | None:
            value = env.get(name, "").strip()
            return SecretStr(value) if value else None

        return cls(
            discord_token=secret("DISCORD_TOKEN"),
            slack_bot_token=secret("SLACK_BOT_TOKEN"),
            slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
            slack_app_token=secret("SLACK_APP_TOKEN"),
            api_token=secret("BEATBOT_API_TOKEN"),
            signing_key=secret("BEATBOT_SIGNING_KEY"),
            redis_url=env.get("REDIS_URL", "").strip() or None,
        )


# Environment variables that look like ours but are secrets, not settings.
_SECRET_ENV = {"BEATBOT_API_TOKEN", "BEATBOT_SIGNING_KEY"}


def load_settings(
    config_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build `Settings`, or raise `ConfigError` with one line naming the bad key."""
    env = os.environ if env is None else env
    raw = _read_toml(DEFAULT_CONFIG)
    if config_path is not None:
        _merge(raw, _read_toml(Path(config_path)), source=str(config_path))
    _merge(raw, _env_overrides(env), source="environment")
    if data_dir is not None:
        raw["storage"]["data_dir"] = str(data_dir)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw)) from None
    if settings.engine.min_bpm >= settings.engine.max_bpm:
        raise ConfigError("config error: engine.min_bpm must be below engine.max_bpm")
    storage = settings.storage.model_copy(
        update={"data_dir": settings.storage.data_dir.expanduser().resolve()}
    )
    return settings.model_copy(update={"storage": storage})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config error: no config file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {path} is not valid TOML ({exc})") from None


def _merge(base: dict[str, Any], override: Mapping[str, Any], source: str) -> None:
    for section, values in override.items():
        if section not in base:
            allowed = ", ".join(sorted(base))
            raise ConfigError(
                f"config error: unknown section [{section}] in {source} (allowed: {allowed})"
            )
        if not isinstance(values, Mapping):
            raise ConfigError(f"config error: [{section}] in {source} must be a table")
        for key, value in values.items():
            if key not in base[section]:
                allowed = ", ".join(sorted(base[section]))
                raise ConfigError(
                    f"config error: unknown setting {section}.{key} in {source} "
                    f"(allowed: {allowed})"
                )
            base[section][key] = value


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in _SECRET_ENV or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        overrides.setdefault(section, {})[key] = _parse_env_value(value)
    return overrides


def _parse_env_value(value: str) -> Any:
    """Read an env value as a TOML literal (numbers, booleans, arrays), else as text."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    value: Any = raw
    for part in loc:
        value = value.get(part) if isinstance(value, Mapping) else None
    allowed = first["msg"]
    ctx = first.get("ctx") or {}
    if "expected" in ctx:
        allowed = f"must be one of {ctx['expected']}"
    elif first["type"] == "missing":
        allowed = "is missing"
    return f"config error: {key} = {value!r}: {allowed}"
