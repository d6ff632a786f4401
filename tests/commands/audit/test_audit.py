"""The audit trail: recorded by the plumbing for every dispatched command and press, read by admins, exported as CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit import AuditRecord, csv_cell, recent, record
from bot.command import CommandContext, SlashCommand, run_button, run_command
from bot.reply import Reply
from bot.settings import load_settings
from bot.state import Store
from commands import COMMANDS
from commands.audit import COMMAND as AUDIT

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

ECHO = SlashCommand(
    name="/echo",
    summary="",
    usage_hint="",
    help="",
    handle=lambda text, ctx: Reply(f"echo {text}") if text != "fail" else Reply.error("no"),
    buttons={"again": lambda value, ctx: Reply(f"again {value}")},
    aws=False,
)


@pytest.fixture
def now() -> list[datetime]:
    return [T0]


@pytest.fixture
def user(ctx: CommandContext, now: list[datetime]) -> CommandContext:
    return dataclasses.replace(ctx, clock=lambda: now[0])


def admin(ctx: CommandContext) -> CommandContext:
    return dataclasses.replace(ctx, user_id="UADMIN1")


def test_every_dispatched_command_and_press_is_recorded(user: CommandContext, now: list[datetime]) -> None:
    run_command(ECHO, "hello <!channel>", user)
    now[0] += timedelta(seconds=1)
    run_command(ECHO, "fail", user)
    now[0] += timedelta(seconds=1)
    run_button(ECHO, "again", "v9", dataclasses.replace(user, user_id="UOTHER1"))
    run_command(ECHO, "help", user)  # help reaches nothing: not recorded

    entries = recent(user.store)
    assert [(e.user_id, e.command, e.text, e.outcome) for e in entries] == [
        ("UOTHER1", "/echo button:again", "v9", "ok"),
        ("UUSER01", "/echo", "fail", "error"),
        ("UUSER01", "/echo", "hello <!channel>", "ok"),
    ]
    assert {e.channel_id for e in entries} == {"CCHAN01"} and all(e.seconds >= 0 for e in entries)


def test_a_policy_refusal_is_recorded_as_refused(user: CommandContext) -> None:
    (capacity,) = [c for c in COMMANDS if c.name == "/lambda-capacity"]
    assert not run_command(capacity, "prune", user).ok
    assert [(e.command, e.outcome) for e in recent(user.store)] == [("/lambda-capacity", "refused")]


def test_records_expire_after_the_retention(user: CommandContext) -> None:
    short = load_settings({"OPSBOT_ADMINS": "UADMIN1", "OPSBOT_AUDIT_DAYS": "0.00001"})  # under a second
    five_seconds_ago = lambda: datetime.now(UTC) - timedelta(seconds=5)  # noqa: E731
    run_command(ECHO, "gone", dataclasses.replace(user, settings=short, clock=five_seconds_ago))
    run_command(ECHO, "kept", user)
    assert [e.text for e in recent(user.store)] == ["kept"]


def test_recent_by_user_and_by_account(store: Store) -> None:
    for i, (who, account) in enumerate([("UA", "prod"), ("UB", "dev"), ("UA", "dev"), ("UB", "prod")]):
        record(store, AuditRecord(2e9 + i, who, "C1", account, "/eb-ip", f"t{i}", "ok", 0.1), retention_days=1e4)
    assert [e.text for e in recent(store)] == ["t3", "t2", "t1", "t0"]
    assert [e.text for e in recent(store, user="UA")] == ["t2", "t0"]
    assert [e.text for e in recent(store, account="prod")] == ["t3", "t0"]
    assert [e.text for e in recent(store, user="UB", account="dev", limit=5)] == ["t1"]
    assert [e.text for e in recent(store, limit=2)] == ["t3", "t2"]


def test_only_admins_read_it(user: CommandContext) -> None:
    refused = run_command(AUDIT, "", user)
    assert not refused.ok and refused.text.startswith("Only opsbot admins may read the audit trail.")


def test_admins_read_recent_entries_escaped(user: CommandContext) -> None:
    run_command(ECHO, "<!channel> *bold* `tick`", dataclasses.replace(user, user_id="UEVIL01"))
    reply = run_command(AUDIT, "--user <@UEVIL01|evil>", admin(user))
    assert reply.ok and not reply.public
    assert reply.text == (
        "2026-12-01 10:00:00 <@UEVIL01> in <#CCHAN01>: /echo `&lt;!channel&gt; *bold* 'tick'` → ok (0.0 s)"
    )
    assert run_command(AUDIT, "--user UNOBODY1", admin(user)).text == "No audit entries match."
    assert "`--user` takes a Slack user" in run_command(AUDIT, "--user bob", admin(user)).text


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_be_formulas_are_text(start: str) -> None:
    assert csv_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert csv_cell("plain") == "plain"


def test_export_is_a_csv_a_spreadsheet_cannot_run(user: CommandContext) -> None:
    run_command(ECHO, '=HYPERLINK("http://evil","x")', user)
    reply = run_command(AUDIT, "export", admin(user))
    (csv_file,) = reply.files
    rows = list(csv.reader(io.StringIO(csv_file.content.decode())))
    assert rows[0] == ["at", "user_id", "channel_id", "account", "command", "text", "outcome", "seconds"]
    assert rows[1][4:7] == ["/echo", '\'=HYPERLINK("http://evil","x")', "ok"]
    assert reply.text == "The audit trail: 1 entry, newest first."
