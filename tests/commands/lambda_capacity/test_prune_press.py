"""At press time the references are read again: what became referenced since the plan is kept, and what
cannot be read is not deleted; the reply says why, version by version."""

from __future__ import annotations

import dataclasses

import pytest
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.command import CommandContext, run_button, run_command
from bot.local.seeds_capacity import demo_account
from bot.settings import Settings
from bot.state import Store
from commands.lambda_capacity import COMMAND
from commands.lambda_capacity.render import ACTION_DELETE
from tests.commands.lambda_capacity.test_monitor_regions import aws_answers
from tests.commands.lambda_capacity.test_prune_command import plan_of, published


@pytest.fixture
def admin(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> CommandContext:
    settings = dataclasses.replace(
        settings, admins=frozenset({"UADMIN1"}), command_options={"lambda-capacity": {"rate_per_second": 1000}}
    )
    return CommandContext(settings, aws_clients, store, user_id="UADMIN1", channel_id="CCHAN01")


@pytest.fixture
def builder(moto: str) -> AwsClients:
    return AwsClients()  # its own clients: no pacing, no stubs


def plan(admin: CommandContext, builder: AwsClients) -> str:
    demo_account(builder).function("orders", [1000 + i for i in range(4)])  # keep 2: versions 1 and 2 planned
    return plan_of(run_command(COMMAND, "prune --keep 2", admin))[0]


def test_a_version_mapped_since_the_plan_is_kept(admin: CommandContext, builder: AwsClients) -> None:
    planned = plan(admin, builder)
    sqs = builder.client("sqs")
    queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    v1 = builder.client("lambda").get_function(FunctionName="orders", Qualifier="1")["Configuration"]["FunctionArn"]
    builder.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=v1)

    reply = run_button(COMMAND, ACTION_DELETE, planned, admin)

    assert published(builder, "orders") == ["1", "3", "4"]
    assert reply.text.endswith("Skipped: orders:1 (now used by an event source mapping)"), reply.text


@pytest.mark.parametrize(
    ("operation", "code", "why"),
    [
        ("list_event_source_mappings", "AccessDeniedException",
         "Access denied: the bot's AWS role lacks the IAM permission lambda:ListEventSourceMappings."),
        ("list_aliases", "TooManyRequestsException", "AWS is throttling lambda:ListAliases; try again in a minute."),
    ],
)  # fmt: skip
def test_references_unreadable_at_press_time_keep_every_version(
    admin: CommandContext, builder: AwsClients, operation: str, code: str, why: str
) -> None:
    planned = plan(admin, builder)
    with Stubber(admin.aws.client("lambda")) as stub:  # the shared client the press uses
        if operation == "list_aliases":
            stub.add_response("list_event_source_mappings", {"EventSourceMappings": []})
        stub.add_client_error(operation, service_error_code=code, service_message="no")
        reply = run_button(COMMAND, ACTION_DELETE, planned, admin)

    assert published(builder, "orders") == ["1", "2", "3", "4"]
    assert reply.text.endswith(
        f"Skipped: orders:2 (references unreadable: {why}); orders:1 (references unreadable: {why})"
    )
    assert "deleted 0 of 2 versions" in reply.text


def test_a_version_aws_refuses_to_delete_is_reported_failed_and_the_others_are_deleted(
    admin: CommandContext, builder: AwsClients
) -> None:
    demo_account(builder).function("orders", [1000 + i for i in range(6)])  # keep 2: versions 1 to 4 planned
    planned = plan_of(run_command(COMMAND, "prune --keep 2", admin))[0]
    denied = {
        "Error": {
            "Code": "AccessDeniedException",
            "Message": "User: arn:aws:sts::123456789012:assumed-role/opsbot/x is not authorized",
        }
    }

    # moto enforces IAM for Lambda only on the resource "*", so it cannot deny one version: AWS's refusal
    # of version 3 is answered on the shared client the press uses; the other deletions reach moto.
    with aws_answers(
        admin.aws.client("lambda"), "DeleteFunction", denied, 403,
        only=lambda request: request["query_string"].get("Qualifier") == "3",
    ) as refused:  # fmt: skip
        reply = run_button(COMMAND, ACTION_DELETE, planned, admin)

    assert len(refused) == 1
    assert published(builder, "orders") == ["3", "5", "6"]
    why = "Access denied: the bot's AWS role lacks the IAM permission lambda:DeleteFunction."
    assert reply.text.startswith("Pruned us-east-1: deleted 3 of 4 versions"), reply.text
    assert reply.text.endswith(f" Failed: orders:3 ({why})"), reply.text
    assert ":warning: 1 deletion failed; those versions are still there." in str(reply.blocks)
    (entry,) = admin.store.audit_log("lambda-capacity.delete-failed")
    assert entry.user_id == "UADMIN1"
    assert entry.detail == {"function": "orders", "version": "3", "plan": planned, "reason": why}
    deleted = admin.store.audit_log("lambda-capacity.delete")
    assert sorted(e.detail["version"] for e in deleted) == ["1", "2", "4"]
