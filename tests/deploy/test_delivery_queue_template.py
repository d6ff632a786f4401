"""deploy/slack-bot.yaml's delivery queue: a FIFO queue every posting function sends to, a sender
function of set concurrency draining it with partial batch failures, a dead-letter queue, and SQS
permissions scoped to those queues."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import boto3

from bot import lambda_handler
from tests.deploy.test_templates import load_template, policy_statements, variables_the_bot_reads

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "slack-bot.yaml"
POSTING = ("SlackBotFunction", "ScoresPollerFunction", "LogForwarderFunction")


def resources() -> dict[str, Any]:
    found: dict[str, Any] = load_template(TEMPLATE)["Resources"]
    return found


def sqs_statements(function: str) -> list[dict[str, Any]]:
    statements = policy_statements(resources()[function]["Properties"])
    return [s for s in statements if any(a.startswith("sqs:") for a in _listed(s))]


def _listed(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_the_queue_is_fifo_with_a_fifo_dead_letter_queue_and_a_lease_of_six_sender_timeouts() -> None:
    queue, dead = resources()["DeliveryQueue"]["Properties"], resources()["DeliveryDeadLetters"]["Properties"]
    assert queue["FifoQueue"] is True and dead["FifoQueue"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeliveryDeadLetters", "Arn"]}
    sender = resources()["DeliverySenderFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * sender["Timeout"]


def test_the_sender_drains_the_queue_in_batches_reporting_failed_items_at_a_set_concurrency() -> None:
    sender = resources()["DeliverySenderFunction"]["Properties"]
    module_name, _, name = sender["Handler"].rpartition(".")
    assert getattr(importlib.import_module(module_name), name) is lambda_handler.delivery_handler
    mapping = resources()["DeliverySenderFromQueue"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "DeliverySenderFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == sender["ReservedConcurrentExecutions"]
    assert sender["ReservedConcurrentExecutions"] == {"Ref": "DeliverySenders"}
    variables = sender["Environment"]["Variables"]
    assert set(variables) <= variables_the_bot_reads()
    assert variables["OPSBOT_DELIVERY_QUEUE_URL"] == {"Ref": "DeliveryQueue"}
    assert variables["OPSBOT_DELIVERY_DEAD_LETTER_URL"] == {"Ref": "DeliveryDeadLetters"}


def test_every_posting_function_queues_and_may_only_send_to_the_queue() -> None:
    for function in POSTING:
        props = resources()[function]["Properties"]
        assert props["Environment"]["Variables"]["OPSBOT_DELIVERY_QUEUE_URL"] == {"Ref": "DeliveryQueue"}, function
        (statement,) = sqs_statements(function)
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}


def test_the_senders_sqs_actions_are_real_and_scoped_to_the_two_queues() -> None:
    operations = boto3.client("sqs", region_name="us-east-1").meta.service_model.operation_names
    queues = [{"Fn::GetAtt": ["DeliveryQueue", "Arn"]}, {"Fn::GetAtt": ["DeliveryDeadLetters", "Arn"]}]
    for statement in sqs_statements("DeliverySenderFunction"):
        assert statement["Resource"] in queues
        assert all(action.removeprefix("sqs:") in operations for action in _listed(statement))
    (dead,) = [s for s in sqs_statements("DeliverySenderFunction") if s["Resource"] == queues[1]]
    assert _listed(dead) == ["sqs:SendMessage"]
