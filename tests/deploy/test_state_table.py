"""Every template's state table has DynamoDB's TTL on the attribute the store writes each record's expiry
to, as a number of epoch seconds; without it seen requests, queued posts and forwarded batches stay forever."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.aws import AwsClients
from bot.state import Store
from bot.state.dynamodb import TTL_ATTRIBUTE
from tests.deploy.test_templates import load_template

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def state_tables() -> list[tuple[str, dict[str, Any]]]:
    found = [
        (path.name, resource["Properties"])
        for path in sorted(DEPLOY.glob("*.yaml"))
        for resource in load_template(path)["Resources"].values()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]
    assert {name for name, _ in found} >= {"slack-bot.yaml", "capacity-monitor.yaml"}
    return found


@pytest.mark.parametrize(("template", "table"), state_tables())
def test_the_table_expires_records_on_the_attribute_the_store_writes(
    template: str, table: dict[str, Any], moto: str, aws_clients: AwsClients
) -> None:
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}, template
    dynamodb = boto3.client("dynamodb")
    name = "opsbot-ttl"
    dynamodb.create_table(
        TableName=name,
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode=table["BillingMode"],
    )
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["TimeToLiveSpecification"])
    assert dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"

    store = Store.open(f"dynamodb://{name}", aws_clients)
    expires_at = time.time() + 600
    assert store.add("slack-seen", "request", True, expires_at=expires_at)
    store.put("outbox", "message", {"text": "hi"}, expires_at=expires_at)
    assert store.claim("outbox", "message", {"text": "hi"}, {"text": "hi", "lease": 1})
    for item in dynamodb.scan(TableName=name)["Items"]:
        # A Number of epoch seconds: DynamoDB's TTL skips an item whose attribute is any other type.
        assert float(item[TTL_ATTRIBUTE]["N"]) == pytest.approx(expires_at), item["pk"]
