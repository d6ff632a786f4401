"""`[remote]` settings: from the settings file, or on Lambda (no file) from OPSBOT_REMOTE_* variables; every
error names the key or the variable that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.aws import AwsClients
from bot.remote.config import ENV_VARIABLES, Endpoint, GitTarget, RemoteSettings, S3Object, endpoint, remote_settings
from bot.settings import Settings, SettingsError, load_settings
from tests.bot.remote.conftest import store_key

ON_LAMBDA = {
    "OPSBOT_REMOTE_KEY": "s3://ops-secrets/opsbot/id_ed25519",
    "OPSBOT_REMOTE_KNOWN_HOSTS_OBJECT": "s3://ops-secrets/opsbot/known_hosts",
    "OPSBOT_REMOTE_USER": "deploy",
    "OPSBOT_REMOTE_PORT": "2222",
    "OPSBOT_REMOTE_BASTION": "bastion.example.com",
    "OPSBOT_REMOTE_GIT_REPOSITORY": "ssh://git@git.example.com/ops/archive.git",
    "OPSBOT_REMOTE_GIT_BRANCH": "capacity",
}


def test_on_lambda_the_variables_give_the_key_the_known_hosts_object_and_the_repository() -> None:
    remote = remote_settings(Settings(), ON_LAMBDA)
    assert remote == RemoteSettings(
        key=S3Object("ops-secrets", "opsbot/id_ed25519"),
        known_hosts_object=S3Object("ops-secrets", "opsbot/known_hosts"),
        user="deploy",
        port=2222,
        bastion=Endpoint("bastion.example.com", 22, "deploy"),
        git=GitTarget("ssh://git@git.example.com/ops/archive.git", "capacity"),
    )


def test_the_key_named_by_a_variable_is_fetched_from_s3_under_kms(aws_clients: AwsClients, moto: str) -> None:
    from bot.local.sshd import new_key
    from bot.remote.keys import fetch_private_key

    key = new_key("ed25519")
    where = store_key(aws_clients, key.private_text)["key"]
    remote = remote_settings(Settings(), {"OPSBOT_REMOTE_KEY": where, "OPSBOT_REMOTE_KNOWN_HOSTS": "h ssh-ed25519 A"})
    assert fetch_private_key(aws_clients, remote).get_name() == "ssh-ed25519"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPSBOT_REMOTE_KEY", "ops-secrets/id", "OPSBOT_REMOTE_KEY: expected s3://bucket/key, got 'ops-secrets/id'"),
        ("OPSBOT_REMOTE_PORT", "22x", "OPSBOT_REMOTE_PORT: expected a whole number from 1 to 65535"),
        ("OPSBOT_REMOTE_PORT", "70000", "OPSBOT_REMOTE_PORT: expected a whole number from 1 to 65535"),
        (
            "OPSBOT_REMOTE_CONNECT_TIMEOUT_SECONDS",
            "\uff15",
            "OPSBOT_REMOTE_CONNECT_TIMEOUT_SECONDS: expected a whole number from 1 to 65535",
        ),
        ("OPSBOT_REMOTE_USER", "-oProxy", "OPSBOT_REMOTE_USER: not a login name: '-oProxy'"),
        ("OPSBOT_REMOTE_BASTION", "a b", "OPSBOT_REMOTE_BASTION: expected [user@]host[:port], got 'a b'"),
        (
            "OPSBOT_REMOTE_GIT_REPOSITORY",
            "https://example.com/a.git",
            "OPSBOT_REMOTE_GIT_REPOSITORY: expected ssh://user@host/path, got 'https://example.com/a.git'",
        ),
        ("OPSBOT_REMOTE_GIT_BRANCH", "-f", "OPSBOT_REMOTE_GIT_BRANCH: not a usable branch name: '-f'"),
        ("OPSBOT_REMOTE_GIT_AUTHOR", "opsbot", "OPSBOT_REMOTE_GIT_AUTHOR: expected 'Name <email>'"),
    ],
)
def test_a_bad_variable_is_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        remote_settings(Settings(), {**ON_LAMBDA, variable: value})
    assert str(raised.value) == message


def test_without_a_key_or_known_hosts_the_variables_to_set_are_named() -> None:
    with pytest.raises(SettingsError, match=r"^OPSBOT_REMOTE_KEY: missing"):
        remote_settings(Settings(), {"OPSBOT_REMOTE_USER": "deploy"})
    with pytest.raises(SettingsError) as raised:
        remote_settings(Settings(), {"OPSBOT_REMOTE_KEY": ON_LAMBDA["OPSBOT_REMOTE_KEY"]})
    assert str(raised.value) == (
        "Set OPSBOT_REMOTE_KNOWN_HOSTS or OPSBOT_REMOTE_KNOWN_HOSTS_OBJECT: no host is trusted unseen"
    )
    with pytest.raises(SettingsError, match=r"no \[remote\] table and OPSBOT_REMOTE_KEY is not set"):
        remote_settings(Settings(), {"OPSBOT_REMOTE_KEY": "  "})


def test_a_settings_file_and_variables_are_not_mixed_and_file_errors_name_the_file(tmp_path: Path) -> None:
    config = tmp_path / "opsbot.toml"
    config.write_text('[remote]\nkey = "s3://ops-secrets/id"\nknown_hosts = "h ssh-ed25519 A"\nport = 0\n')
    settings = load_settings({"OPSBOT_CONFIG": str(config)})
    with pytest.raises(SettingsError) as raised:
        remote_settings(settings, {"OPSBOT_REMOTE_USER": "deploy"})
    assert str(raised.value) == (
        "OPSBOT_CONFIG has a [remote] table and the variables set OPSBOT_REMOTE_USER too: use one or the other"
    )
    with pytest.raises(SettingsError, match=r"^OPSBOT_CONFIG \[remote\] port: expected a whole number"):
        remote_settings(settings, {})
    config.write_text('[remote]\nkey = "s3://ops-secrets/id"\nknown_hosts = "h"\n[remote.git]\nrepository = "x"\n')
    with pytest.raises(SettingsError, match=r"^OPSBOT_CONFIG \[remote\.git\] repository: expected ssh://"):
        remote_settings(settings, {})


def test_every_variable_sets_a_key_of_the_remote_table() -> None:
    keys = {"key", "key_passphrase_parameter", "known_hosts", "known_hosts_object", "user", "port", "bastion"}
    keys.add("connect_timeout_seconds")
    assert set(ENV_VARIABLES.values()) == keys | {"git.repository", "git.branch", "git.author"}


def test_an_endpoint_is_written_as_it_is_read_ipv6_included() -> None:
    for text in ("ops@bastion.example.com:2222", "ops@[::1]:2200", "ops@10.0.0.5:22"):
        assert str(endpoint("bastion", text, "ec2-user")) == text
