"""AWS errors become one clear sentence; clients are built once and shared."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import NoRegionError
from botocore.stub import Stubber

from bot.aws import AwsClients, describe_aws_error


def _error_of(client: object, operation: str, code: str, message: str = "", **params: Any) -> Exception:
    with Stubber(client) as stub:
        stub.add_client_error(operation, service_error_code=code, service_message=message)
        with pytest.raises(Exception) as caught:
            getattr(client, operation)(**params)
    return caught.value


def test_access_denied_names_the_missing_iam_action() -> None:
    ec2 = AwsClients().client("ec2", "us-east-1")
    exc = _error_of(ec2, "describe_instances", "UnauthorizedOperation", "You are not authorized.")
    assert describe_aws_error(exc) == (
        "Access denied: the bot's AWS role lacks the IAM permission ec2:DescribeInstances."
    )


def test_access_denied_prefers_the_action_aws_names() -> None:
    lam = AwsClients().client("lambda", "us-east-1")
    message = "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: lambda:ListFunctions on resource"
    exc = _error_of(lam, "list_functions", "AccessDeniedException", message)
    assert "lambda:ListFunctions" in describe_aws_error(exc)


def test_an_operation_several_services_share_is_named_with_the_service_that_refused_it() -> None:
    clients = AwsClients()  # TagResource is DynamoDB's and Lambda's, whichever client was built first
    dynamodb, lam = clients.client("dynamodb", "us-east-1"), clients.client("lambda", "us-east-1")
    lambda_tags = {"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Tags": {"team": "ops"}}
    dynamodb_tags = {
        "ResourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
        "Tags": [{"Key": "team", "Value": "ops"}],
    }
    for client, service, params in ((lam, "lambda", lambda_tags), (dynamodb, "dynamodb", dynamodb_tags)):
        exc = _error_of(client, "tag_resource", "AccessDeniedException", "Access denied", **params)
        assert (
            describe_aws_error(exc)
            == f"Access denied: the bot's AWS role lacks the IAM permission {service}:TagResource."
        )


def test_throttling_is_one_sentence() -> None:
    lam = AwsClients().client("lambda", "us-east-1")
    exc = _error_of(lam, "get_account_settings", "TooManyRequestsException", "Rate exceeded")
    assert describe_aws_error(exc) == "AWS is throttling lambda:GetAccountSettings; try again in a minute."


def test_other_client_errors_keep_aws_message() -> None:
    eb = AwsClients().client("elasticbeanstalk", "us-east-1")
    exc = _error_of(eb, "describe_environments", "InvalidParameterValue", "Bad name")
    assert describe_aws_error(exc) == "AWS refused elasticbeanstalk:DescribeEnvironments: Bad name"


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    ec2 = AwsClients(boto3.session.Session(region_name="us-east-1")).client("ec2")
    with pytest.raises(Exception) as caught:
        ec2.describe_instances()
    assert describe_aws_error(caught.value).startswith("AWS credentials are missing")


def test_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(NoRegionError) as caught:
        AwsClients(boto3.session.Session()).client("ec2")
    assert "AWS_DEFAULT_REGION" in describe_aws_error(caught.value)


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    clients = AwsClients(config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1))
    with pytest.raises(Exception) as caught:
        clients.client("ec2", "us-east-1").describe_instances()
    assert describe_aws_error(caught.value).startswith("Could not reach the AWS endpoint http://127.0.0.1:9")


def test_clients_are_built_once_per_service_and_region_even_under_contention() -> None:
    clients = AwsClients()
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(clients.client("sts", "eu-west-1"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in seen}) == 1
    assert clients.client("sts", "us-east-1") is not seen[0]
    assert seen[0].meta.config.retries["mode"] == "adaptive"  # type: ignore[attr-defined]
