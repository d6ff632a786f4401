"""/lambda-capacity as a user sees it: the storage answer, its cache, and the prune flow with its
confirmation, authorization, re-validation and partial failures."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bench.capacity_scan import LambdaProxy
from bot.aws import AwsClients
from bot.command import CommandContext, UsageError, run_button, run_command
from bot.local.seeds_capacity import DemoAccount, demo_account, seed_demo_functions
from bot.reply import Reply
from bot.settings import Settings
from bot.state import Store
from commands.lambda_capacity import COMMAND
from commands.lambda_capacity.parse import CapacityRequest, PruneRequest, parse
from commands.lambda_capacity.render import ACTION_CANCEL, ACTION_DELETE
from commands.lambda_capacity.storage import human_bytes

REGION = "us-east-1"


@pytest.fixture(scope="module")
def builder_aws(moto_url: str) -> AwsClients:
    """Clients of their own for building the account, so the bot's pacing never slows set-up."""
    return AwsClients()


@pytest.fixture
def account(builder_aws: AwsClients, moto: str) -> DemoAccount:
    return demo_account(builder_aws)


@pytest.fixture
def ctx(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> CommandContext:
    settings = dataclasses.replace(
        settings,
        admins=frozenset({"UADMIN1", "UADMIN2"}),
        command_options={"lambda-capacity": {"rate_per_second": 1000}},
    )
    return CommandContext(settings, aws_clients, store, user_id="UUSER01", channel_id="CCHAN01")


def as_user(ctx: CommandContext, user: str, later: timedelta = timedelta()) -> CommandContext:
    start = ctx.now()
    return dataclasses.replace(ctx, user_id=user, clock=lambda: start + later)


def sections(reply: Reply) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in reply.blocks if b["type"] == "section")


def table_rows(reply: Reply) -> dict[str, list[str]]:
    """The message's one table, each row by its first cell."""
    (table,) = [b for b in reply.blocks if b["type"] == "table"]
    return {row[0]["text"]: [cell["text"] for cell in row[1:]] for row in table["rows"]}


def everything(reply: Reply) -> str:
    return str(reply.blocks) + reply.text


def published(builder_aws: AwsClients, function: str) -> list[str]:
    versions = builder_aws.client("lambda").list_versions_by_function(FunctionName=function)["Versions"]
    return sorted((v["Version"] for v in versions if v["Version"] != "$LATEST"), key=int)


# -- parse


def test_parse_defaults_and_flags() -> None:
    assert parse("") == CapacityRequest()
    assert parse("--region eu-west-1 --top 5 --refresh") == CapacityRequest("eu-west-1", False, 5, True)
    assert parse("--all-regions") == CapacityRequest(all_regions=True)
    assert parse("prune", default_keep=4) == PruneRequest(keep=4)
    assert parse("prune orders-api --keep 2 --region eu-west-1") == PruneRequest("eu-west-1", 2, "orders-api")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
    assert parse(f"prune {arn}") == PruneRequest("eu-west-1", 3, "orders-api")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--top 0", "`--top` takes a whole number from 1 to 100, not `0`."),
        ("--top 101", "`--top` takes a whole number from 1 to 100, not `101`."),
        ("--top", "`--top` needs a whole number from 1 to 100."),
        ("--region mars", "`--region` takes an AWS region such as eu-west-1, not `mars`."),
        ("--region eu-west-1 --all-regions", "Use either `--region` or `--all-regions`, not both."),
        ("orders-api", "`orders-api` was not expected: a function name goes after `prune`."),
        ("--keep 2", "`--keep` is not an option here."),
        ("prune --all-regions", "`--all-regions` is not an option here."),
        ("prune --keep 0", "`--keep` takes a whole number from 1 to 100, not `0`."),
        ("prune a b", "`b` was not expected: prune takes at most one function name."),
        ("prune a/b", "prune takes a Lambda function name or ARN, not `a/b`."),
        ("prune <!channel>", "prune takes a Lambda function name or ARN, not a word with U+003C LESS-THAN SIGN."),
        (
            "prune arn:aws:lambda:xx-moon-1:123456789012:function:f",
            "That ARN names no AWS region botocore knows: `xx-moon-1`.",
        ),
        (
            "prune arn:aws:lambda:eu-west-1:123456789012:function:f:7",
            "prune takes a function, not one of its versions or aliases.",
        ),
        (
            "prune arn:aws:lambda:eu-west-1:123456789012:function:f --region us-east-1",
            "That function is in eu-west-1, not us-east-1.",
        ),
    ],
)
def test_bad_requests_are_explained(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    assert str(err.value) == message


def test_a_usage_error_reaches_the_user_with_the_usage(ctx: CommandContext) -> None:
    reply = run_command(COMMAND, "--top 500", ctx)
    assert not reply.ok and not reply.public
    assert reply.text.startswith("`--top` takes a whole number from 1 to 100, not `500`.\nUsage: `/lambda-capacity ")


# -- the storage answer


def test_the_answer_shows_exact_totals_top_functions_and_why_the_quota_is_unknown(
    ctx: CommandContext, account: DemoAccount
) -> None:
    big = account.function("orders-api", [300_000, 310_000, 320_000])
    small = account.function("notifier", [5_000])
    layers = account.layer("deps", [100_000])
    progress: list[str] = []
    ctx.progress = progress.append

    reply = run_command(COMMAND, "--top 1", ctx)

    total = big + small + layers
    assert reply.ok and reply.public
    assert reply.text == f"Lambda code storage — us-east-1: {human_bytes(total)} listed · 2 functions"
    text = sections(reply)
    assert f"Functions: {human_bytes(big + small)} in 6 versions" in text
    assert f"Layers: {human_bytes(layers)} in 1 layer version" in text
    assert "*Top 1 functions by storage*" in text
    assert table_rows(reply) == {"Function": ["Storage", "Versions"], "orders-api": [human_bytes(big), "4"]}
    assert "does not implement GetAccountSettings (HTTP 404, as on moto)" in everything(reply)
    assert "Forecast: not enough history yet" in text
    assert progress[0] == "Scanned 6 versions (1 page)…"


class StubbedAws(AwsClients):
    def __init__(self, lam: Any) -> None:
        super().__init__(boto3.session.Session(region_name=REGION))
        self.lam = lam

    def client(self, service: str, region: str | None = None) -> Any:
        return self.lam


def test_with_get_account_settings_the_answer_shows_the_quota_percent_and_the_unexplained_rest(
    ctx: CommandContext,
) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:api"
    with Stubber(lam) as stub:
        stub.add_response(
            "get_account_settings",
            {
                "AccountLimit": {"TotalCodeSize": 75 * 2**30},
                "AccountUsage": {"TotalCodeSize": 60 * 2**30, "FunctionCount": 3},
            },
        )
        versions = [
            {"FunctionName": "api", "FunctionArn": f"{arn}:{v}", "Version": v, "CodeSize": 10 * 2**30}
            for v in ("$LATEST", "1")
        ]
        stub.add_response("list_functions", {"Functions": versions})
        stub.add_response("list_layers", {"Layers": []})
        stub.add_response("list_event_source_mappings", {"EventSourceMappings": []})
        ctx = dataclasses.replace(ctx, aws=StubbedAws(lam))
        reply = run_command(COMMAND, "", ctx)
    text = sections(reply)
    assert "*60.0 GiB of 75.0 GiB (80.0%)* · 3 functions" in text
    assert "Functions: 20.0 GiB in 2 versions" in text
    assert "Not in the listing: 40.0 GiB" in text
    assert "Nothing to prune" in text


def test_a_recent_answer_comes_from_the_cache_with_its_age_and_refresh_rescans(
    ctx: CommandContext, account: DemoAccount
) -> None:
    first = account.function("first", [1000])
    run_command(COMMAND, "", ctx)
    second = account.function("second", [2000])

    cached = run_command(COMMAND, "", as_user(ctx, "UUSER01", timedelta(minutes=3)))
    assert "as of 3 min ago" in sections(cached)
    assert human_bytes(first) + " listed" in cached.text

    refreshed = run_command(COMMAND, "--refresh", as_user(ctx, "UUSER01", timedelta(minutes=3)))
    assert "as of just now" in sections(refreshed)
    assert human_bytes(first + second) + " listed" in refreshed.text

    stale = run_command(COMMAND, "", as_user(ctx, "UUSER01", timedelta(minutes=9)))
    assert "as of just now" in sections(stale)


def test_the_forecast_appears_once_there_is_history(ctx: CommandContext, account: DemoAccount) -> None:
    stored = account.function("grows", [50_000])
    day_ago = ctx.now().timestamp() - 86400
    ctx.store.add_sample("lambda-code-bytes:us-east-1", day_ago, stored - 10 * 1024)
    reply = run_command(COMMAND, "", ctx)
    assert "Growing 10.0 KiB/day; the quota is unknown." in sections(reply)


def test_all_regions_details_regions_with_code_and_lists_the_empty_ones(
    ctx: CommandContext, account: DemoAccount, builder_aws: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.aws, "regions", lambda service: ["ap-south-1", "eu-west-1", REGION])
    account.function("only-here", [1000])
    reply = run_command(COMMAND, "--all-regions", ctx)
    assert [b["text"]["text"] for b in reply.blocks if b["type"] == "header"] == ["Lambda code storage · us-east-1"]
    assert "No Lambda code in 2 regions: ap-south-1, eu-west-1" in everything(reply)

    DemoAccount(builder_aws.client("lambda", "eu-west-1"), account.role_arn).function("there-too", [1000])
    both = run_command(COMMAND, "--all-regions --refresh", ctx)
    headers = [b["text"]["text"] for b in both.blocks if b["type"] == "header"]
    assert headers == [
        "Lambda code storage · all regions",
        "Lambda code storage · eu-west-1",
        "Lambda code storage · us-east-1",
    ]
    overview = table_rows(both)  # the message's one table; the regions' top functions are monospace
    assert list(overview) == ["Region", "eu-west-1", "us-east-1"]
    assert overview["eu-west-1"][1] == "1" and "No Lambda code in 1 region" in everything(both)
    assert "```Function" in sections(both)


# -- prune: the plan


def test_only_admins_may_ask_for_a_prune(ctx: CommandContext, account: DemoAccount) -> None:
    account.function("old", [100] * 6)
    reply = run_command(COMMAND, "prune", ctx)
    assert not reply.ok
    assert reply.text == "Only opsbot admins may prune Lambda versions. Ask one of them, or see OPSBOT_ADMINS."
    assert ctx.store.audit_log("lambda-capacity.plan") == []


def plan_of(reply: Reply) -> tuple[str, dict[str, Any], dict[str, Any]]:
    (actions,) = [b for b in reply.blocks if b["type"] == "actions"]
    delete, cancel = actions["elements"]
    return delete["value"], delete, cancel


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


# -- prune: the button


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
    assert refused.text.startswith("Only opsbot admins may delete Lambda versions.")
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


# -- throttling never reaches the user


@pytest.fixture
def throttled(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaProxy]:
    with LambdaProxy(int(moto.rsplit(":", 1)[1]), quota=5) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", proxy.url)
        yield proxy


def test_throttling_is_absorbed_and_the_answer_is_exact(
    ctx: CommandContext, account: DemoAccount, throttled: LambdaProxy
) -> None:
    stored = sum(account.function(f"fn-{i}", [100, 200, 300, 400, 500]) for i in range(4))
    reply = run_command(COMMAND, "", dataclasses.replace(ctx, aws=AwsClients()))
    assert throttled.throttled > 0
    assert reply.ok and reply.text == f"Lambda code storage — us-east-1: {human_bytes(stored)} listed · 4 functions"
    assert "throttl" not in everything(reply).lower()


def test_when_retries_run_out_the_user_gets_one_plain_sentence(
    ctx: CommandContext, account: DemoAccount, throttled: LambdaProxy
) -> None:
    account.function("fn", [100])
    throttled.quota = 0  # every request refused
    impatient = AwsClients(config=Config(retries={"mode": "standard", "max_attempts": 2}))
    reply = run_command(COMMAND, "", dataclasses.replace(ctx, aws=impatient))
    assert not reply.ok
    assert reply.text == "AWS is throttling lambda:ListFunctions; try again in a minute."
