"""/tail on moto's server: grouped per invocation, both formats, and one sentence for each bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from bot.command import CommandContext, run_command
from bot.reply import Reply
from bot.slack.blocks import MAX_BLOCKS, MAX_BLOCKS_JSON, MAX_SECTION_TEXT, as_text
from commands.tail import COMMAND
from tests.commands.tail.conftest import Seeder, put_events


def tail(ctx: CommandContext, text: str) -> Any:
    return run_command(COMMAND, text, ctx)


def shown(reply: Reply) -> str:
    """Everything the message shows: its blocks and its attachments' (the colour bars)."""
    return json.dumps([reply.blocks, reply.attachments])


def fits_slack(reply: Reply) -> bool:
    blocks = [*reply.blocks, *(b for a in reply.attachments for b in a["blocks"])]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return (
        len(blocks) <= MAX_BLOCKS
        and len(shown(reply)) <= MAX_BLOCKS_JSON
        and all(len(s) <= MAX_SECTION_TEXT and s.count("```") % 2 == 0 for s in sections)
    )


def test_a_function_name_shows_its_invocations_with_status_and_report(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl")

    reply = tail(ctx, "orders")

    assert reply.ok and reply.public, reply.text
    text = as_text(reply)
    assert "orders since" in text and "invocations" in text
    assert ":large_green_circle:" in text and "cold start, init 234.56 ms" in text
    assert ":red_circle:" in text  # the sample's failures
    assert "Outside any invocation" in text  # the init lines are kept
    assert fits_slack(reply) and not reply.files


def test_each_invocation_has_the_colour_bar_of_its_status(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl")

    reply = tail(ctx, "orders")

    bars = [(a["color"], a["blocks"][0]["text"]["text"].split(" ")[0]) for a in reply.attachments]
    # ok, error, timeout, out of memory, still running, then the lines outside any invocation
    assert bars == [
        ("#2eb886", ":large_green_circle:"),
        ("#e01e5a", ":red_circle:"),
        ("#e01e5a", ":red_circle:"),
        ("#e01e5a", ":red_circle:"),
        ("#9e9ea6", ":white_circle:"),
        ("#9e9ea6", ":white_circle:"),
    ]
    assert [b["type"] for b in reply.blocks] == ["section"]  # the heading; invocations are in the bars


def test_the_json_log_format_reads_the_same(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders-json", "json_format.jsonl")

    text = as_text(tail(ctx, "/aws/lambda/orders-json --since 1h"))

    assert "9b2d6f3e-1111-4c2a-8b1e-5d4c3b2a1900" in text
    assert "cold start" in text and '"level"' not in text.split("\n")[1]


def test_log_lines_cannot_mention_the_channel(ctx: CommandContext, seed_group: Seeder, aws_clients: Any) -> None:
    first = seed_group("/aws/lambda/loud", "classic_node.jsonl")
    put_events(aws_clients, "/aws/lambda/loud", [{"stream": "s", "timestamp": first + 5, "message": "<!channel> hi"}])

    reply = tail(ctx, "loud")

    assert "<!channel>" not in shown(reply)
    assert "&lt;!channel&gt; hi" in shown(reply)


def test_what_does_not_fit_goes_to_a_file_never_cut(ctx: CommandContext, moto: str, aws_clients: Any) -> None:
    logs = aws_clients.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/busy")
    now = int(datetime.now(UTC).timestamp() * 1000) - 120_000
    rows = []
    for n in range(60):
        rid = f"0000{n:04d}-aaaa-4b6e-9e7d-0c1f2d3e4f50"
        at = now + n * 100
        rows += [
            {"stream": "s", "timestamp": at, "message": f"START RequestId: {rid} Version: $LATEST\n"},
            *(
                {
                    "stream": "s",
                    "timestamp": at + 1,
                    "message": f"2026-12-01T10:00:00.000Z\t{rid}\tINFO\tline {k} " + "x" * 80,
                }
                for k in range(5)
            ),
            {"stream": "s", "timestamp": at + 2, "message": f"REPORT RequestId: {rid}\tDuration: 1.0 ms\n"},
        ]
    put_events(aws_clients, "/aws/lambda/busy", rows)

    reply = tail(ctx, "busy")

    assert fits_slack(reply)
    (attachment,) = reply.files
    shown_ids = {n for n in range(60) if f"0000{n:04d}-aaaa" in shown(reply)}
    filed_ids = {n for n in range(60) if f"0000{n:04d}-aaaa" in attachment.content.decode()}
    assert shown_ids | filed_ids == set(range(60)) and not shown_ids & filed_ids
    assert 59 in shown_ids  # the newest are in the message
    assert "tail-busy.txt" in as_text(reply)


def test_the_limit_stops_reading_and_says_so(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl")

    reply = tail(ctx, "orders --limit 3")

    assert "Stopped after 3 events (--limit)" in as_text(reply)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Name a Lambda function or a log group."),
        ("no$such", "is not a Lambda function name"),
        ("orders --since 2099-01-01T00:00", "That is in the future."),
        ("orders --limit 0", "`--limit` takes a whole number from 1 to 10000"),
        ("orders extra", "`extra` was not expected"),
        ("orders --follow 5s", "`--follow` takes a time such as 90s or 5m, not `5s`. Give 10s to 30m."),
        ("orders --follow 31m", "Give 10s to 30m."),
    ],
)
def test_bad_input_gets_one_private_sentence(ctx: CommandContext, text: str, said: str) -> None:
    reply = tail(ctx, text)

    assert not reply.ok and not reply.public
    assert said in reply.text


def test_an_unknown_log_group_is_named(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl")

    reply = tail(ctx, "order")

    assert not reply.ok and not reply.public
    assert reply.text == "There is no log group `/aws/lambda/order` in us-east-1."


def test_since_beyond_retention_is_refused(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl", retention=3)

    reply = tail(ctx, "orders --since 5d")

    assert not reply.ok
    assert reply.text == ("That is before what the log group keeps: its retention is 3 days; give a later `--since`.")


def _stubbed(ctx: CommandContext) -> Stubber:
    stub = Stubber(ctx.aws.client("logs"))
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": "/aws/lambda/orders"}]},
        {"logGroupNamePrefix": "/aws/lambda/orders"},
    )
    return stub


def test_a_filter_pattern_cloudwatch_rejects_is_one_sentence(ctx: CommandContext) -> None:
    # moto ignores filter patterns it cannot read; AWS answers this.
    stub = _stubbed(ctx)
    stub.add_client_error(
        "filter_log_events",
        service_error_code="InvalidParameterException",
        service_message="Invalid character(s) in term '<!here>'",
        expected_params={
            "logGroupName": "/aws/lambda/orders",
            "startTime": ANY,
            "endTime": ANY,
            "filterPattern": "{$.x",
        },
    )
    with stub:
        reply = tail(ctx, "orders --filter {$.x")

    assert not reply.ok and not reply.public
    assert reply.text.startswith("CloudWatch Logs rejected the filter pattern; see https://docs.aws.amazon.com/")
    assert "<!here>" not in reply.text


def test_a_missing_filter_log_events_permission_is_named(ctx: CommandContext) -> None:
    stub = _stubbed(ctx)
    stub.add_client_error("filter_log_events", service_error_code="AccessDeniedException", service_message="denied")
    with stub:
        reply = tail(ctx, "orders")

    assert reply.text == "Access denied: the bot's AWS role lacks the IAM permission logs:FilterLogEvents."


def test_a_log_group_removed_after_the_check_is_one_sentence(ctx: CommandContext) -> None:
    stub = _stubbed(ctx)
    stub.add_client_error("filter_log_events", service_error_code="ResourceNotFoundException", service_message="x")
    with stub:
        reply = tail(ctx, "orders")

    assert reply.text == "CloudWatch Logs has no such log group in that region; check the name and --region."


def test_since_is_read_in_the_bot_time_zone(ctx: CommandContext, seed_group: Seeder) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl")
    since = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ctx.settings.timezone)

    reply = tail(ctx, f"orders --since {since:%Y-%m-%dT%H:%M}")

    assert f"since {since:%Y-%m-%d %H:%M}" in reply.text


def test_a_follow_runs_on_the_bots_clock_as_every_time_it_shows(ctx: CommandContext, seed_group: Seeder) -> None:
    """The demo's clock runs ahead of the wall's: the follow's end is on the bot's clock, not time.time()."""
    from dataclasses import replace

    seed_group("/aws/lambda/orders", "classic_python.jsonl")
    ahead = datetime.now(UTC) + timedelta(hours=5)
    following = replace(ctx, clock=lambda: ahead, post=lambda _channel, _reply: None)

    reply = tail(following, "orders --follow 10m")

    ends = (ahead + timedelta(minutes=10)).astimezone(ctx.settings.timezone)
    assert f"Following until {ends:%H:%M:%S %Z}" in shown(reply), shown(reply)[:400]
    assert reply.afterwards is not None
