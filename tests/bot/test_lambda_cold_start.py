"""The Lambda entry point under the events and failures a deployment meets: API Gateway REST (v1)
events with and without the stage in the path, SSM unreachable at a cold start (and the next
invocation recovering), and a feature variable with a bad value."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.slack_standin import SlackStandIn
from bot.settings import SettingsError
from tests.bot.test_lambda_handler import CONTEXT


def rest_event(method: str, path: str, stage: str = "prod") -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) event; `path` is what the API passes on."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {"stage": stage, "httpMethod": method, "path": f"/{stage}{path}"},
    }


@pytest.mark.parametrize("path", ["/eb/my-env/ip", "/prod/eb/my-env/ip"])  # the second: a custom domain's mapping
def test_rest_api_events_reach_the_routes_with_or_without_the_stage(lambda_env: SlackStandIn, path: str) -> None:
    response = lambda_handler.slack_handler(rest_event("GET", path), CONTEXT)
    assert (response["statusCode"], response["body"]) == (
        401,
        "missing or revoked token; get one with `/eb-ip token`\n",
    )


def test_rest_api_health_check_with_the_stage_in_the_path(lambda_env: SlackStandIn) -> None:
    response = lambda_handler.slack_handler(rest_event("GET", "/prod/healthz"), CONTEXT)
    assert (response["statusCode"], response["body"]) == (200, "ok\n")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ssm_unreachable_at_a_cold_start_is_a_one_line_503_and_the_next_invocation_recovers(
    lambda_env: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("OPSBOT_SLACK_TOKEN_PARAMETER", "/opsbot/slack-bot-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    unreachable = AwsClients()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: unreachable)

    response = lambda_handler.slack_handler(rest_event("GET", "/healthz"), CONTEXT)
    assert response["statusCode"] == 503
    assert response["body"].startswith("opsbot cannot start: Could not reach the AWS endpoint http://127.0.0.1:")
    assert response["body"].count("\n") == 1 and response["headers"]["Retry-After"] == "5"

    monkeypatch.delenv("AWS_ENDPOINT_URL_SSM")  # SSM is back
    boto3.client("ssm").put_parameter(Name="/opsbot/slack-bot-token", Value=lambda_env.bot_token, Type="SecureString")
    reachable = AwsClients()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: reachable)
    response = lambda_handler.slack_handler(rest_event("GET", "/eb/my-env/ip"), CONTEXT)
    assert response["statusCode"] == 401  # started: the route answers


def test_a_bad_feature_variable_names_itself_on_both_entry_points(
    lambda_env: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSBOT_CAPACITY_THRESHOLD_PERCENT", "eighty")
    response = lambda_handler.slack_handler(rest_event("GET", "/healthz"), CONTEXT)
    assert response == {
        "statusCode": 503,
        "headers": {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "5"},
        "body": "opsbot cannot start: OPSBOT_CAPACITY_THRESHOLD_PERCENT: expected a float, got 'eighty'\n",
        "isBase64Encoded": False,
    }
    with pytest.raises(SettingsError, match=r"^OPSBOT_CAPACITY_THRESHOLD_PERCENT: expected a float, got 'eighty'$"):
        lambda_handler.capacity_handler({}, CONTEXT)  # type: ignore[attr-defined]
