"""deploy/iam-policy.json grants only actions that exist, and every operation the bot calls."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

POLICY = Path(__file__).resolve().parents[2] / "deploy" / "iam-policy.json"
# boto3 service name for each IAM prefix used in the policy.
SERVICES = {
    "autoscaling": "autoscaling",
    "cloudwatch": "cloudwatch",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "elasticbeanstalk": "elasticbeanstalk",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "s3": "s3",
    "sns": "sns",
    "ssm": "ssm",
}


# IAM actions whose API operation has another name.
OPERATION_OF = {"lambda:InvokeFunction": "Invoke"}


def _actions() -> list[str]:
    policy = json.loads(POLICY.read_text())
    return [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


@pytest.mark.parametrize("action", _actions())
def test_every_action_is_a_real_api_operation(action: str) -> None:
    prefix, _, operation = action.partition(":")
    operation = OPERATION_OF.get(action, operation)
    assert "*" not in action, "no wildcards in a least-privilege policy"
    client = boto3.client(SERVICES[prefix], region_name="us-east-1")
    assert operation in client.meta.service_model.operation_names


def test_policy_covers_the_eb_ip_lookups() -> None:
    assert {
        "ec2:DescribeInstances",
        "elasticbeanstalk:DescribeEnvironments",
        "autoscaling:DescribeAutoScalingGroups",
    } <= set(_actions())


def test_the_ssh_key_is_readable_only_as_one_object_decrypted_only_through_s3() -> None:
    statements = {s["Sid"]: s for s in json.loads(POLICY.read_text())["Statement"]}
    key_object = statements["RemoteSshKeyObject"]
    assert key_object["Action"] == ["s3:GetObject"]
    assert "*" not in key_object["Resource"]
    decrypt = statements["RemoteSshKeyDecrypt"]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert "*" not in decrypt["Resource"] and ":key/" in decrypt["Resource"]
    condition = decrypt["Condition"]["StringEquals"]
    assert condition["kms:ViaService"].startswith("s3.")
    assert condition["kms:EncryptionContext:aws:s3:arn"] == key_object["Resource"]
