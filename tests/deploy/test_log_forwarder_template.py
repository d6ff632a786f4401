"""deploy/slack-bot.yaml's log forwarder: a function on the bot's code and table that CloudWatch Logs
invokes, one Lambda permission and one subscription filter per group of ForwardedLogGroups (five
slots, each under a condition, evaluated here as CloudFormation documents its functions), none of it
when the list is empty; its role grants exactly what a recorded run of logs_handler on moto calls."""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_all

from bot import lambda_handler
from bot.local.slack_standin import SlackStandIn
from bot.slack.outbox import DeliveryPolicy
from commands.tail import COMMAND as TAIL
from commands.tail import LAMBDA_ENTRY
from commands.tail.forwarder import REMEMBER_SECONDS
from commands.tail.subscribe import FILTER_NAME
from tests.commands.tail.conftest import sample_rows
from tests.commands.tail.test_forwarder import payload
from tests.deploy.test_slack_bot_template import references
from tests.deploy.test_templates import (
    RecordingAws,
    create_delivery_queue,
    create_state_table,
    delivery_sender,
    drained,
    load_template,
    policy_statements,
    sender_actions,
    variables_the_bot_reads,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "slack-bot.yaml"
FORWARDER = "LogForwarderFunction"
CONDITION = "ForwardsLogs"
GROUPS = ["/aws/lambda/orders", "/ecs/web"]
CHANNEL = "C0LOGS1234"
# Granted beyond deploy/iam-policy.json, and why (as for the bot's function).
BEYOND_THE_POLICY = {
    "ssm:GetParameter": "the Slack token is an SSM SecureString read at start",
    "kms:Decrypt": "only when a customer managed key encrypts it",
    "sqs:SendMessage": "its posts are queued in the delivery queue",
}


def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def forwarder() -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"][FORWARDER]["Properties"]
    return props


def listed(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def actions() -> set[str]:
    return {a for s in policy_statements(forwarder()) for a in listed(s)}


def lint(text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # cfn-lint sets AWS_DEFAULT_REGION for each region it checks; keep it here
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    # Informational rules (I....) are suggestions that vary between cfn-lint releases.
    return [str(m) for m in lint_all(text) if not m.rule.id.startswith("I")]


def with_default_groups(groups: str) -> str:
    """The template text with ForwardedLogGroups defaulting to `groups` (cfn-lint resolves the default)."""
    text = TEMPLATE.read_text()
    declared = '  ForwardedLogGroups:\n    Type: String\n    Default: ""\n'
    assert declared in text
    return text.replace(declared, declared.replace('""', json.dumps(groups)))


# -- conditions, rules and the slots, as CloudFormation documents them


SLOTS = 5


def slot_resources(values: dict[str, Any]) -> dict[str, Any]:
    """The resources CloudFormation creates for these parameter values, each slot's group resolved."""
    created = {}
    for name, resource in template()["Resources"].items():
        if "Condition" in resource and not condition(resource["Condition"], values):
            continue
        slot = name.startswith(("ForwarderPermission", "ForwarderFilter"))
        created[name] = resolve_groups(resource, values) if slot else resource
    return created


def resolve_groups(node: Any, values: dict[str, Any]) -> Any:
    """A resource with each slot's Fn::Select of ForwardedLogGroups (alone or in an Fn::Sub's variables)
    replaced by its value, and an Fn::Sub left with no variable but pseudo parameters turned into a string."""
    if isinstance(node, list):
        return [resolve_groups(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if "Fn::Select" in node:
        return evaluate(node, values)
    sub = node.get("Fn::Sub")
    if isinstance(sub, list):
        text, variables = sub
        for variable, expression in variables.items():
            text = text.replace(f"${{{variable}}}", evaluate(expression, values))
        return {"Fn::Sub": text}
    return {k: resolve_groups(v, values) for k, v in node.items()}


def parameters(**given: str) -> dict[str, Any]:
    """Every parameter's value, its default unless given; refused as CloudFormation refuses a value
    that does not match the parameter's AllowedPattern."""
    values = {}
    for name, declared in template()["Parameters"].items():
        value = given.get(name, declared.get("Default", ""))
        if "AllowedPattern" in declared and not re.fullmatch(declared["AllowedPattern"], value):
            raise ValueError(f"{name}: {declared.get('ConstraintDescription', 'does not match')}")
        values[name] = value
    return values


def evaluate(node: Any, values: dict[str, Any]) -> Any:
    """A condition's or a rule's value for these parameter values (the functions the template uses)."""
    if isinstance(node, str | int):
        return node
    if isinstance(node, list):
        return [evaluate(item, values) for item in node]
    ((function, args),) = node.items()
    if function == "Ref":
        return values[args]
    if function == "Condition":
        return evaluate(template()["Conditions"][args], values)
    a = evaluate(args, values)
    operations = {
        "Fn::Not": lambda: not a[0],
        "Fn::Equals": lambda: a[0] == a[1],
        "Fn::Or": lambda: any(a),
        "Fn::And": lambda: all(a),
        "Fn::Join": lambda: a[0].join(a[1]),
        "Fn::Split": lambda: a[1].split(a[0]),
        "Fn::Select": lambda: a[1][a[0]],
        "Fn::Contains": lambda: a[1] in a[0],
        "Fn::EachMemberEquals": lambda: all(item == a[1] for item in a[0]),
    }
    return operations[function]()


def condition(name: str, values: dict[str, Any]) -> bool:
    return bool(evaluate({"Condition": name}, values))


def refused_by_the_rules(values: dict[str, Any]) -> list[str]:
    """The AssertDescription of each failed assertion of each rule that applies."""
    refused = []
    for rule in template().get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        refused += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], values)]
    return refused


# -- the template


def test_cfn_lint_finds_nothing_with_no_groups_two_or_five(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lint(TEMPLATE.read_text(), monkeypatch) == []
    # cfn-lint resolves the conditions for the default: every reference and DependsOn holds
    assert lint(with_default_groups(",".join(GROUPS)), monkeypatch) == []
    assert lint(with_default_groups(",".join(f"/g/{i}" for i in range(SLOTS))), monkeypatch) == []


def test_a_plain_sam_transform_without_language_extensions() -> None:
    # `sam package` and `sam deploy` crash on Fn::ForEach unless given --language-extensions
    assert template()["Transform"] == "AWS::Serverless-2016-10-31"
    assert not any(name.startswith("Fn::") for name in template()["Resources"])


def test_the_handler_the_template_names_is_the_forwarders_entry_point() -> None:
    module_name, _, function_name = forwarder()["Handler"].rpartition(".")
    assert function_name == LAMBDA_ENTRY.name
    assert getattr(importlib.import_module(module_name), function_name) is getattr(lambda_handler, LAMBDA_ENTRY.name)


def test_the_forwarder_runs_on_the_bots_code_and_table_and_reads_its_routes() -> None:
    props = forwarder()
    bot = template()["Resources"]["SlackBotFunction"]["Properties"]
    for key in ("CodeUri", "Runtime", "Architectures"):
        assert props[key] == bot[key], key
    variables = props["Environment"]["Variables"]
    assert variables["OPSBOT_STATE"] == bot["Environment"]["Variables"]["OPSBOT_STATE"]
    assert variables["OPSBOT_SLACK_TOKEN_PARAMETER"] == {"Ref": "SlackTokenParameter"}
    assert variables["OPSBOT_TAIL_CHANNEL"] == {"Ref": "ForwardedLogsChannel"}
    assert variables["OPSBOT_TAIL_ROUTES"] == {"Ref": "ForwardedLogsRoutes"}
    assert {"OPSBOT_TAIL_CHANNEL", "OPSBOT_TAIL_ROUTES"} <= set(TAIL.env_options)
    log_group = template()["Resources"]["LogForwarderLogs"]
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{FORWARDER}}}"}
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_the_forwarders_variables_are_ones_it_reads() -> None:
    read = variables_the_bot_reads()
    variables = set(forwarder()["Environment"]["Variables"])
    assert variables <= read, sorted(variables - read)


def test_retries_are_bounded_and_a_retried_batch_is_still_remembered() -> None:
    props = forwarder()
    config = props["EventInvokeConfig"]
    # It raises only when a post could not be queued: a retry or two may find SSM or the table back.
    assert 1 <= config["MaximumRetryAttempts"] <= 2
    # A batch is remembered (never posted twice) for longer than any retry of it can come.
    assert 60 <= config["MaximumEventAgeInSeconds"] <= REMEMBER_SECONDS
    assert props["Timeout"] > DeliveryPolicy().wait  # its posts reach Slack before it returns
    assert "ReservedConcurrentExecutions" not in props


@pytest.mark.parametrize("count", [1, 2, SLOTS])
def test_each_group_gets_a_permission_and_a_filter_scoped_to_it(moto: str, count: int) -> None:
    groups = [*GROUPS, "/ecs/api", "/ecs/worker", "/aws/lambda/billing"][:count]
    values = parameters(ForwardedLogGroups=",".join(groups), ForwardedLogsChannel=CHANNEL)
    resources = slot_resources(values)
    logs = boto3.client("logs")
    for group in groups:
        logs.create_log_group(logGroupName=group)
    arns = {g["logGroupName"]: g["arn"] for g in logs.describe_log_groups()["logGroups"]}
    pseudo = {"AWS::Partition": "aws", "AWS::Region": logs.meta.region_name, "AWS::AccountId": "123456789012"}

    of_forwarder = {k: r for k, r in resources.items() if FORWARDER in references(r)}
    permissions = {k: r for k, r in of_forwarder.items() if r["Type"] == "AWS::Lambda::Permission"}
    filters = {k: r for k, r in of_forwarder.items() if r["Type"] == "AWS::Logs::SubscriptionFilter"}
    assert set(permissions) == {f"ForwarderPermission{i + 1}" for i in range(count)}
    assert set(filters) == {f"ForwarderFilter{i + 1}" for i in range(count)}
    for slot, group in enumerate(groups, start=1):
        props = permissions[f"ForwarderPermission{slot}"]["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["FunctionName"] == {"Fn::GetAtt": [FORWARDER, "Arn"]}
        assert props["Principal"] == "logs.amazonaws.com"
        assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
        source = re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m[1]], props["SourceArn"]["Fn::Sub"])
        assert source == arns[group].removesuffix(":*") + ":*"  # that group's events, no other's

        subscription = filters[f"ForwarderFilter{slot}"]
        assert subscription["DependsOn"] == f"ForwarderPermission{slot}"  # CloudWatch test-invokes on create
        assert subscription["Properties"] == {
            "LogGroupName": group,
            "FilterName": FILTER_NAME,
            "FilterPattern": {"Ref": "ForwardedLogsFilterPattern"},
            "DestinationArn": {"Fn::GetAtt": [FORWARDER, "Arn"]},
        }
    assert condition(CONDITION, values)
    assert refused_by_the_rules(values) == []


def forwarder_related(resources: dict[str, Any]) -> set[str]:
    """The forwarder, and every resource or output that names it, directly or through another."""
    related = {FORWARDER}
    grown = True
    while grown:
        named = {k for k, r in resources.items() if references(r) & related} - related
        related |= named
        grown = bool(named)
    return related


def test_with_the_empty_default_nothing_forwarder_related_is_created() -> None:
    values = parameters()
    assert values["ForwardedLogGroups"] == ""
    related = forwarder_related(template()["Resources"])
    assert {FORWARDER, "LogForwarderLogs", "ForwarderPermission1", f"ForwarderFilter{SLOTS}"} <= related
    assert not condition(CONDITION, values)
    assert not related & set(slot_resources(values)), "created without forwarded groups"
    outputs = template()["Outputs"]
    for name, output in outputs.items():
        if references(output) & related:
            assert output.get("Condition") == CONDITION, name
    assert refused_by_the_rules(values) == []  # and no rule stops a stack without a forwarder


def test_groups_with_nowhere_to_go_are_refused() -> None:
    (refused,) = refused_by_the_rules(parameters(ForwardedLogGroups="/aws/lambda/orders"))
    assert "need ForwardedLogsChannel or ForwardedLogsRoutes" in refused


@pytest.mark.parametrize("groups", ["/aws/lambda/orders,", ",/ecs/web", "/a,,/b", ",".join(["/g"] * (SLOTS + 1))])
def test_a_stray_comma_or_a_sixth_group_is_refused_by_the_parameter(groups: str) -> None:
    with pytest.raises(ValueError, match="up to five log group names, comma-separated, no empty entry"):
        parameters(ForwardedLogGroups=groups, ForwardedLogsChannel=CHANNEL)


def test_every_action_is_real_known_and_scoped_to_a_resource() -> None:
    policy = json.loads((DEPLOY / "iam-policy.json").read_text())
    known = {a for s in policy["Statement"] for a in listed(s)} | set(BEYOND_THE_POLICY)
    assert actions() <= known, sorted(actions() - known)
    for statement in policy_statements(forwarder()):
        assert statement["Resource"] != "*"
        for action in listed(statement):
            prefix, _, operation = action.partition(":")
            assert operation in boto3.client(prefix, region_name="us-east-1").meta.service_model.operation_names
    assert not any(a.startswith(("logs:", "lambda:")) for a in actions())  # the batch is in the event


# -- a recorded run of logs_handler on Lambda


def test_the_role_grants_exactly_what_logs_handler_calls(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("ssm").put_parameter(Name="/opsbot/slack-bot-token", Value="xoxb-standin", Type="SecureString")
    state = create_state_table("opsbot-forwarder-state")
    recording = RecordingAws()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: recording)
    lambda_handler.forget_container()
    handler = getattr(lambda_handler, LAMBDA_ENTRY.name)
    batch = payload("/aws/lambda/orders", sample_rows("classic_node.jsonl"))
    with SlackStandIn() as slack:
        for name, value in {
            "OPSBOT_STATE": state,
            "OPSBOT_SLACK_TOKEN_PARAMETER": "/opsbot/slack-bot-token",
            "OPSBOT_TAIL_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.api_url,
            "OPSBOT_DELIVERY_QUEUE_URL": create_delivery_queue(),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        sender = RecordingAws()
        try:
            assert handler(batch, None)["status"] == "posted"
            lambda_handler.forget_container()  # a retry in another container: the table remembers the batch
            assert handler(batch, None)["status"] == "duplicate"
            assert handler(payload("/aws/lambda/orders", [], "CONTROL_MESSAGE"), None)["status"] == "control"
            for _ in range(2):  # counted: first added, then claimed
                assert handler({}, None)["status"] == "malformed"
            with delivery_sender(sender):
                drained(os.environ["OPSBOT_DELIVERY_QUEUE_URL"])
        finally:
            lambda_handler.forget_container()
        assert len(slack.messages(CHANNEL)) == 1

    granted = actions() - {"kms:Decrypt"}  # only for a customer managed key
    assert recording.called == granted, sorted(recording.called ^ granted)
    assert sender.called <= sender_actions(), sorted(sender.called - sender_actions())
