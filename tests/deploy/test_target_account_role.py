"""deploy/target-account-role.yaml: cfn-lint finds nothing; the role trusts only the bot's role, and only for
a source identity the bot sends; its permissions are real actions from deploy/iam-policy.json, scoped where
they can be, with prune only when allowed."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_all

from bot.accounts import source_identity
from tests.deploy.test_templates import load_template

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "target-account-role.yaml"
UNSCOPABLE = {
    "ec2:DescribeInstances",
    "elasticbeanstalk:DescribeEnvironments",
    "autoscaling:DescribeAutoScalingGroups",
    "lambda:GetAccountSettings",
    "lambda:ListFunctions",
    "lambda:ListLayers",
    "lambda:ListLayerVersions",
    "lambda:ListEventSourceMappings",
}


def role() -> dict[str, Any]:
    props: dict[str, Any] = load_template(TEMPLATE)["Resources"]["OpsbotTargetRole"]["Properties"]
    return props


def listed(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def statements() -> list[dict[str, Any]]:
    found = []
    for statement in role()["Policies"][0]["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            _, statement, _ = statement["Fn::If"]
        found.append(statement)
    return found


def test_cfn_lint_finds_no_error_or_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    matches = lint_all(TEMPLATE.read_text())
    assert [str(m) for m in matches if not m.rule.id.startswith("I")] == []


def test_the_role_trusts_only_the_bots_role_and_requires_a_source_identity_the_bot_sends() -> None:
    trust = role()["AssumeRolePolicyDocument"]["Statement"]
    assert {json.dumps(s["Principal"]) for s in trust} == {json.dumps({"AWS": {"Ref": "BotRoleArn"}})}
    (assume,) = [s for s in trust if "sts:AssumeRole" in listed(s)]
    assert listed(assume) == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    _, with_external_id, without = assume["Condition"]["Fn::If"]
    assert with_external_id["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}
    for condition in (with_external_id, without):
        patterns = condition["StringLike"]["sts:SourceIdentity"]
        for who in ("U0ALICE", "job:capacity-monitor", "cli"):
            assert any(fnmatch.fnmatchcase(source_identity(who), p) for p in patterns), who
        assert not any(fnmatch.fnmatchcase("mallory", p) for p in patterns)


def test_every_action_is_real_in_the_iam_policy_and_scoped_where_it_can_be() -> None:
    policy = json.loads((DEPLOY / "iam-policy.json").read_text())
    known = {a for s in policy["Statement"] for a in listed(s)}
    for statement in statements():
        for action in listed(statement):
            assert action in known, action
            prefix, _, operation = action.partition(":")
            assert operation in boto3.client(prefix, region_name="us-east-1").meta.service_model.operation_names
            if action not in UNSCOPABLE:
                assert statement["Resource"] != "*", f"{action} can be scoped to a resource"


def test_prune_is_granted_only_when_allowed_and_only_on_versions() -> None:
    conditional = [s for s in role()["Policies"][0]["PolicyDocument"]["Statement"] if "Fn::If" in s]
    (prune,) = conditional
    condition, granted, otherwise = prune["Fn::If"]
    assert condition == "AllowsPrune" and otherwise == {"Ref": "AWS::NoValue"}
    assert listed(granted) == ["lambda:DeleteFunction"]
    assert granted["Resource"]["Fn::Sub"].endswith(":function:*:*")
