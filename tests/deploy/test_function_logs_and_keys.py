"""Every function in every template logs JSON at the stack's LogLevel (Lambda's ApplicationLogLevel, which
bot.lambda_handler reads back as AWS_LAMBDA_LOG_LEVEL), and the capacity monitor may decrypt its Slack
token under a customer managed key, through SSM only, when one is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.lambda_handler import _LOG_LEVELS
from tests.deploy.test_templates import load_template

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def functions() -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (path.name, name, resource["Properties"])
        for path in sorted(DEPLOY.glob("*.yaml"))
        for name, resource in load_template(path)["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    assert len(found) >= 4
    return found


@pytest.mark.parametrize(("template", "name", "props"), functions())
def test_every_function_logs_json_at_the_stacks_level(template: str, name: str, props: dict[str, Any]) -> None:
    config = props["LoggingConfig"]
    assert config["LogFormat"] == "JSON", name
    assert config["ApplicationLogLevel"] == {"Ref": "LogLevel"}, name
    level = load_template(DEPLOY / template)["Parameters"]["LogLevel"]
    assert level["Default"] == "INFO"  # the lines the README describes
    assert set(level["AllowedValues"]) <= set(_LOG_LEVELS)  # each one bot.lambda_handler knows


def test_the_monitor_decrypts_its_token_with_a_customer_managed_key_through_ssm_only() -> None:
    template = load_template(DEPLOY / "capacity-monitor.yaml")
    statements = template["Resources"]["CapacityMonitorFunction"]["Properties"]["Policies"][0]["Statement"]
    (decrypt,) = [s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][1].get("Sid") == "DecryptSlackToken"]
    condition, statement, otherwise = decrypt
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert template["Conditions"][condition] == {
        "Fn::And": [{"Condition": "HasToken"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "ParametersKeyArn"}, ""]}]}]
    }
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Resource"] == {"Ref": "ParametersKeyArn"}
    via = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == {"Fn::Sub": "ssm.${AWS::Region}.${AWS::URLSuffix}"}
    assert template["Parameters"]["ParametersKeyArn"]["Default"] == ""
