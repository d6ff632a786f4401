"""A follow's two sources over moto's CloudWatch Logs, sharing one `Delivered`: what one of them
showed, the other does not show again, whichever came first."""

from __future__ import annotations

import time

from bot.aws import AwsClients
from commands.tail.events import LogEvent
from commands.tail.query import find_log_group
from commands.tail.sources import Delivered, LiveTail, Polling
from tests.commands.tail.conftest import put_events

GROUP = "/aws/lambda/orders"


def rows(at_ms: int, *messages: str) -> list[dict[str, object]]:
    return [{"stream": "s", "timestamp": at_ms + i, "message": m} for i, m in enumerate(messages)]


def live_tail(aws: AwsClients, delivered: Delivered) -> list[LogEvent]:
    """Everything one Live Tail session brings (moto's answers one snapshot of the group, then ends)."""
    logs = aws.client("logs")
    session = LiveTail(logs, find_log_group(logs, GROUP, "us-east-1").arn, None, delivered)
    try:
        assert session.ended.wait(10)
        return session.take(0.0)
    finally:
        session.close()


def polled(aws: AwsClients, delivered: Delivered, start_ms: int) -> list[LogEvent]:
    return Polling(aws.client("logs"), GROUP, None, start_ms, 0.1, delivered).take(0.0)


def messages(events: list[LogEvent]) -> list[str]:
    return [event.message for event in events]


def test_what_live_tail_showed_is_not_polled_again(moto: str, aws_clients: AwsClients) -> None:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    at = int(time.time() * 1000) - 10_000
    put_events(aws_clients, GROUP, rows(at, "one", "two"))
    delivered = Delivered()

    assert messages(live_tail(aws_clients, delivered)) == ["one", "two"]
    # Live Tail ended early; the follow polls from the overlap before the newest line it showed.
    put_events(aws_clients, GROUP, rows(at + 2, "three"))

    assert messages(polled(aws_clients, delivered, at - 60_000)) == ["three"]


def test_what_a_poll_showed_is_not_shown_again_by_live_tail(moto: str, aws_clients: AwsClients) -> None:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    at = int(time.time() * 1000) - 10_000
    put_events(aws_clients, GROUP, rows(at, "one", "two"))
    delivered = Delivered()

    assert messages(polled(aws_clients, delivered, at - 60_000)) == ["one", "two"]
    put_events(aws_clients, GROUP, rows(at + 2, "three"))

    assert messages(live_tail(aws_clients, delivered)) == ["three"]
