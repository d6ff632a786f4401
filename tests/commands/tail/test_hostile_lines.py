"""Log lines written to hurt the bot, through each reader's real entry point: `/tail` over HTTP and
Bolt, the poller job, a follow and `logs_handler`. None of them stops a reader, freezes the bot, or
lets one request's output rewrite another's REPORT."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.slack_standin import SlackStandIn
from commands import COMMANDS
from commands.tail.poller import run_tick
from tests.commands.tail.conftest import put_events
from tests.commands.tail.test_follow import follow_bot, live_tail_refused, wait_for_text  # noqa: F401 (fixtures)
from tests.commands.tail.test_forwarder import CHANNEL, CONTEXT, payload, posted_text, standin  # noqa: F401 (a fixture)
from tests.commands.tail.test_poller import GROUP, Posted, a_process
from tests.conftest import Bot

STREAM = "2026/12/01/[$LATEST]0badc0de"
TIMED_OUT = "7a1e0000-0001-4bad-8bad-000000000001"
FORGER = "7a1e0000-0002-4bad-8bad-000000000002"
HOSTILE = "7a1e0000-0003-4bad-8bad-000000000003"
HUGE = "7a1e0000-0004-4bad-8bad-000000000004"
FUTURE = "7a1e0000-0005-4bad-8bad-000000000005"
# 2,000 levels in 2 KB: json recursed past Python's limit on it, and RecursionError was not caught.
DEEP_JSON = '{"message": ' + "[" * 2000
# The quadratic REPORT pattern took 35 s on 64 KB, holding the GIL.
SLOW_REPORT = f"REPORT RequestId: {HOSTILE}\t" + "a" * 65_536


def invocation(rid: str, *printed: str, report: str = "Max Memory Used: 70 MB\tStatus: success") -> list[str]:
    return [
        f"START RequestId: {rid} Version: $LATEST\n",
        *printed,
        f"END RequestId: {rid}\n",
        f"REPORT RequestId: {rid}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\t{report}\n",
    ]


def hostile_rows(at_ms: int) -> list[dict[str, Any]]:
    """A timed-out invocation, one that prints a REPORT claiming the first went fine, a deep JSON
    line, a REPORT the old pattern took 35 s on, and a REPORT with a 400-digit figure."""
    forged = f"REPORT RequestId: {TIMED_OUT}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tStatus: success\n"
    messages = [
        *invocation(TIMED_OUT, "working on it\n", report="Max Memory Used: 70 MB\tStatus: timeout"),
        DEEP_JSON + "\n",
        SLOW_REPORT + "\n",
        *invocation(FORGER, forged, "still here\n"),
        # 400 digits are inf as a float, which round() refused with OverflowError.
        *invocation(HUGE, report=f"Max Memory Used: {'9' * 400} MB\tStatus: success"),
    ]
    return [{"stream": STREAM, "timestamp": at_ms + i, "message": m} for i, m in enumerate(messages)]


def headers(shown: str) -> dict[str, str]:
    """Each invocation's header line in what Slack got, by request id."""
    found = {}
    for rid in (TIMED_OUT, FORGER, HUGE):
        start = shown.index(f"`{rid}`")
        found[rid] = shown[start : min(shown.index("\\n", start), shown.index('"', start))]
    return found


def check_shown(shown: str) -> None:
    head = headers(shown)
    assert "*timeout*" in head[TIMED_OUT] and "3.00 s" in head[TIMED_OUT]  # the platform's REPORT stands
    assert "1 ms" not in head[TIMED_OUT]
    assert f"REPORT RequestId: {TIMED_OUT}\\tDuration: 1.00 ms" in shown  # the forgery, as the text it is
    assert '{\\"message\\": [[[[[[' in shown  # the deep line, as text
    assert "still here" in shown  # and the reader went on past both
    assert " MB" not in head[HUGE] and "3.00 s" in head[HUGE]


def test_tail_over_http_shows_hostile_lines_as_text_and_keeps_acking(
    moto: str, serve_bot: Callable[..., Bot], aws_clients: AwsClients
) -> None:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    put_events(aws_clients, GROUP, hostile_rows(int(time.time() * 1000) - 60_000))
    bot = serve_bot(COMMANDS)

    status, url = bot.send("orders --since 1h", command="/tail")
    # Other commands are acked while that one reads and parses. Each round (an ack, then a short
    # look for the reply) is timed whole: a parse that holds the GIL stalls whichever part it hits.
    slowest_round = 0.0
    replies: list[dict[str, Any]] = []
    while not replies:
        started = time.monotonic()
        assert bot.send("stop", command="/tail")[0] == 200
        with contextlib.suppress(TimeoutError):
            replies = bot.standin.replies_to(url, timeout=0.2)
        slowest_round = max(slowest_round, time.monotonic() - started)
    (reply,) = replies

    assert status == 200 and slowest_round < 3.0  # Slack gives up on an ack after 3 s
    assert reply["response_type"] == "in_channel" and "4 invocations" in reply["text"]
    check_shown(json.dumps([reply["blocks"], reply["attachments"]]))


def test_the_poller_posts_hostile_lines_as_text_and_moves_on(
    tmp_path: Path, aws_clients: AwsClients, moto: str
) -> None:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    at = int(time.time() * 1000) - 60_000
    put_events(aws_clients, GROUP, hostile_rows(at))
    posted = Posted()
    process = a_process(tmp_path, aws_clients, posted)

    run_tick(process)
    put_events(aws_clients, GROUP, [{"stream": STREAM, "timestamp": at + 100, "message": "line-1 after\n"}])
    run_tick(process)

    (first, _), (second, _) = [(json.dumps([r.blocks, r.attachments]), c) for c, r in posted.messages]
    check_shown(first)
    assert "line-1 after" in second and "still here" not in second  # the cursor moved past them


def test_the_poller_reads_a_lone_surrogate_as_a_replacement_character(
    tmp_path: Path, aws_clients: AwsClients, moto: str
) -> None:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    at = int(time.time() * 1000) - 60_000
    # Enough lines that some go to the file, whose encoding refused the surrogate.
    put_events(
        aws_clients, GROUP, [{"stream": STREAM, "timestamp": at + i, "message": "\ud800" * 3_000} for i in range(20)]
    )
    posted = Posted()

    run_tick(a_process(tmp_path, aws_clients, posted))

    ((_, reply),) = posted.messages
    assert "\ufffd" * 3_000 in reply.files[0].content.decode()


def test_logs_handler_forwards_hostile_lines_as_text(standin: SlackStandIn) -> None:  # noqa: F811
    # A timestamp in the year 33658, which datetime refused with ValueError.
    future = {"stream": STREAM, "timestamp": 10**15, "message": f"START RequestId: {FUTURE} Version: 1\n"}
    rows = [*hostile_rows(1_796_119_200_000), future]

    result = lambda_handler.logs_handler(payload("/aws/lambda/orders", rows), CONTEXT)  # type: ignore[attr-defined]

    assert result["status"] == "posted"  # not raised: CloudWatch would retry, then drop the batch
    (shown,) = posted_text(standin)
    check_shown(shown)
    assert f"2999-12-31 23:59:59.999 UTC \\u00b7 `{FUTURE}`" in shown


def test_a_follow_shows_hostile_lines_as_text_and_follows_on(
    follow_bot: Callable[..., Bot],  # noqa: F811
    aws_clients: AwsClients,
    live_tail_refused: None,  # noqa: F811
) -> None:
    bot = follow_bot()
    bot.send("orders --follow 10s", command="/tail")
    wait_for_text(bot, "Live Tail is not available")

    put_events(aws_clients, GROUP, hostile_rows(int(time.time() * 1000)))
    _, thread = wait_for_text(bot, "Stopped following")

    check_shown(json.dumps(thread))
    assert "time is up (10 seconds)" in json.dumps(thread)


def test_logs_handler_forwards_a_lone_surrogate_as_a_replacement_character(standin: SlackStandIn) -> None:  # noqa: F811
    # JSON's "\\ud800" is a str no UTF-8 encoder takes; enough lines that some go to the file upload.
    rows = [{"stream": STREAM, "timestamp": 1_796_119_200_000 + i, "message": "\ud800" * 3_000} for i in range(20)]

    result = lambda_handler.logs_handler(payload("/aws/lambda/orders", rows), CONTEXT)  # type: ignore[attr-defined]

    assert result["status"] == "posted"
    (upload,) = standin.uploads.values()
    assert "\ufffd" * 3_000 in upload["content"].decode()


def test_logs_handler_counts_a_deeply_nested_payload_as_malformed(standin: SlackStandIn) -> None:  # noqa: F811
    nested = b'{"logEvents": ' + b"[" * 100_000
    event = {"awslogs": {"data": base64.b64encode(gzip.compress(nested)).decode()}}

    result = lambda_handler.logs_handler(event, CONTEXT)  # type: ignore[attr-defined]

    assert result == {"status": "malformed", "reason": "awslogs.data nests too deep to be a subscription payload"}
    assert standin.messages(CHANNEL) == []
