"""Jobs across accounts, and each account's part of the store.

A per-account job runs once in each configured account, as `opsbot-job-NAME` in the assumed role,
and what it posts says which account it is about; an account whose role cannot be assumed is
skipped, not the others. What a command keeps about AWS is kept per account.
"""

from __future__ import annotations

from pathlib import Path

from bot.aws import AwsClients
from bot.command import CommandContext, Job, SlashCommand
from bot.jobs import start_background_jobs
from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.delivery import SlackDelivery
from bot.state import Store
from bot.state.scoped import account_store
from commands.lambda_capacity import JOB as CAPACITY_MONITOR

OTHER = "222222222222"
CONFIG = f"""
[accounts.own]
[accounts.prod]
role_arn = "arn:aws:iam::{OTHER}:role/opsbot-target"
label = "Production"
"""


def test_a_per_account_job_runs_in_each_account_and_its_posts_say_which(
    tmp_path: Path, aws_clients: AwsClients, moto: str
) -> None:
    seen: dict[str, str] = {}

    def alert(ctx: CommandContext) -> None:
        assert ctx.account is not None and ctx.post is not None
        if ctx.account.name not in seen:
            seen[ctx.account.name] = ctx.aws.client("sts").get_caller_identity()["Arn"]
            ctx.post("C0ALERT", Reply("Lambda code storage is above 80%"))

    command = SlashCommand(
        "/alerts",
        "",
        "",
        "",
        lambda _t, _c: Reply(""),
        jobs=(Job("alerts-t1", lambda _s: 0.05, alert, per_account=True),),
    )
    config = tmp_path / "accounts.toml"
    config.write_text(CONFIG)
    with SlackStandIn() as standin:
        settings = load_settings(
            {
                "OPSBOT_STATE": str(tmp_path / "a.db"),
                "OPSBOT_CONFIG": str(config),
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_API_URL": standin.api_url,
            }
        )
        runtime = Runtime.from_settings(settings, aws_clients)
        stop = start_background_jobs([command], runtime, SlackDelivery.configured(settings, runtime.store))
        try:
            standin.wait_for("chat.postMessage", count=2, timeout=20)
        finally:
            stop.set()
        texts = sorted(str(m.get("text")) for m in standin.messages("C0ALERT"))
    assert seen["prod"] == f"arn:aws:sts::{OTHER}:assumed-role/opsbot-target/opsbot-job-alerts-t1"
    assert seen["own"].startswith("arn:aws:sts::123456789012:")
    assert texts == [
        "Lambda code storage is above 80%\n_AWS account: *own*_",
        "Lambda code storage is above 80%\n_AWS account: *prod (Production)*_",
    ]


def test_the_capacity_monitor_runs_per_account() -> None:
    assert CAPACITY_MONITOR.per_account


def test_each_account_keeps_its_own_records_and_series_and_shares_tokens_and_the_audit_log(store: Store) -> None:
    prod, dev = account_store(store, "prod"), account_store(store, "dev")
    prod.put("lambda-capacity.report", "us-east-1", {"usage": 1})
    prod.add_sample("lambda-capacity:us-east-1", 1.0, 10.0)
    assert dev.get("lambda-capacity.report", "us-east-1") is None and dev.samples("lambda-capacity:us-east-1") == []
    assert store.get("lambda-capacity.report", "us-east-1") is None
    assert prod.get("lambda-capacity.report", "us-east-1").value == {"usage": 1}  # type: ignore[union-attr]
    assert account_store(prod, "dev").samples("lambda-capacity:us-east-1") == []  # a view of a view is dev's

    dev.add_token("hash1", "U0ALICE")
    dev.audit("U0ALICE", "eb-ip.run", check="uptime")
    assert prod.token_owner("hash1") == store.token_owner("hash1") == "U0ALICE"
    assert [e.action for e in store.audit_log()] == ["eb-ip.run"]
