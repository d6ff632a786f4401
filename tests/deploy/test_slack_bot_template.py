"""deploy/slack-bot.yaml: cfn-lint finds nothing; the API routes everything the bot serves; the
function's handler, environment and timeout are ones the bot has; its role grants real actions,
each scoped as tightly as it allows, and covers what a recorded run of the bot on moto calls."""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from cfnlint.api import lint_all
from slack_sdk.signature import SignatureVerifier

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.seeds import seed_eb_environments
from bot.local.seeds_capacity import seed_demo_functions
from bot.local.slack_requests import button_press_form, slash_command_form
from bot.local.slack_standin import SlackStandIn
from bot.slack.outbox import DeliveryPolicy
from commands import COMMANDS
from commands.lambda_capacity.render import ACTION_DELETE
from tests.bot.test_lambda_handler import api_event
from tests.deploy.test_templates import (
    RecordingAws,
    assert_is_the_state_table,
    create_delivery_queue,
    create_state_table,
    delivery_sender,
    load_template,
    policy_statements,
    sender_actions,
    variables_the_bot_reads,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "slack-bot.yaml"
# Granted beyond deploy/iam-policy.json, and why.
BEYOND_THE_POLICY = {
    "ssm:GetParameter": "the Slack token and signing secret are SSM SecureStrings read at start",
    "kms:Decrypt": "only when a customer managed key encrypts those parameters",
    "sqs:SendMessage": "on Lambda, what goes to Slack is queued in the delivery queue",
    "sts:AssumeRole": "only the roles TargetRoleArns lists, in other accounts (bot.accounts)",
    "sts:SetSourceIdentity": "the Slack user as the assumed session's source identity",
    "sts:TagSession": "optional session tags",
}
# Actions that accept no resource but "*".
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
# IAM actions whose API operation has another name (or none: permission-only, checked at AssumeRole).
OPERATION_OF = {
    "lambda:InvokeFunction": "Invoke",
    "sts:SetSourceIdentity": "AssumeRole",
    "sts:TagSession": "AssumeRole",
}  # IAM actions whose API operation has another name
SIGNING_SECRET = "bot-template-signing-secret"
CONTEXT = SimpleNamespace(
    function_name="opsbot-slack-bot",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:opsbot-slack-bot",
)
# Requests the bot answers, one or more for every route of the API.
REQUESTS = [
    ("POST", "/slack/events"),
    ("GET", "/healthz"),
    ("GET", "/eb/my-env/ip"),
    ("GET", "/eb/my-env-2/id/3"),
    ("GET", "/asg/team/web/ip/2"),
    ("GET", "/region/eu-west-1/eb/my-env/ip"),
    ("GET", "/region/eu-west-1/asg/web/id"),
]


def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def function() -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"]["SlackBotFunction"]["Properties"]
    return props


def statements() -> list[dict[str, Any]]:
    return policy_statements(function())


def listed(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def actions() -> set[str]:
    return {a for s in statements() for a in listed(s)}


def api_routes() -> set[tuple[str, str]]:
    paths = template()["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def route_pattern(path: str) -> re.Pattern[str]:
    """An HTTP API route's path as a regex: {name} is one segment, {name+} the rest of the path."""
    pattern = re.sub(r"\\\{[^/]+?\\\+\\\}", ".+", re.escape(path))
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern))


def test_cfn_lint_finds_no_error_or_warning_in_any_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # cfn-lint sets AWS_DEFAULT_REGION for each region it checks; keep it here
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    matches = lint_all(TEMPLATE.read_text())
    # Informational rules (I....) are suggestions that vary between cfn-lint releases.
    assert [str(m) for m in matches if not m.rule.id.startswith("I")] == []


def test_the_handler_the_template_names_is_the_slack_entry_point() -> None:
    module_name, _, function_name = function()["Handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
    assert handler is lambda_handler.slack_handler


def test_every_request_the_bot_answers_has_a_route_and_every_route_reaches_the_bot() -> None:
    served = [r for c in COMMANDS for r in c.routes]
    for method, path in REQUESTS:
        is_commands_route = any(r.method == method and r.pattern.fullmatch(path) for r in served)
        assert path in ("/slack/events", "/healthz") or is_commands_route, f"the bot does not serve {path}"
    routes = api_routes()
    for method, path in REQUESTS:
        assert any(m == method and route_pattern(p).fullmatch(path) for m, p in routes), f"no route for {path}"
    for method, path in routes:
        assert any(m == method and route_pattern(path).fullmatch(p) for m, p in REQUESTS), f"{path} is unused"


def test_the_routes_and_the_self_invocation_name_the_function_by_its_fixed_name() -> None:
    # By name, not by reference: the API and the role may not depend on the function they reach.
    arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"
    props = function()
    assert props["FunctionName"] == {"Ref": "FunctionName"}
    body = template()["Resources"]["Api"]["Properties"]["DefinitionBody"]
    (integration,) = body["components"]["x-amazon-apigateway-integrations"].values()
    assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0"
    assert f"/functions/{arn}/invocations" in integration["uri"]["Fn::Sub"]
    (invoke,) = [s for s in statements() if listed(s) == ["lambda:InvokeFunction"]]
    assert invoke["Resource"] == {"Fn::Sub": arn}
    assert "Events" not in props  # SAM events would make the API depend on the function again


def test_no_resource_depends_on_itself_through_another() -> None:
    resources = template()["Resources"]
    graph = {name: references(resource) & set(resources) for name, resource in resources.items()}
    for name in resources:
        assert name not in reachable(graph, name), f"{name} depends on itself"


def references(node: Any) -> set[str]:
    """The resources a template fragment names with Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, list):
        return set().union(*map(references, node))
    if not isinstance(node, dict):
        return set()
    found = set().union(*map(references, node.values()))
    if isinstance(node.get("Ref"), str):
        found.add(node["Ref"])
    if "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        found.add((target[0] if isinstance(target, list) else target).split(".")[0])
    if "Fn::Sub" in node:
        text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
        found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    return seen


def test_the_environment_names_are_ones_the_bot_reads() -> None:
    read = variables_the_bot_reads()
    variables = function()["Environment"]["Variables"]
    assert set(variables) <= read, sorted(set(variables) - read)
    assert variables["OPSBOT_STATE"] == {"Fn::Sub": "dynamodb://${StateTable}"}
    assert variables["OPSBOT_PUBLIC_URL"] == {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}


def test_the_state_lives_in_a_retained_table_of_the_stores_schema() -> None:
    assert_is_the_state_table(template()["Resources"]["StateTable"])


def test_the_function_outlives_a_replys_delivery_and_never_retries_a_command() -> None:
    props = function()
    assert props["Timeout"] > DeliveryPolicy().wait
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_the_outputs_are_the_slack_request_url_and_the_public_url() -> None:
    outputs = template()["Outputs"]
    public = function()["Environment"]["Variables"]["OPSBOT_PUBLIC_URL"]["Fn::Sub"]
    assert outputs["PublicUrl"]["Value"] == {"Fn::Sub": public}
    assert outputs["SlackRequestUrl"]["Value"] == {"Fn::Sub": public + "/slack/events"}


def test_every_action_is_real_known_and_scoped_where_it_can_be() -> None:
    policy = json.loads((DEPLOY / "iam-policy.json").read_text())
    known = {a for s in policy["Statement"] for a in listed(s)} | set(BEYOND_THE_POLICY)
    assert actions() <= known, sorted(actions() - known)
    for statement in statements():
        for action in listed(statement):
            prefix, _, operation = action.partition(":")
            operation = OPERATION_OF.get(action, operation)
            assert operation in boto3.client(prefix, region_name="us-east-1").meta.service_model.operation_names
            if action not in UNSCOPABLE:
                assert statement["Resource"] != "*", f"{action} can be scoped to a resource"
    (prune,) = [s for s in statements() if listed(s) == ["lambda:DeleteFunction"]]
    assert prune["Resource"]["Fn::Sub"].endswith(":function:*:*")  # versions, never a whole function


# -- a recorded run of the bot on Lambda


class LambdaService:
    """Answers the bot's asynchronous self-invocations as Lambda would: after the request returns."""

    def __init__(self, recording: RecordingAws) -> None:
        self.queued: list[dict[str, Any]] = []
        recording.client("lambda").meta.events.register("before-call.lambda.Invoke", self._accept)

    def _accept(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        self.queued.append(json.loads(params["body"]))
        return SimpleNamespace(status_code=202, headers={}), {"StatusCode": 202}  # the call is not sent

    def request(self, event: dict[str, Any]) -> dict[str, Any]:
        response = lambda_handler.slack_handler(event, CONTEXT)
        while self.queued:
            lambda_handler.slack_handler(self.queued.pop(0), CONTEXT)
        return response


def signed_event(form: dict[str, str]) -> dict[str, Any]:
    body, ts = urlencode(form), str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body) or ""
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts}
    return api_event("POST", "/slack/events", body, {**headers, "x-slack-signature": signature})


def test_the_role_grants_what_the_bot_calls_on_lambda(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    builder = AwsClients()
    seed_demo_functions(builder)
    seed_eb_environments(builder)
    logs = builder.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/orders")
    logs.create_log_stream(logGroupName="/aws/lambda/orders", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/aws/lambda/orders",
        logStreamName="s",
        logEvents=[{"timestamp": now - 1000, "message": "START RequestId: 1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6"}],
    )
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/opsbot/slack-bot-token", Value="xoxb-standin", Type="SecureString")
    ssm.put_parameter(Name="/opsbot/slack-signing-secret", Value=SIGNING_SECRET, Type="SecureString")
    recording = RecordingAws()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: recording)
    lambda_handler.forget_container()
    with SlackStandIn() as slack:
        for name, value in {
            "OPSBOT_STATE": create_state_table("opsbot-bot-state"),
            "OPSBOT_SLACK_TOKEN_PARAMETER": "/opsbot/slack-bot-token",
            "OPSBOT_SLACK_SIGNING_SECRET_PARAMETER": "/opsbot/slack-signing-secret",
            "OPSBOT_ADMINS": "UADMIN1",
            "OPSBOT_PUBLIC_URL": "https://api.example.com",
            "SLACK_API_URL": slack.api_url,
            "OPSBOT_DELIVERY_QUEUE_URL": create_delivery_queue(),
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            monkeypatch.delenv(name, raising=False)
        sender = RecordingAws()
        try:
            with delivery_sender(sender):  # the replies reach Slack through it
                run_the_bot(LambdaService(recording), slack)
        finally:
            lambda_handler.forget_container()

    assert sender.called <= sender_actions(), sorted(sender.called - sender_actions())
    assert recording.called <= actions(), sorted(recording.called - actions())
    # Granted only for a customer managed key; s3:GetObject only when SSH is configured (a test of its own);
    # sts only for TargetRoleArns (other accounts; no settings file here).
    assert actions() - recording.called == {
        "kms:Decrypt",
        "s3:GetObject",
        "sts:AssumeRole",
        "sts:SetSourceIdentity",
        "sts:TagSession",
    }


def run_the_bot(service: LambdaService, slack: SlackStandIn) -> None:
    """Every command, route and button the bot has, as Slack and a user's terminal would send them."""

    def command(text: str, user: str = "U0DEMO") -> dict[str, Any]:
        name, _, rest = text.partition(" ")
        url = slack.new_response_url()
        assert service.request(signed_event(slash_command_form(name, rest, url, user_id=user)))["statusCode"] == 200
        return slack.replies_to(url)[0]

    def get(path: str, token: str) -> int:
        status: int = service.request(api_event("GET", path, headers={"authorization": f"Bearer {token}"}))[
            "statusCode"
        ]
        return status

    found = re.search(r"opsbot_[\w-]+", json.dumps(command("/eb-ip token")))
    assert found, "no token in the reply"
    token = found.group()
    assert get("/eb/shop-prod/ip", token) == 200
    assert get("/eb/no-such-env/ip", token) == 404
    assert get("/asg/no-such-group/ip", token) == 404
    assert get("/region/us-east-1/eb/shop-prod/id/1", token) == 200
    assert service.request(api_event("GET", "/healthz"))["statusCode"] == 200
    assert "shop-prod" in json.dumps(command("/eb-ip"))
    assert "Lambda code storage" in json.dumps(command("/lambda-capacity"))
    assert "orders-api" in json.dumps(command("/lambda-capacity prune orders-api", user="UADMIN1"))
    plan = command("/lambda-capacity prune", user="UADMIN1")
    (buttons,) = [b for b in plan["blocks"] if b["type"] == "actions"]
    url = slack.new_response_url()
    press = button_press_form(ACTION_DELETE, buttons["elements"][0]["value"], url, user_id="UADMIN1")
    assert service.request(signed_event(press))["statusCode"] == 200
    assert slack.replies_to(url)[0]["text"].startswith("Pruned us-east-1: deleted 12 of 12 versions")
    command("/eb-ip revoke me")
    assert get("/eb/shop-prod/ip", token) == 401
    assert "invocation" in command("/tail orders")["text"]
    # A follow runs in the lazy invocation (10 s here) and posts its first message to the channel.
    follow = slash_command_form("/tail", "orders --follow 10s", slack.new_response_url())
    assert service.request(signed_event(follow))["statusCode"] == 200
    deadline = time.monotonic() + 30  # the delivery sender posts what the follow queued
    while not any("Stopped following" in json.dumps(m) for m in slack.messages("C0DEMO")):
        assert time.monotonic() < deadline, "the follow's last message never arrived"
        time.sleep(0.1)
