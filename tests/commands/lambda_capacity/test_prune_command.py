"""/lambda-capacity prune as a user sees it: the plan, then its button with confirmation, authorization,
re-validation and partial failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext, run_button, run_command
from bot.local.seeds_capacity import DemoAccount, seed_demo_functions
from bot.reply import Reply
from commands.lambda_capacity import COMMAND
from commands.lambda_capacity.render import ACTION_CANCEL, ACTION_DELETE
from commands.lambda_capacity.storage import human_bytes
from tests.commands.lambda_capacity.test_command import as_user, sections, table_rows


def published(builder_aws: AwsClients, function: str) -> list[str]:
    versions = builder_aws.client("lambda").list_versions_by_function(FunctionName=function)["Versions"]
    return sorted((v["Version"] for v in versions if v["Version"] != "$LATEST"), key=int)


def plan_of(reply: Reply) -> tuple[str, dict[str, Any], dict[str, Any]]:
    (actions,) = [b for b in reply.blocks if b["type"] == "actions"]
    delete, cancel = actions["elements"]
    return delete["value"], delete, cancel


def test_only_admins_may_ask_for_a_prune(ctx: CommandContext, account: DemoAccount) -> None:
    account.function("old", [100] * 6)
    reply = run_command(COMMAND, "prune", ctx)
    assert not reply.ok
    assert (
        reply.text
        == "Only opsbot admins may use `/lambda-capacity prune` (policy rule `OPSBOT_ADMINS`); ask one of them."
    )
    assert ctx.store.audit_log("lambda-capacity.plan") == []


def test_the_plan_keeps_the_newest_the_aliased_the_mapped_and_latest(
    ctx: CommandContext, builder_aws: AwsClients
) -> None:
    seed_demo_functions(builder_aws)
    reply = run_command(COMMAND, "prune", as_user(ctx, "UADMIN1"))

    plan_id, delete, cancel = plan_of(reply)
    deleted = {name: cells[0] for name, cells in table_rows(reply).items()}
    assert deleted["orders-api"] == "versions 1, 2, 3"  # 4 is live, 5 its canary, 6-8 the newest
    assert deleted["image-resizer"] == "version 1"  # 2 is what the SQS mapping invokes
    assert deleted["nightly-report"] == "versions 1, 2, 3, 4, 5, 6, 7, 9"  # 8 is prod, 10-12 the newest
    assert "\nnightly-report  versions 1, 2, 3, 4, 5, 6, 7, 9  1.2 MiB\n" in reply.text  # and so does the text
    assert "Delete *12 versions* of 3 functions in us-east-1" in sections(reply)
    assert delete["action_id"] == ACTION_DELETE and delete["style"] == "danger"
    assert delete["text"]["text"].startswith("Delete 12 versions (")
    assert delete["confirm"]["confirm"]["text"] == "Delete" and delete["confirm"]["style"] == "danger"
    assert cancel["action_id"] == ACTION_CANCEL and cancel["value"] == plan_id
    assert ctx.store.get("lambda-capacity-plan", plan_id) is not None


def test_nothing_to_prune_offers_no_button(ctx: CommandContext, account: DemoAccount) -> None:
    account.function("young", [100, 100])
    reply = run_command(COMMAND, "prune", as_user(ctx, "UADMIN1"))
    assert reply.text == "Nothing to prune in us-east-1: no unreferenced versions beyond the newest 3."
    assert not any(b["type"] == "actions" for b in reply.blocks)


def test_a_plan_for_one_function_reads_only_that_function(ctx: CommandContext, account: DemoAccount) -> None:
    account.function("a", [100] * 4)
    account.function("b", [100] * 4)
    reply = run_command(COMMAND, "prune b --keep 2", as_user(ctx, "UADMIN1"))
    assert "Delete *2 versions* of `b` in us-east-1" in sections(reply)
    unknown = run_command(COMMAND, "prune nope", as_user(ctx, "UADMIN1"))
    assert unknown.text == "There is no function nope in us-east-1."


def test_a_plan_for_a_function_named_by_arn_still_keeps_its_mapped_version(
    ctx: CommandContext, builder_aws: AwsClients
) -> None:
    seed_demo_functions(builder_aws)  # image-resizer:2 is what an SQS mapping invokes
    arn = builder_aws.client("lambda").get_function(FunctionName="image-resizer")["Configuration"]["FunctionArn"]
    reply = run_command(COMMAND, f"prune {arn} --keep 1", as_user(ctx, "UADMIN1"))
    assert table_rows(reply)["image-resizer"][0] == "versions 1, 3, 4"


@pytest.fixture
def planned(ctx: CommandContext, account: DemoAccount) -> Iterator[str]:
    """orders (6 versions) and jobs (5 versions) with a plan by UADMIN1 to keep 2 of each."""
    account.function("orders", [1000 + i for i in range(6)])
    account.function("jobs", [2000 + i for i in range(5)])
    reply = run_command(COMMAND, "prune --keep 2", as_user(ctx, "UADMIN1"))
    yield plan_of(reply)[0]


def test_another_admin_confirms_and_sees_what_was_freed(
    ctx: CommandContext, planned: str, builder_aws: AwsClients
) -> None:
    reply = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN2"))

    audit = ctx.store.audit_log("lambda-capacity.delete")
    freed = human_bytes(sum(e.detail["bytes"] for e in audit))
    assert reply.replace_original and reply.ok
    assert reply.text == (
        f"Pruned us-east-1: deleted 7 of 7 versions, freed {freed}. Approved by <@UADMIN2>, requested by <@UADMIN1>."
    )
    assert published(builder_aws, "orders") == ["5", "6"]
    assert published(builder_aws, "jobs") == ["4", "5"]
    assert len(audit) == 7 and {e.user_id for e in audit} == {"UADMIN2"}
    assert {e.detail["plan"] for e in audit} == {planned}
    assert {(e.detail["function"], e.detail["version"]) for e in audit} == {
        *(("orders", str(v)) for v in range(1, 5)),
        *(("jobs", str(v)) for v in range(1, 4)),
    }


def test_a_non_admin_press_is_refused_and_leaves_the_plan_usable(
    ctx: CommandContext, planned: str, builder_aws: AwsClients
) -> None:
    refused = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UUSER01"))
    assert not refused.ok and not refused.replace_original
    assert refused.text.startswith("Only opsbot admins may use `/lambda-capacity prune`")
    assert published(builder_aws, "orders") == ["1", "2", "3", "4", "5", "6"]
    assert run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN1")).ok


def test_a_double_press_deletes_once(ctx: CommandContext, planned: str) -> None:
    admin = as_user(ctx, "UADMIN1")
    replies: list[Reply] = []

    def press() -> None:
        replies.append(run_button(COMMAND, ACTION_DELETE, planned, admin))

    presses = [threading.Thread(target=press) for _ in range(2)]  # two workers, the same moment
    for t in presses:
        t.start()
    for t in presses:
        t.join()
    done = [r for r in replies if r.replace_original]
    again = [r for r in replies if not r.replace_original]
    assert len(done) == 1 and len(again) == 1
    assert again[0].text == "This prune plan was already carried out by <@UADMIN1>; nothing more was done."
    assert not again[0].public
    assert len(ctx.store.audit_log("lambda-capacity.delete")) == 7


def test_an_expired_plan_deletes_nothing(ctx: CommandContext, planned: str, builder_aws: AwsClients) -> None:
    reply = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN1", timedelta(minutes=16)))
    assert reply.replace_original
    assert reply.text.startswith("This prune plan expired (15 minutes); nothing was deleted.")
    assert published(builder_aws, "orders") == ["1", "2", "3", "4", "5", "6"]


def test_a_version_aliased_since_the_plan_is_skipped(ctx: CommandContext, planned: str, account: DemoAccount) -> None:
    account.lam.create_alias(
        FunctionName="orders", Name="blue", FunctionVersion="6", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}
    )
    reply = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN1"))
    assert reply.text.startswith("Pruned us-east-1: deleted 6 of 7 versions")
    assert "Skipped: orders:2 (now behind an alias)" in reply.text
    assert "skipped  orders:2  now behind an alias" in sections(reply)


def test_a_failure_halfway_is_reported_and_the_others_are_deleted(
    ctx: CommandContext, planned: str, account: DemoAccount, builder_aws: AwsClients
) -> None:
    account.lam.delete_function(FunctionName="jobs", Qualifier="2")  # someone else got there first
    reply = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN1"))

    assert not reply.ok and reply.replace_original
    assert reply.text.startswith("Pruned us-east-1: deleted 6 of 7 versions")
    assert "Failed: jobs:2 (AWS refused lambda:DeleteFunction: Function not found: " in reply.text
    assert ":warning: 1 deletion failed; those versions are still there." in sections(reply)
    assert published(builder_aws, "jobs") == ["4", "5"]
    assert published(builder_aws, "orders") == ["5", "6"]
    (failure,) = ctx.store.audit_log("lambda-capacity.delete-failed")
    assert failure.detail["version"] == "2" and failure.user_id == "UADMIN1"


def test_cancel_deletes_nothing_and_uses_up_the_plan(ctx: CommandContext, planned: str) -> None:
    cancelled = run_button(COMMAND, ACTION_CANCEL, planned, as_user(ctx, "UADMIN2"))
    assert cancelled.replace_original
    assert cancelled.text == "Prune plan cancelled by <@UADMIN2>; nothing was deleted."
    later = run_button(COMMAND, ACTION_DELETE, planned, as_user(ctx, "UADMIN1"))
    assert later.text == "This prune plan was already cancelled by <@UADMIN2>; nothing more was done."


def test_an_unknown_plan_is_explained(ctx: CommandContext) -> None:
    reply = run_button(COMMAND, ACTION_DELETE, "no-such-plan", as_user(ctx, "UADMIN1"))
    assert reply.text == "This prune plan is unknown to the bot; run `/lambda-capacity prune` again."
