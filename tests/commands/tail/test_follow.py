"""`/tail … --follow` through the real stack: a signed command over HTTP, Bolt, moto's server, the
stand-in. The first reply is a channel message; what CloudWatch gets afterwards lands in its thread,
once; the thread says how it followed and why it stopped."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.slack_requests import slash_command_form
from bot.local.slack_standin import SlackStandIn
from commands import COMMANDS
from commands.tail.follows import running
from tests.bot.conftest import lambda_env  # noqa: F401 (a fixture)
from tests.bot.test_lambda_handler import CONTEXT, _invoke_counting, _signed_event
from tests.commands.tail.conftest import Seeder, put_events
from tests.conftest import Bot

CHANNEL = "C0DEMO"  # where slash_command_form's commands come from
GROUP = "/aws/lambda/orders"
STREAM = "2026/12/01/[$LATEST]f0110w"


@pytest.fixture
def follow_bot(tmp_path: Path, seed_group: Seeder, serve_bot: Callable[..., Bot]) -> Callable[..., Bot]:
    seed_group(GROUP, "classic_python.jsonl")

    def serve(**tail_options: object) -> Bot:
        options = {"follow_poll_seconds": 0.3, **tail_options}
        config = tmp_path / "opsbot.toml"
        config.write_text("[commands.tail]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items()))
        return serve_bot(COMMANDS, OPSBOT_CONFIG=str(config))

    return serve


def an_invocation(at_ms: int) -> tuple[str, list[dict[str, Any]]]:
    rid = str(uuid.uuid4())
    rows = [
        f"START RequestId: {rid} Version: $LATEST\n",
        f"[INFO]\t2026-12-01T10:00:00.010Z\t{rid}\tnew work {rid[:8]}\n",
        f"END RequestId: {rid}\n",
        f"REPORT RequestId: {rid}\tDuration: 12.00 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 60 MB\n",
    ]
    return rid, [{"stream": STREAM, "timestamp": at_ms + i, "message": m} for i, m in enumerate(rows)]


def thread_of(bot: Bot, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in bot.standin.messages(CHANNEL) if m.get("thread_ts") == parent["ts"]]


def wait_for_text(bot: Bot, words: str, timeout: float = 40.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The follow's first message and its thread, once a thread message says `words`."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        top = [m for m in bot.standin.messages(CHANNEL) if "thread_ts" not in m]
        for parent in top:
            thread = thread_of(bot, parent)
            if any(words in json.dumps(m) for m in thread):
                return parent, thread
        time.sleep(0.2)
    raise AssertionError(f"no thread message said {words!r}; the channel has {bot.standin.messages(CHANNEL)}")


@pytest.fixture
def live_tail_refused(aws_clients: AwsClients) -> Iterator[None]:
    """The account refuses StartLiveTail, as one without logs:StartLiveTail does. botocore's own
    before-call hook (what Stubber uses) answers for that one operation; every other call is moto's."""

    def refuse(**_: Any) -> tuple[Any, dict[str, Any]]:
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: logs:StartLiveTail"}
        return type("Http", (), {"status_code": 400, "headers": {}})(), {"Error": error, "ResponseMetadata": {}}

    events = aws_clients.client("logs").meta.events
    events.register("before-call.cloudwatch-logs.StartLiveTail", refuse, unique_id="refuse-live-tail")
    yield
    events.unregister("before-call.cloudwatch-logs.StartLiveTail", unique_id="refuse-live-tail")


def test_without_live_tail_new_invocations_are_polled_into_the_thread_once(
    follow_bot: Callable[..., Bot], aws_clients: AwsClients, live_tail_refused: None
) -> None:
    bot = follow_bot()

    status, _ = bot.send("orders --follow 10s", command="/tail")

    assert status == 200
    parent, _ = wait_for_text(bot, "Live Tail is not available")
    assert "orders since" in parent["text"] and "Following until" in json.dumps(parent["blocks"])
    assert bot.standin.calls_to("response_url") == []  # the first reply is a message to thread under
    rid, rows = an_invocation(int(time.time() * 1000))
    put_events(aws_clients, GROUP, rows)
    _, thread = wait_for_text(bot, "Stopped following")
    said = json.dumps(thread)
    assert "logs:StartLiveTail" in said
    assert said.count(f"new work {rid[:8]}") == 1 and ":large_green_circle:" in said
    assert "time is up (10 seconds)" in said and "1 invocation" in said
    assert running(bot.runtime.store) == []  # its slot is free


def test_with_live_tail_the_thread_says_so_and_falls_back_when_the_session_ends(
    follow_bot: Callable[..., Bot], aws_clients: AwsClients
) -> None:
    bot = follow_bot()
    # After the first reply's read (up to now) and so only the follow's: moto's Live Tail answers
    # one snapshot of the group, then ends, as a session cut short would.
    rid, rows = an_invocation(int(time.time() * 1000) + 4_000)
    put_events(aws_clients, GROUP, rows)

    bot.send("orders --follow 10s", command="/tail")

    _, thread = wait_for_text(bot, "Stopped following")
    texts = [m["text"] for m in thread]
    assert texts[0] == "Following with CloudWatch Logs Live Tail."
    assert any(t.startswith("Live Tail ended early; polling every 0.3 s") for t in texts)
    assert json.dumps(thread).count(f"new work {rid[:8]}") == 1


def test_follows_are_bounded_and_tail_stop_ends_the_callers(follow_bot: Callable[..., Bot]) -> None:
    bot = follow_bot(max_follows=1)
    bot.send("orders --follow 5m", command="/tail", user_id="U0FIRST")
    wait_for_text(bot, "Following with CloudWatch Logs Live Tail.")

    _, url = bot.send("orders --follow 1m", command="/tail", user_id="U0SECOND")
    refused = bot.reply_to(url)
    _, url = bot.send("stop", command="/tail", user_id="U0SECOND")
    nothing = bot.reply_to(url)
    _, url = bot.send("stop", command="/tail", user_id="U0FIRST")
    stopping = bot.reply_to(url)

    assert refused["response_type"] == "ephemeral"
    assert refused["text"] == "1 follow already running, the most this bot runs at once. Try again when one has ended."
    assert nothing["text"] == "You have no follows running."
    assert stopping["text"] == "Stopping 1 follow (`/aws/lambda/orders`); each says so in its thread."
    wait_for_text(bot, "Stopped following: stopped with `/tail stop`", timeout=15)
    assert running(bot.runtime.store) == []


def test_on_lambda_a_follow_ends_before_the_invocation_must(
    lambda_env: SlackStandIn,  # noqa: F811 (the fixture imported above)
    seed_group: Seeder,
) -> None:
    """The lazy half of `/tail orders --follow 5m` in an invocation with 32 s left: the follow runs
    (its posts pumped out meanwhile, as nothing sends in the background on Lambda), stops 20 s
    before the timeout, says why in the thread, and the invocation returns in time."""
    seed_group(GROUP, "classic_python.jsonl")
    form = slash_command_form("/tail", "orders --follow 5m", lambda_env.new_response_url(), channel_id=CHANNEL)
    _, (invocation,) = _invoke_counting(_signed_event(form))
    started = time.monotonic()
    context = SimpleNamespace(**vars(CONTEXT), get_remaining_time_in_millis=lambda: 32_000)

    assert lambda_handler.slack_handler(json.loads(invocation["Payload"]), context)["statusCode"] == 200

    assert time.monotonic() - started < 32
    parent, thread = wait_for_text(Bot(lambda_env, "", lambda_handler._runtime()), "Stopped following", timeout=1)
    assert "(The bot's Lambda function may not run longer.)" in json.dumps(parent["blocks"])
    assert thread[-1]["text"].startswith("Stopped following: the bot's Lambda function is near its timeout")
    assert running(lambda_handler._runtime().store) == []


def test_a_stopping_bot_ends_its_follows_at_once_and_says_so(
    seed_group: Seeder, aws_clients: AwsClients, store: Any, settings: Any
) -> None:
    """Ctrl-C or SIGTERM set SHUTDOWN; the exit waits for worker threads, so a follow must not hold it."""
    from bot.command import SHUTDOWN
    from bot.runtime import Runtime
    from commands.tail import handle

    seed_group(GROUP, "classic_python.jsonl")
    posted: list[Any] = []
    ctx = Runtime(settings, aws_clients, store).context("U0A", CHANNEL, post=lambda _c, reply: posted.append(reply))
    reply = handle("orders --follow 30m", ctx)
    assert reply.afterwards is not None
    worker = threading.Thread(target=reply.afterwards, args=(ctx, True))
    worker.start()
    try:
        time.sleep(1.5)
        SHUTDOWN.set()
        worker.join(timeout=5)
    finally:
        SHUTDOWN.clear()

    assert not worker.is_alive()
    assert posted[-1].text.startswith("Stopped following: the bot is shutting down")
    assert running(store) == []
