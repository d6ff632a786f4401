"""deploy/iam-policy.json grants only actions that exist, and every operation the bot calls; the
`opsbot logs subscribe` statements exactly what a recorded run of it on moto calls."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from bot.aws import AwsClients
from bot.local.seeds_capacity import demo_account, deployment_package
from commands.tail.subscribe import Subscription, subscribe, unsubscribe
from tests.deploy.test_templates import RecordingAws

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


def test_the_subscribe_statements_grant_exactly_what_opsbot_logs_subscribe_and_unsubscribe_call(moto: str) -> None:
    builder = AwsClients()
    function = builder.client("lambda").create_function(
        FunctionName="opsbot-logs",
        Runtime="python3.13",
        Role=demo_account(builder).role_arn,
        Handler="bot.lambda_handler.logs_handler",
        Code={"ZipFile": deployment_package(100, seed=1)},
    )["FunctionArn"]
    builder.client("logs").create_log_group(logGroupName="/aws/lambda/orders")
    recording = RecordingAws()
    for _ in range(2):  # the second time, the permission is there and the filter is rewritten
        subscribe(recording, Subscription("/aws/lambda/orders", function, "ERROR"))
    for _ in range(2):  # the second time, there is nothing to undo
        unsubscribe(recording, "/aws/lambda/orders", function)

    statements = {s["Sid"]: s for s in json.loads(POLICY.read_text())["Statement"]}
    granted = {"logs:DescribeLogGroups"}  # in TailRead: the group's ARN for the permission
    for sid in ("LogsSubscribeOperatorOnly", "LogsSubscribePermissionOperatorOnly"):
        granted |= set(statements[sid]["Action"])
    assert recording.called == granted, sorted(recording.called ^ granted)
    assert "logs:DescribeLogGroups" in statements["TailRead"]["Action"]
