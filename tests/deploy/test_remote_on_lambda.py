"""deploy/slack-bot.yaml configures SSH (for /eb-ip … run and the archives) and the checks from parameters,
as the settings file's [remote] and [commands.eb-ip] tables do elsewhere; its role reads only the objects
and the parameter named, and only when they are named."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot import lambda_handler
from bot.local.sshd import new_key
from bot.remote.config import ENV_VARIABLES, remote_settings
from bot.remote.keys import fetch_known_hosts, fetch_private_key
from bot.settings import SettingsError
from commands.eb_ip import COMMAND as EB_IP
from commands.eb_ip.checks import CheckOptions
from tests.bot.remote.conftest import store_key
from tests.deploy.test_log_forwarder_template import condition, parameters, resolve_groups, template
from tests.deploy.test_templates import RecordingAws

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SSH = {
    "RemoteKey": "s3://ops-secrets/opsbot/id_ed25519",
    "RemoteKeyKmsKeyArn": KMS_KEY,
    "RemoteKeyPassphraseParameter": "/opsbot/ssh-pass",
    "RemoteKnownHostsObject": "s3://ops-config/known_hosts",
}


def function() -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"]["SlackBotFunction"]["Properties"]
    return props


def variables() -> dict[str, Any]:
    found: dict[str, Any] = function()["Environment"]["Variables"]
    return found


def granted(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's statements for these parameter values, the conditional ones resolved as CloudFormation does."""
    statements = []
    for statement in function()["Policies"][0]["Statement"]:
        if "Fn::If" in statement:
            name, yes, no = statement["Fn::If"]
            statement = yes if condition(name, values) else no
            if statement == {"Ref": "AWS::NoValue"}:
                continue
        statements.append(resolve_groups(statement, values))
    return statements


def resource(node: Any) -> str:
    text = node["Fn::Sub"] if isinstance(node, dict) and "Fn::Sub" in node else node
    return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m[1]) or str(parameters(**SSH)[m[1]]), text)


def test_every_remote_and_check_variable_comes_from_a_parameter_empty_by_default() -> None:
    declared = template()["Parameters"]
    for name in [*ENV_VARIABLES, *EB_IP.env_options]:
        value = variables()[name]
        assert value.keys() == {"Ref"} and value["Ref"] in declared, name
        assert declared[value["Ref"]]["Default"] == "", name  # unset: the feature is off, as without a [remote] table


def test_without_ssh_parameters_the_role_reads_no_object_and_no_key() -> None:
    actions = {
        a for s in granted(parameters()) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:GetObject" not in actions
    assert "kms:Decrypt" not in actions


def test_with_ssh_parameters_the_role_reads_exactly_those_objects_and_that_parameter() -> None:
    statements = {s["Sid"]: s for s in granted(parameters(**SSH))}
    assert resource(statements["ReadSshKey"]["Resource"]) == "arn:aws:s3:::ops-secrets/opsbot/id_ed25519"
    assert resource(statements["ReadKnownHosts"]["Resource"]) == "arn:aws:s3:::ops-config/known_hosts"
    assert statements["DecryptSshKey"]["Resource"] == {"Ref": "RemoteKeyKmsKeyArn"}
    via = statements["DecryptSshKey"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert resource(via) == "s3.us-east-1.amazonaws.com"  # through S3 only, not any use of the key
    passphrase = resource(statements["ReadSshKeyPassphrase"]["Resource"])
    assert passphrase == "arn:aws:ssm:us-east-1:123456789012:parameter/opsbot/ssh-pass"


def test_the_key_and_host_keys_load_on_lambda_with_what_the_role_grants(aws_clients: Any, moto: str) -> None:
    key = new_key("ed25519", "openssh", passphrase="from ssm")
    stored = store_key(aws_clients, key.private_text)
    aws_clients.client("ssm").put_parameter(Name="/opsbot/ssh-pass", Value="from ssm", Type="SecureString")
    aws_clients.client("s3").create_bucket(Bucket="ops-config")
    aws_clients.client("s3").put_object(Bucket="ops-config", Key="known_hosts", Body=f"h1 {key.public_line}\n")
    env = {
        "OPSBOT_STATE": ":memory:",
        "OPSBOT_REMOTE_KEY": stored["key"],
        "OPSBOT_REMOTE_KEY_PASSPHRASE_PARAMETER": "/opsbot/ssh-pass",
        "OPSBOT_REMOTE_KNOWN_HOSTS_OBJECT": "s3://ops-config/known_hosts",
        "OPSBOT_REMOTE_USER": "deploy",
        "OPSBOT_REMOTE_PORT": "2222",
    }
    recording = RecordingAws()
    settings = lambda_handler.settings_from_env(env, recording)
    remote = remote_settings(settings, env)
    assert (remote.user, remote.port) == ("deploy", 2222)
    assert fetch_private_key(recording, remote).get_base64() == key.public_line.split()[1]
    assert fetch_known_hosts(recording, remote).lookup("h1") is not None

    values = parameters(**{**SSH, "RemoteKey": stored["key"]})
    actions = {a for s in granted(values) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert recording.called <= actions, sorted(recording.called - actions)
    assert {"s3:GetObject", "ssm:GetParameter"} <= recording.called


def test_the_checks_come_from_their_variables_on_lambda(aws_clients: Any) -> None:
    env = {
        "OPSBOT_STATE": ":memory:",
        "OPSBOT_EB_IP_CHECKS": json.dumps({"uptime": "uptime", "disk": "df -h"}),
        "OPSBOT_EB_IP_CHECK_USERS": "U0ALICE, U0BOB",
        "OPSBOT_EB_IP_CHECK_TIMEOUT_SECONDS": "45",
    }
    options = CheckOptions.from_options(lambda_handler.settings_from_env(env, aws_clients).options_for("eb-ip"))
    assert options == CheckOptions({"uptime": "uptime", "disk": "df -h"}, frozenset({"U0ALICE", "U0BOB"}), 45)


@pytest.mark.parametrize("value", ["uptime", "[1, 2]", "{not json"])
def test_checks_that_are_not_a_json_object_name_their_variable(value: str, aws_clients: Any) -> None:
    env = {"OPSBOT_STATE": ":memory:", "OPSBOT_EB_IP_CHECKS": value}
    with pytest.raises(SettingsError, match=r"^OPSBOT_EB_IP_CHECKS: expected a json_object, got "):
        lambda_handler.settings_from_env(env, aws_clients)


SETTINGS_TOML = """
[accounts.prod]
role_arn = "arn:aws:iam::222222222222:role/opsbot-target"
label = "Production"

[channels.C0PROD]
default_account = "prod"
accounts = ["prod"]

[[policy]]
allow = ["/lambda-capacity prune"]
users = ["U0ALICE"]
"""


def test_accounts_and_the_policy_come_from_the_settings_parameter_on_lambda(aws_clients: Any, moto: str) -> None:
    """Lambda carries no settings file of the deployment's own: the template's SettingsParameter holds it."""
    aws_clients.client("ssm").put_parameter(Name="/opsbot/settings", Value=SETTINGS_TOML, Type="SecureString")
    env = {"OPSBOT_STATE": ":memory:", "OPSBOT_CONFIG_PARAMETER": "/opsbot/settings"}
    recording = RecordingAws()
    settings = lambda_handler.settings_from_env(env, recording)
    chosen = settings.accounts.choose("C0PROD", None)
    assert chosen is not None and chosen.name == "prod"
    assert any(rule.allow and "/lambda-capacity prune" in rule.actions for rule in settings.policy.rules)
    # What the role grants: ssm:GetParameter on that parameter, only when it is named.
    (statement,) = [
        s for s in granted(parameters(SettingsParameter="/opsbot/settings")) if s.get("Sid") == "ReadSettings"
    ]
    assert statement["Action"] == "ssm:GetParameter" and recording.called == {"ssm:GetParameter"}
    assert statement["Resource"]["Fn::Sub"].endswith(":parameter${SettingsParameter}")
    assert not [s for s in granted(parameters()) if s.get("Sid") == "ReadSettings"]
    assert function()["Environment"]["Variables"]["OPSBOT_CONFIG_PARAMETER"] == {"Ref": "SettingsParameter"}


def test_a_settings_parameter_that_is_not_toml_names_itself(aws_clients: Any, moto: str) -> None:
    aws_clients.client("ssm").put_parameter(Name="/opsbot/bad", Value="[accounts.prod", Type="String")
    env = {"OPSBOT_STATE": ":memory:", "OPSBOT_CONFIG_PARAMETER": "/opsbot/bad"}
    with pytest.raises(SettingsError, match=r"^OPSBOT_CONFIG_PARAMETER: /opsbot/bad is not valid TOML"):
        lambda_handler.settings_from_env(env, aws_clients)
