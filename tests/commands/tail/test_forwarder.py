"""The forwarder through `bot.lambda_handler.logs_handler`, with real gzip+base64 payloads and the
Slack stand-in over HTTP: formatted as /tail does, every batch once across CloudWatch's retries."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from bot import lambda_handler
from bot.local.slack_standin import SlackStandIn
from bot.local.sqs_poller import poll_once
from commands.tail.forwarder import NotDelivered
from tests.commands.tail.conftest import sample_rows

CHANNEL = "C0LOGS1234"
CONTEXT = SimpleNamespace(function_name="opsbot-logs")


def payload(group: str, rows: list[dict[str, Any]], message_type: str = "DATA_MESSAGE") -> dict[str, Any]:
    body = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": rows[0]["stream"] if rows else "s",
        "subscriptionFilters": ["opsbot"],
        "logEvents": [
            {"id": f"{3700000000 + i:056d}", "timestamp": r["timestamp"], "message": r["message"]}
            for i, r in enumerate(rows)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: str) -> Iterator[SlackStandIn]:
    config = tmp_path / "opsbot.toml"
    config.write_text(
        "[commands.tail]\n"
        f'[[commands.tail.routes]]\nlog_group = "/aws/lambda/orders"\nchannel = "{CHANNEL}"\n'
        f'[[commands.tail.routes]]\nlog_group_prefix = "/aws/lambda/quiet-"\nchannel = "{CHANNEL}"\n'
        'min_level = "ERROR"\n'
    )
    with SlackStandIn() as standin:
        monkeypatch.setenv("SLACK_BOT_TOKEN", standin.bot_token)
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "state.db"))
        monkeypatch.setenv("OPSBOT_CONFIG", str(config))
        monkeypatch.setenv("OPSBOT_DELIVERY_WAIT_SECONDS", "2")
        monkeypatch.setenv("OPSBOT_DELIVERY_RETRY_SECONDS", "0.2")
        lambda_handler.forget_container()
        yield standin
        lambda_handler.forget_container()


def posted_text(standin: SlackStandIn) -> list[str]:
    return [json.dumps([m.get("blocks", []), m.get("attachments", [])]) for m in standin.messages(CHANNEL)]


def test_a_batch_is_posted_grouped_per_invocation(standin: SlackStandIn) -> None:
    result = lambda_handler.logs_handler(payload("/aws/lambda/orders", sample_rows("classic_python.jsonl")), CONTEXT)  # type: ignore[attr-defined]

    assert result["status"] == "posted" and result["channel"] == CHANNEL
    (message,) = posted_text(standin)
    assert "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6" in message and "cold start, init 234.56 ms" in message
    assert ":red_circle:" in message and "*timeout*" in message
    assert "REPORT RequestId" not in message  # read, not pasted


def test_a_control_message_posts_nothing(standin: SlackStandIn) -> None:
    event = payload("/aws/lambda/orders", [], message_type="CONTROL_MESSAGE")

    assert lambda_handler.logs_handler(event, CONTEXT)["status"] == "control"  # type: ignore[attr-defined]
    assert standin.messages(CHANNEL) == []


@pytest.mark.parametrize(
    "event",
    [{}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": base64.b64encode(b"plain").decode()}}],
)
def test_a_malformed_payload_is_counted_and_never_crashes(
    standin: SlackStandIn, event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    first = lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]
    lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]

    assert first["status"] == "malformed"
    assert "2 so far" in caplog.text
    assert standin.messages(CHANNEL) == []


def test_min_level_keeps_only_failed_or_loud_invocations(standin: SlackStandIn) -> None:
    lambda_handler.logs_handler(payload("/aws/lambda/quiet-orders", sample_rows("classic_python.jsonl")), CONTEXT)  # type: ignore[attr-defined]

    (message,) = posted_text(standin)
    assert "1f0a2b3c-0002" in message  # the error
    assert "1f0a2b3c-0001" not in message  # ok and quiet


def test_slack_refusing_then_accepting_delivers_every_line_once(standin: SlackStandIn) -> None:
    event = payload("/aws/lambda/orders", sample_rows("classic_node.jsonl"))
    standin.outage("chat.postMessage")

    first = lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]
    assert first["status"] == "posted"  # queued durably: the outbox, not CloudWatch, retries Slack
    assert standin.calls_to("chat.postMessage") and standin.messages(CHANNEL) == []
    standin.heal()

    lambda_handler.forget_container()  # CloudWatch's retry may land in another container
    again = lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]

    assert again["status"] == "duplicate"
    (message,) = posted_text(standin)
    assert message.count("6e1c9a1e-aaaa-4b6e-9e7d-0c1f2d3e4f50") == 1


def test_a_post_that_cannot_be_queued_raises_so_cloudwatch_retries(
    standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = payload("/aws/lambda/orders", sample_rows("classic_node.jsonl"))
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    lambda_handler.forget_container()
    with pytest.raises(NotDelivered):
        lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]

    monkeypatch.setenv("SLACK_BOT_TOKEN", standin.bot_token)
    lambda_handler.forget_container()
    assert lambda_handler.logs_handler(event, CONTEXT)["status"] == "posted"  # type: ignore[attr-defined]
    assert len(standin.messages(CHANNEL)) == 1


def test_a_group_without_a_route_is_logged_not_posted(standin: SlackStandIn) -> None:
    event = payload("/aws/lambda/other", sample_rows("classic_node.jsonl"))

    assert lambda_handler.logs_handler(event, CONTEXT)["status"] == "unrouted"  # type: ignore[attr-defined]
    assert standin.messages(CHANNEL) == []


def test_with_a_delivery_queue_the_post_goes_through_sqs_to_the_sender_function(
    standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="opsbot-delivery.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setenv("OPSBOT_DELIVERY_QUEUE_URL", url)
    lambda_handler.forget_container()
    event = payload("/aws/lambda/orders", sample_rows("classic_python.jsonl"))

    assert lambda_handler.logs_handler(event, CONTEXT)["status"] == "posted"  # type: ignore[attr-defined]
    assert standin.calls_to("chat.postMessage") == [], "queued in SQS; the sender function posts it"
    sender = SimpleNamespace(get_remaining_time_in_millis=lambda: 60_000)
    assert poll_once(sqs, url, lambda e, _: lambda_handler.delivery_handler(e, sender), 0) == 1

    (message,) = posted_text(standin)
    assert "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6" in message
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == [], "delivered, so deleted"
