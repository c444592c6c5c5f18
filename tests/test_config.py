"""The config loader: packaged defaults, a user file, env overrides, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Secrets, load_settings
from bot.errors import ConfigError


def test_defaults_come_from_config_toml() -> None:
    settings = load_settings(env={})
    assert settings.engine.sample_rate == 44100
    assert settings.engine.default_quality == "streaming"
    assert settings.queue.max_jobs == 5
    assert settings.queue.max_tries == 3
    assert settings.daw.port == 8765
    assert settings.data_dir.is_absolute()


def test_env_overrides_typed_values() -> None:
    settings = load_settings(
        env={
            "BEATBOT_ENGINE__SAMPLE_RATE": "48000",
            "BEATBOT_QUEUE__RETRY_BACKOFF": "0.5",
            "BEATBOT_DAW__CORS_ORIGINS": '["https://daw.example"]',
            "BEATBOT_DISCORD__ALLOWED_GUILDS": "[1, 2]",
            "BEATBOT_ENGINE__DEFAULT_QUALITY": "club",
        }
    )
    assert settings.engine.sample_rate == 48000
    assert settings.queue.retry_backoff == 0.5
    assert settings.daw.cors_origins == ["https://daw.example"]
    assert settings.discord.allowed_guilds == [1, 2]
    assert settings.engine.default_quality == "club"


def test_config_file_then_env_then_data_dir(tmp_path: Path) -> None:
    user = tmp_path / "beatbot.toml"
    user.write_text('[queue]\nmax_jobs = 2\n[storage]\ndata_dir = "/tmp/from-file"\n')
    settings = load_settings(user, env={"BEATBOT_QUEUE__MAX_JOBS": "3"})
    assert settings.queue.max_jobs == 3  # env beats the file
    assert settings.data_dir == Path("/tmp/from-file")
    settings = load_settings(user, data_dir=tmp_path / "d", env={})
    assert settings.data_dir == (tmp_path / "d").resolve()  # --data-dir beats everything


def test_data_dir_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings(env={"BEATBOT_STORAGE__DATA_DIR": "~/beats"})
    assert settings.data_dir == tmp_path / "beats"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"BEATBOT_ENGINE__SAMPLE_RATE": "abc"}, ["engine.sample_rate", "'abc'"]),
        ({"BEATBOT_ENGINE__DEFAULT_QUALITY": "loud"}, ["engine.default_quality", "streaming"]),
        ({"BEATBOT_QUEUE__MAX_JOBS": "0"}, ["queue.max_jobs", "greater than or equal to 1"]),
        ({"BEATBOT_ENGINE__BIT_DEPTH": "12"}, ["engine.bit_depth", "16"]),
        ({"BEATBOT_ENGINE__NOPE": "1"}, ["unknown setting engine.nope", "allowed:"]),
        ({"BEATBOT_WHAT__KEY": "1"}, ["unknown section [what]"]),
        ({"BEATBOT_ENGINE__MIN_BPM": "300", "BEATBOT_ENGINE__MAX_BPM": "200"}, ["min_bpm"]),
    ],
)
def test_bad_values_stop_with_one_line(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config error:")
    for name in names:
        assert name in message


def test_bad_toml_file_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[engine\nsample_rate = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, env={})
    with pytest.raises(ConfigError, match="no config file"):
        load_settings(tmp_path / "absent.toml", env={})


def test_secrets_only_from_env_and_never_shown() -> None:
    secrets = Secrets.from_env(
        {
            "DISCORD_TOKEN": "discord-secret-value",
            "SLACK_BOT_TOKEN": "xoxb-secret",
            "BEATBOT_SIGNING_KEY": "signing-secret",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert secrets.discord_token is not None
    assert secrets.discord_token.get_secret_value() == "discord-secret-value"
    assert "discord-secret-value" not in repr(secrets)
    assert "xoxb-secret" not in repr(secrets)
    assert secrets.slack_signing_secret is None
    assert secrets.redis_url == "redis://127.0.0.1:6379/0"
    # Secret variables are not mistaken for settings overrides.
    settings = load_settings(env={"BEATBOT_SIGNING_KEY": "x", "BEATBOT_API_TOKEN": "y"})
    assert settings.queue.key_prefix == "beatbot"


def test_config_toml_documents_every_setting() -> None:
    """Every key the typed settings know is spelled out in config.toml (one place)."""
    from bot.config import DEFAULT_CONFIG, Settings

    text = DEFAULT_CONFIG.read_text()
    for section_name, field in Settings.model_fields.items():
        assert f"[{section_name}]" in text
        for key in field.annotation.model_fields:  # type: ignore[union-attr]
            assert f"\n{key} = " in text, f"{section_name}.{key} missing from config.toml"
