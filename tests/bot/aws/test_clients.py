"""One client per service and region; an endpoint of one's own gets no host prefix."""

from __future__ import annotations

import boto3
import pytest

from bot.aws import AwsClients


def test_an_endpoint_url_of_ones_own_gets_no_host_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    clients = AwsClients(boto3.session.Session(region_name="eu-west-1"))

    logs = clients.client("logs")

    assert logs.meta.endpoint_url == "http://127.0.0.1:4566"
    assert logs.meta.config.inject_host_prefix is False
    assert logs.meta.config.retries["mode"] == "adaptive"  # the rest of the configuration stays
    assert clients.client("logs") is logs


def test_aws_own_endpoints_keep_their_host_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    logs = AwsClients(boto3.session.Session(region_name="eu-west-1")).client("logs")

    assert logs.meta.endpoint_url == "https://logs.eu-west-1.amazonaws.com"
    assert logs.meta.config.inject_host_prefix is True
