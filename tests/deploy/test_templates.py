"""deploy/capacity-monitor.yaml: cfn-lint finds nothing, its state lives in DynamoDB, and its role
grants exactly the calls the monitor makes (recorded from a real run on moto, two runs apart by a
cold start), each scoped as tightly as the action allows."""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_all
from cfnlint.decode.decode import decode_str

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.seeds_capacity import demo_account
from bot.local.slack_standin import SlackStandIn
from bot.local.sqs_poller import Pollers
from bot.remote.config import remote_settings
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.sender import QueueSender
from commands.lambda_capacity import COMMAND as CAPACITY

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "capacity-monitor.yaml"
# Actions that accept no resource but "*" (Lambda listings, account settings, PutMetricData).
UNSCOPABLE = {
    "lambda:GetAccountSettings",
    "lambda:ListFunctions",
    "lambda:ListLayers",
    "lambda:ListLayerVersions",
    "cloudwatch:PutMetricData",
}


def load_template(path: Path) -> dict[str, Any]:
    doc, errors = decode_str(path.read_text())
    assert not errors and doc is not None
    return dict(doc)


def policy_statements(function_properties: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement, conditional ones included (the branch that is not AWS::NoValue)."""
    found = []
    for statement in function_properties["Policies"][0]["Statement"]:
        if "Fn::If" in statement:
            _, yes, no = statement["Fn::If"]
            statement = no if yes == {"Ref": "AWS::NoValue"} else yes
        found.append(statement)
    return found


def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def function() -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"]["CapacityMonitorFunction"]["Properties"]
    return props


def statements() -> list[dict[str, Any]]:
    return policy_statements(function())


def actions() -> set[str]:
    return {a for s in statements() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_cfn_lint_finds_no_error_or_warning_in_any_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # cfn-lint's SAM transform sets AWS_DEFAULT_REGION for each region it checks; keep it here
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    matches = lint_all(TEMPLATE.read_text())
    # Informational rules (I....) are suggestions that vary between cfn-lint releases.
    assert [str(m) for m in matches if not m.rule.id.startswith("I")] == []


def test_the_monitor_runs_every_five_minutes_by_default_through_the_lambda_handler() -> None:
    doc = template()
    assert doc["Parameters"]["Schedule"]["Default"] == "rate(5 minutes)"
    props = function()
    assert props["Handler"] == "bot.lambda_handler.capacity_handler"
    assert props["Events"]["Check"] == {
        "Type": "Schedule",
        "Properties": {"Schedule": {"Ref": "Schedule"}, "Description": "opsbot Lambda code-storage check"},
    }


def test_the_environment_names_are_the_ones_the_monitor_reads() -> None:
    names = set(function()["Environment"]["Variables"])
    assert names == {*CAPACITY.env_options, "OPSBOT_STATE", "OPSBOT_SLACK_TOKEN_PARAMETER"}


def variables_the_bot_reads() -> set[str]:
    """Every environment variable the settings and the Lambda entry points look at."""
    read: set[str] = set()

    class Recording(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> str:
            read.add(key)
            return super().__getitem__(key)

    load_settings(Recording())
    lambda_handler.settings_from_env(Recording(), AwsClients())
    with contextlib.suppress(SettingsError):  # none set: SSH is not configured
        remote_settings(Settings(), Recording())  # read when a check or an archive runs
    lambda_handler.queue_urls(Recording())
    return read


def assert_is_the_state_table(table: dict[str, Any]) -> None:
    """The schema bot.state.dynamodb needs, billed per request, recoverable, encrypted, and kept."""
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted((d["AttributeName"], d["AttributeType"]) for d in props["AttributeDefinitions"]) == [
        ("pk", "S"),
        ("sk", "S"),
    ]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_the_state_lives_in_dynamodb_in_a_table_created_unless_one_is_named() -> None:
    doc = template()
    assert_is_the_state_table(doc["Resources"]["StateTable"])
    assert doc["Resources"]["StateTable"]["Condition"] == "CreateStateTable"
    assert doc["Conditions"]["CreateStateTable"] == {"Fn::Equals": [{"Ref": "StateTableName"}, ""]}
    table = {"Fn::If": ["CreateStateTable", {"Ref": "StateTable"}, {"Ref": "StateTableName"}]}
    assert function()["Environment"]["Variables"]["OPSBOT_STATE"] == {
        "Fn::Sub": ["dynamodb://${Table}", {"Table": table}]
    }


def test_the_handler_the_template_names_exists() -> None:
    module_name, _, function_name = function()["Handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
    assert handler is lambda_handler.capacity_handler


# DynamoDB authorizes a transaction item by item: each element needs the single-item action.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


# API operations whose IAM action has another name.
ACTION_OF = {"lambda:Invoke": "lambda:InvokeFunction"}


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> set[str]:
    """The IAM actions one API call needs: its own, or one per item of a DynamoDB transaction."""
    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        return {f"dynamodb:{TRANSACTION_ITEM_ACTIONS[kind]}" for item in params["TransactItems"] for kind in item}
    action = f"{service}:{operation}"
    return {ACTION_OF.get(action, action)}


class RecordingAws(AwsClients):
    """Records every API call as the IAM actions it needs."""

    def __init__(self) -> None:
        super().__init__()
        self.called: set[str] = set()
        self._hooked: set[int] = set()

    def client(self, service: str, region: str | None = None) -> Any:
        client = super().client(service, region)
        if id(client) not in self._hooked:
            self._hooked.add(id(client))

            def record(model: Any, params: dict[str, Any], **_: Any) -> None:
                self.called |= iam_actions(service, model.name, params)

            client.meta.events.register("before-parameter-build", record)
        return client


def create_state_table(name: str) -> str:
    """A table with the schema the templates create; its OPSBOT_STATE."""
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"dynamodb://{name}"


def test_the_role_grants_exactly_what_the_monitor_calls(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    builder = AwsClients()
    account = demo_account(builder)
    account.function("fn", [1000, 1000])
    account.layer("deps", [500])
    boto3.client("ssm").put_parameter(Name="/opsbot/slack-bot-token", Value="xoxb-standin", Type="SecureString")
    state = create_state_table("opsbot-monitor-state")
    recording = RecordingAws()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: recording)
    lambda_handler.forget_container()
    with SlackStandIn() as slack:
        for name, value in {
            "OPSBOT_STATE": state,
            "OPSBOT_CAPACITY_THRESHOLD_BYTES": "1",  # cross at once, so the alert path runs too
            "OPSBOT_CAPACITY_ALERT_CHANNEL": "CALERTS",
            "OPSBOT_SLACK_TOKEN_PARAMETER": "/opsbot/slack-bot-token",
            "SLACK_API_URL": slack.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        try:
            lambda_handler.capacity_handler({}, None)
            lambda_handler.forget_container()  # a cold start: only the table remembers the alert
            lambda_handler.capacity_handler({}, None)
        finally:
            lambda_handler.forget_container()
        assert len(slack.messages("CALERTS")) == 1  # still over the threshold: no second alert

    granted = actions() - {"kms:Decrypt"}  # only for a customer managed key (ParametersKeyArn)
    assert recording.called == granted, sorted(recording.called ^ granted)


def test_every_action_is_real_and_scoped_where_it_can_be() -> None:
    for statement in statements():
        listed = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        for action in listed:
            prefix, _, operation = action.partition(":")
            assert operation in boto3.client(prefix, region_name="us-east-1").meta.service_model.operation_names
            if action not in UNSCOPABLE:
                assert statement["Resource"] != "*", f"{action} can be scoped to a resource"
    (metrics,) = [s for s in statements() if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Opsbot/Lambda"}}


def create_delivery_queue() -> str:
    """The template's delivery queue on moto; its OPSBOT_DELIVERY_QUEUE_URL."""
    attributes = {"FifoQueue": "true", "VisibilityTimeout": "180"}
    return str(boto3.client("sqs").create_queue(QueueName="opsbot-delivery.fifo", Attributes=attributes)["QueueUrl"])


def delivery_sender(aws: AwsClients) -> Pollers:
    """The delivery sender function, a container of it built on `aws` from this environment,
    draining the delivery queue while the block runs (its event source mapping, one poller)."""
    runtime = Runtime.from_settings(lambda_handler.settings_from_env(os.environ, aws), aws)
    delivery = lambda_handler.delivery_for(runtime, os.environ)
    assert delivery.queue is not None
    sender = QueueSender(delivery, delivery.queue)
    return Pollers(boto3.client("sqs"), delivery.queue.url, [sender.handle], lambda: time.time() + 60)


def drained(url: str, timeout: float = 30) -> None:
    sqs, deadline = boto3.client("sqs"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
            return
        time.sleep(0.05)
    raise AssertionError("the delivery queue was not drained")


def sender_actions() -> set[str]:
    """What deploy/slack-bot.yaml grants the delivery sender function."""
    path = Path(__file__).resolve().parents[2] / "deploy" / "slack-bot.yaml"
    props = load_template(path)["Resources"]["DeliverySenderFunction"]["Properties"]
    listed = [s["Action"] for s in policy_statements(props)]
    return {a for action in listed for a in ([action] if isinstance(action, str) else action)}
