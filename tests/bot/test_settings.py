from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import DEFAULT_SLACK_API_URL, SettingsError, load_settings


def test_defaults_need_nothing() -> None:
    settings = load_settings({})
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.state_url == "~/.local/state/opsbot/opsbot.db"
    assert settings.timezone.key == "UTC"
    assert settings.access_for("/eb-ip").allows("UANY", "CANY")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OPSBOT_TIMEZONE": "Mars/Olympus"}, "OPSBOT_TIMEZONE"),
        ({"OPSBOT_ADMINS": "U123ABC,not-a-user"}, "OPSBOT_ADMINS"),
        ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"OPSBOT_PUBLIC_URL": "bot.example.com"}, "OPSBOT_PUBLIC_URL"),
        ({"OPSBOT_WORKER_THREADS": "0"}, "OPSBOT_WORKER_THREADS"),
        ({"OPSBOT_CONFIG": "/nonexistent/opsbot.toml"}, "OPSBOT_CONFIG"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


@pytest.mark.parametrize(
    ("env", "state"),
    [
        ({"XDG_STATE_HOME": "/var/lib/me"}, "/var/lib/me/opsbot/opsbot.db"),
        ({"XDG_STATE_HOME": "relative/dir"}, "~/.local/state/opsbot/opsbot.db"),
        ({"XDG_STATE_HOME": "/var/lib/me", "OPSBOT_STATE": "/tmp/x.db"}, "/tmp/x.db"),
    ],
)
def test_state_lives_in_the_users_state_directory(env: dict[str, str], state: str) -> None:
    assert load_settings(env).state_url == state


def test_api_url_gets_a_trailing_slash_for_webclient() -> None:
    assert load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}).slack_api_url == "http://127.0.0.1:9/api/"


def test_toml_access_rules_and_options(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.toml"
    config.write_text(
        '[commands.eb-ip]\nusers = ["U0ALLOWED"]\nchannels = ["C0OPS"]\n'
        '[commands.lambda-capacity]\nalert_channel = "C0ALERTS"\n'
    )
    settings = load_settings({"OPSBOT_CONFIG": str(config)})
    rule = settings.access_for("/eb-ip")
    assert rule.allows("U0ALLOWED", "C0OPS")
    assert not rule.allows("U0OTHER", "C0OPS")
    assert not rule.allows("U0ALLOWED", "C0RANDOM")
    assert settings.options_for("/lambda-capacity") == {"alert_channel": "C0ALERTS"}


def test_toml_errors_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.eb-ip]\nusers = ["bob"]\n')
    with pytest.raises(SettingsError, match=r"\[commands.eb-ip\] users"):
        load_settings({"OPSBOT_CONFIG": str(config)})
    config.write_text("[commands\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"OPSBOT_CONFIG": str(config)})


def test_server_modes_name_missing_slack_settings() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET"):
        load_settings({}).require_slack(socket_mode=False)
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack(socket_mode=True)


VARIABLES = [
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "OPSBOT_CONFIG", "OPSBOT_STATE",
    "OPSBOT_TIMEZONE", "OPSBOT_ADMINS", "OPSBOT_PUBLIC_URL", "OPSBOT_WORKER_THREADS", "OPSBOT_HTTP_THREADS",
    "OPSBOT_ROUTE_RATE", "OPSBOT_ROUTE_BURST", "OPSBOT_AUDIT_DAYS",
]  # fmt: skip


@pytest.mark.parametrize("name", VARIABLES)
@pytest.mark.parametrize("blank", [" ", "\t", "\n"])
def test_a_whitespace_value_fails_at_start_naming_the_variable(name: str, blank: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: is only whitespace"):
        load_settings({name: blank})


def test_every_variable_the_settings_read_is_checked_for_whitespace() -> None:
    source = Path(load_settings.__code__.co_filename).read_text()
    assert set(re.findall(r'_value\(env, "([A-Z_]+)"', source)) == set(VARIABLES)


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"])
def test_a_secret_with_whitespace_around_it_fails_naming_the_variable(name: str) -> None:
    value = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}.get(name, "secret")
    with pytest.raises(SettingsError, match=f"^{name}: has whitespace around it"):
        load_settings({name: value + "\n"})


def test_empty_means_unset_as_a_templates_empty_parameter_does() -> None:
    assert load_settings({"OPSBOT_ADMINS": "", "SLACK_SIGNING_SECRET": ""}).slack_signing_secret is None


@pytest.mark.parametrize(
    ("env", "named"),
    [({"OPSBOT_HTTP_THREADS": "1"}, "OPSBOT_HTTP_THREADS: must be at least 2"),
     ({"OPSBOT_ROUTE_RATE": "0"}, "OPSBOT_ROUTE_RATE"), ({"OPSBOT_ROUTE_RATE": "nan"}, "OPSBOT_ROUTE_RATE"),
     ({"OPSBOT_ROUTE_BURST": "0"}, "OPSBOT_ROUTE_BURST")],
)  # fmt: skip
def test_route_limits_must_leave_slack_a_thread_and_let_a_request_through(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)
