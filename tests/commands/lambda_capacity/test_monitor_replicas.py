"""Two monitor runs that see the same crossing alert once: the alert state is compare-and-set on the
state as read. Replica A reads its alert state from DynamoDB (moto); right after that read, before A
writes, replica B runs a whole check (a botocore hook on A's own client)."""

from __future__ import annotations

from typing import Any

from bot.aws import AwsClients
from bot.state import Store
from commands.lambda_capacity.monitor import STATE_NAMESPACE, check_reading
from commands.lambda_capacity.options import MonitorConfig
from tests.bot.state.test_store import TABLE, create_table
from tests.commands.lambda_capacity.test_monitor import REGION, T0, Posted, reading


def test_two_runs_that_read_the_same_state_alert_on_a_crossing_once(moto: str, aws_clients: AwsClients) -> None:
    aws = aws_clients
    create_table(aws)
    config = MonitorConfig(threshold_percent=80, alert_channel="CALERTS")
    post = Posted()
    replica_b = Store.open(f"dynamodb://{TABLE}", aws)
    check_reading(aws, replica_b, config, reading(70), post)  # below the threshold: the state says so

    aws_a = AwsClients()
    interleaved: list[int] = []

    def replica_b_runs(**_: Any) -> None:
        if not interleaved:
            interleaved.append(1)
            check_reading(aws, replica_b, config, reading(85, T0 + 300), post)

    aws_a.client("dynamodb").meta.events.register("after-call.dynamodb.GetItem", replica_b_runs)
    replica_a = Store.open(f"dynamodb://{TABLE}", aws_a)
    checked = check_reading(aws, replica_a, config, reading(86, T0 + 300), post)

    assert interleaved, "replica B ran between A's read and A's write"
    assert not checked.alerted
    texts = [text for _, text, _ in post.messages]
    assert len(texts) == 1, "one alert, from the run whose write won"
    assert texts[0].startswith(":warning: Lambda code storage in us-east-1 is at 85.0%")
    assert replica_a.get(STATE_NAMESPACE, REGION).value["alerting"] is True  # type: ignore[union-attr]
