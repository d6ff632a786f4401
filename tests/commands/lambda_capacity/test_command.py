"""/lambda-capacity as a user sees it: the storage answer, its cache, its regions, and throttling that never
reaches the user. The prune flow is in test_prune_command."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bench.capacity_scan import LambdaProxy
from bot.aws import AwsClients
from bot.command import CommandContext, run_command
from bot.local.seeds_capacity import DemoAccount
from bot.reply import Reply
from commands.lambda_capacity import COMMAND
from commands.lambda_capacity.storage import human_bytes

REGION = "us-east-1"


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
