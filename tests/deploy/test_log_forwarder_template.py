"""deploy/slack-bot.yaml's log forwarder: a function on the bot's code and table that CloudWatch Logs
invokes, one Lambda permission and one subscription filter per group of ForwardedLogGroups (an
Fn::ForEach loop, expanded here as the AWS::LanguageExtensions transform documents it), none of it
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
from commands.tail.forwarder import LAMBDA_ENTRY, REMEMBER_SECONDS
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
    """The template text with ForwardedLogGroups defaulting to `groups` (cfn-lint expands the default)."""
    text = TEMPLATE.read_text()
    declared = '  ForwardedLogGroups:\n    Type: CommaDelimitedList\n    Default: ""\n'
    assert declared in text
    return text.replace(declared, declared.replace('""', json.dumps(groups)))


# -- Fn::ForEach, conditions and rules, as CloudFormation documents them


def substitute(node: Any, identifier: str, value: str) -> Any:
    """One iteration of Fn::ForEach: ${Identifier} becomes the value, &{Identifier} the value without
    its non-alphanumerics, in keys and strings alike; {"Ref": Identifier} becomes the value. A Sub
    left with no variable is its string (the transform resolves what it can)."""
    if isinstance(node, str):
        stripped = re.sub(r"[^A-Za-z0-9]", "", value)
        return node.replace(f"${{{identifier}}}", value).replace(f"&{{{identifier}}}", stripped)
    if isinstance(node, list):
        return [substitute(item, identifier, value) for item in node]
    if isinstance(node, dict):
        if node == {"Ref": identifier}:
            return value
        done = {substitute(k, identifier, value): substitute(v, identifier, value) for k, v in node.items()}
        sub = done.get("Fn::Sub")
        if len(done) == 1 and isinstance(sub, str) and "${" not in sub:
            return sub
        return done
    return node


def expanded_resources(groups: list[str]) -> dict[str, Any]:
    """Resources once the loops are expanded for ForwardedLogGroups = `groups`; a logical id made twice
    is refused, as CloudFormation refuses it."""
    found: dict[str, Any] = {}
    for key, value in template()["Resources"].items():
        if not key.startswith("Fn::ForEach::"):
            found[key] = value
            continue
        identifier, collection, body = value
        assert collection == {"Ref": "ForwardedLogGroups"}
        for group in groups:
            for name, resource in substitute(body, identifier, group).items():
                if name in found:
                    raise ValueError(f"{name} is made twice")
                found[name] = resource
    return found


def parameters(**given: str) -> dict[str, Any]:
    """Every parameter's value, its default unless given; a CommaDelimitedList split as CloudFormation
    splits it (an empty one is [""])."""
    values = {}
    for name, declared in template()["Parameters"].items():
        value = given.get(name, declared.get("Default", ""))
        values[name] = value.split(",") if declared["Type"] == "CommaDelimitedList" else value
    return values


def evaluate(node: Any, values: dict[str, Any]) -> Any:
    """A condition's or a rule's value for these parameter values (the functions the template uses)."""
    if isinstance(node, str):
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


def test_cfn_lint_finds_nothing_with_no_groups_or_two(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lint(TEMPLATE.read_text(), monkeypatch) == []
    # cfn-lint expands the loop for the default: with two groups, every reference and DependsOn resolves
    assert lint(with_default_groups(",".join(GROUPS)), monkeypatch) == []


def test_two_groups_that_differ_only_in_punctuation_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    colliding = ["/aws/lambda/orders-api", "/aws/lambda/orders_api"]
    with pytest.raises(ValueError, match="ForwarderPermissionawslambdaordersapi is made twice"):
        expanded_resources(colliding)
    (error,) = lint(with_default_groups(",".join(colliding)), monkeypatch)
    assert "Duplicate ForwarderPermissionawslambdaordersapi" in error


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


def test_two_groups_make_a_permission_and_a_filter_each_scoped_to_that_group(moto: str) -> None:
    resources = expanded_resources(GROUPS)
    logs = boto3.client("logs")
    for group in GROUPS:
        logs.create_log_group(logGroupName=group)
    arns = {g["logGroupName"]: g["arn"] for g in logs.describe_log_groups()["logGroups"]}
    pseudo = {"AWS::Partition": "aws", "AWS::Region": logs.meta.region_name, "AWS::AccountId": "123456789012"}

    of_forwarder = {k: r for k, r in resources.items() if FORWARDER in references(r)}
    permissions = {k: r for k, r in of_forwarder.items() if r["Type"] == "AWS::Lambda::Permission"}
    filters = {k: r for k, r in of_forwarder.items() if r["Type"] == "AWS::Logs::SubscriptionFilter"}
    assert set(permissions) == {"ForwarderPermissionawslambdaorders", "ForwarderPermissionecsweb"}
    assert set(filters) == {"ForwarderFilterawslambdaorders", "ForwarderFilterecsweb"}
    for group in GROUPS:
        suffix = re.sub(r"[^A-Za-z0-9]", "", group)
        permission = permissions[f"ForwarderPermission{suffix}"]
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["FunctionName"] == {"Fn::GetAtt": [FORWARDER, "Arn"]}
        assert props["Principal"] == "logs.amazonaws.com"
        assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
        source = re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m[1]], props["SourceArn"]["Fn::Sub"])
        assert source == arns[group].removesuffix(":*") + ":*"  # that group's events, no other's

        subscription = filters[f"ForwarderFilter{suffix}"]
        assert subscription["DependsOn"] == f"ForwarderPermission{suffix}"  # CloudWatch test-invokes on create
        assert subscription["Properties"] == {
            "LogGroupName": group,
            "FilterName": FILTER_NAME,
            "FilterPattern": {"Ref": "ForwardedLogsFilterPattern"},
            "DestinationArn": {"Fn::GetAtt": [FORWARDER, "Arn"]},
        }
    values = parameters(ForwardedLogGroups=",".join(GROUPS), ForwardedLogsChannel=CHANNEL)
    assert condition(CONDITION, values)
    assert all(r["Condition"] == CONDITION for r in [*permissions.values(), *filters.values()])
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
    assert values["ForwardedLogGroups"] == [""]  # what CloudFormation passes for an empty list
    resources = expanded_resources(values["ForwardedLogGroups"])  # the loop still runs once, for ""
    related = forwarder_related(resources)
    assert {FORWARDER, "LogForwarderLogs", "ForwarderPermission", "ForwarderFilter"} <= related
    assert not condition(CONDITION, values)
    for name in related:
        assert resources[name].get("Condition") == CONDITION, f"{name} is created without forwarded groups"
    outputs = template()["Outputs"]
    for name, output in outputs.items():
        if references(output) & related:
            assert output.get("Condition") == CONDITION, name
    assert refused_by_the_rules(values) == []  # and no rule stops a stack without a forwarder


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"ForwardedLogGroups": "/aws/lambda/orders"}, "need ForwardedLogsChannel or ForwardedLogsRoutes"),
        ({"ForwardedLogGroups": "/aws/lambda/orders,", "ForwardedLogsChannel": CHANNEL}, "an empty entry"),
    ],
)
def test_groups_with_nowhere_to_go_or_a_stray_comma_are_refused(given: dict[str, str], refusal: str) -> None:
    (refused,) = refused_by_the_rules(parameters(**given))
    assert refusal in refused


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
