"""`opsbot logs subscribe|unsubscribe` on moto: permission then filter, twice is fine, the limit checked first."""

from __future__ import annotations

import json

import pytest

from bot.aws import AwsClients
from bot.cli import main
from bot.local.seeds_capacity import demo_account, deployment_package
from commands.tail.subscribe import FILTER_NAME

GROUP = "/aws/lambda/orders"


@pytest.fixture
def forwarder(moto: str, aws_clients: AwsClients) -> str:
    account = demo_account(aws_clients)
    reply = aws_clients.client("lambda").create_function(
        FunctionName="opsbot-logs",
        Runtime="python3.12",
        Role=account.role_arn,
        Handler="bot.lambda_handler.logs_handler",
        Code={"ZipFile": deployment_package(100, seed=1)},
    )
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    return str(reply["FunctionArn"])


def cli(*args: str) -> int:
    return main(["logs", *args])


def policy(aws: AwsClients, arn: str) -> list[dict[str, object]]:
    return list(json.loads(aws.client("lambda").get_policy(FunctionName=arn)["Policy"])["Statement"])


def test_subscribe_grants_then_subscribes_and_is_safe_twice(
    forwarder: str, aws_clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        assert cli("subscribe", "--log-group", GROUP, "--destination-arn", forwarder, "--filter", "ERROR") == 0

    (statement,) = policy(aws_clients, forwarder)
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    (found,) = aws_clients.client("logs").describe_subscription_filters(logGroupName=GROUP)["subscriptionFilters"]
    assert (found["filterName"], found["destinationArn"], found["filterPattern"]) == (FILTER_NAME, forwarder, "ERROR")
    assert "already there" in capsys.readouterr().out


def test_a_group_with_two_other_filters_is_refused_before_anything_changes(
    forwarder: str, aws_clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = aws_clients.client("logs")
    for name in ("team-a", "team-b"):
        logs.put_subscription_filter(logGroupName=GROUP, filterName=name, filterPattern="", destinationArn=forwarder)

    assert cli("subscribe", "--log-group", GROUP, "--destination-arn", forwarder) == 2

    assert "already has 2 subscription filters (team-a, team-b)" in capsys.readouterr().err
    with pytest.raises(aws_clients.client("lambda").exceptions.ResourceNotFoundException):
        policy(aws_clients, forwarder)  # no permission was added


def test_unsubscribe_undoes_both_and_twice_is_fine(forwarder: str, aws_clients: AwsClients) -> None:
    assert cli("subscribe", "--log-group", GROUP, "--destination-arn", forwarder) == 0

    assert cli("unsubscribe", "--log-group", GROUP, "--destination-arn", forwarder) == 0
    assert cli("unsubscribe", "--log-group", GROUP, "--destination-arn", forwarder) == 0

    assert aws_clients.client("logs").describe_subscription_filters(logGroupName=GROUP)["subscriptionFilters"] == []


def test_an_unknown_group_is_one_line(forwarder: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("subscribe", "--log-group", "/aws/lambda/nope", "--destination-arn", forwarder) == 2
    assert capsys.readouterr().err == "opsbot: there is no log group '/aws/lambda/nope' in us-east-1\n"
