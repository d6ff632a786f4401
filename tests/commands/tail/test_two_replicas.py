"""Two replicas of `opsbot serve` (two job runners, each with its own store handle, AWS clients and
delivery) share one state store while AWS answers slower than the poller's interval: every log
line reaches the Slack stand-in exactly once, on SQLite and on DynamoDB (moto).

And the cursor's compare-and-set alone: a run that read the cursor before another run posted
(a replica that lost its lease in a pause) does not post those lines again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.jobs import run_forever
from bot.local.slack_standin import SlackStandIn
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from bot.slack.delivery import SlackDelivery, make_web_client
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from commands.tail import JOB
from commands.tail.options import TailOptions
from commands.tail.poller import poll_group
from tests.bot.state.test_store import TABLE, create_table
from tests.commands.tail.test_delivery_exactly_once import (
    CHANNEL,
    GROUP,
    Marker,
    assert_exactly_once_in_order,
    posts,
    put_round,
)

INTERVAL = 0.5
SLOW_AWS = 0.7  # each FilterLogEvents answers after this long: slower than the interval
FAST = DeliveryPolicy(first_retry=0.05, max_retry=0.2)


def slow_logs(seconds: float, before: Any = None) -> AwsClients:
    """AWS clients of their own whose FilterLogEvents answers `seconds` late (a botocore hook),
    after calling `before()` if given."""
    aws = AwsClients()
    calls: list[int] = []

    def delay(**_: Any) -> None:
        if before is not None and not calls:
            calls.append(1)
            before()
        time.sleep(seconds)

    aws.client("logs").meta.events.register("before-send.cloudwatch-logs.FilterLogEvents", delay)
    return aws


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as served:
        yield served


@pytest.fixture
def tail_settings(tmp_path: Path, standin: SlackStandIn, moto: str, aws_clients: AwsClients) -> Settings:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    config = tmp_path / "opsbot.toml"
    config.write_text(f'[commands.tail]\n[[commands.tail.routes]]\nlog_group = "{GROUP}"\nchannel = "{CHANNEL}"\n')
    return load_settings(
        {"OPSBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": standin.bot_token, "SLACK_API_URL": standin.api_url}
    )


def open_store(backend: str, tmp_path: Path, aws: AwsClients) -> Store:
    if backend == "dynamodb":
        return Store.open(f"dynamodb://{TABLE}", aws)
    return Store.open(str(tmp_path / "shared.db"))


def shown(standin: SlackStandIn) -> list[Marker]:
    return [marker for post in posts(standin) for marker in post]


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_two_replicas_with_slow_aws_post_every_line_once(
    backend: str, tmp_path: Path, tail_settings: Settings, standin: SlackStandIn, aws_clients: AwsClients
) -> None:
    if backend == "dynamodb":
        create_table(aws_clients)
    stop = threading.Event()
    runners, deliveries = [], []
    for _replica in range(2):
        aws = slow_logs(SLOW_AWS)
        store = open_store(backend, tmp_path, aws)
        delivery = SlackDelivery(make_web_client(tail_settings), store, FAST, pacer=ChannelPacer(0.0))
        deliveries.append(delivery)
        # A short lease: the heartbeat renews it several times in each slow run.
        args = (JOB, INTERVAL, Runtime(tail_settings, aws, store), delivery, stop, 0.6)
        runners.append(threading.Thread(target=run_forever, args=args, daemon=True))
    base = int(time.time() * 1000) - 60_000
    expected: set[Marker] = set()
    try:
        for runner in runners:
            runner.start()
        for round_ in range(8):  # new lines keep arriving while both replicas poll
            expected |= put_round(aws_clients, {0: range(round_ * 5, round_ * 5 + 5)}, base + round_ * 1_000)
            time.sleep(INTERVAL * 0.8)
        deadline = time.monotonic() + 60
        while set(shown(standin)) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        # A few more ticks: a replica that would post a line again has its chance to.
        time.sleep(4 * INTERVAL + 2 * SLOW_AWS)
    finally:
        stop.set()
        for runner in runners:
            runner.join(30)
        for delivery in deliveries:
            delivery.flush(10)
            delivery.stop()
    assert_exactly_once_in_order(standin, expected)


def test_a_run_that_read_the_cursor_before_another_posted_posts_nothing(
    tmp_path: Path, tail_settings: Settings, aws_clients: AwsClients
) -> None:
    posted: list[tuple[str, str]] = []

    def post_as(replica: str) -> Any:
        return lambda channel, reply: posted.append((replica, str([reply.blocks, reply.attachments])))

    expected = put_round(aws_clients, {0: range(5)}, int(time.time() * 1000) - 60_000)
    store_b = Store.open(str(tmp_path / "shared.db"))
    ctx_b = Runtime(tail_settings, aws_clients, store_b).context("job:tail_poller", "", post=post_as("B"))
    options = TailOptions.from_settings(tail_settings)
    (route,) = options.routes
    # Replica A has read its cursor; while its FilterLogEvents is on the wire, replica B runs a whole poll.
    aws_a = slow_logs(0.0, before=lambda: poll_group(ctx_b, route, GROUP, options))
    store_a = Store.open(str(tmp_path / "shared.db"))
    ctx_a = Runtime(tail_settings, aws_a, store_a).context("job:tail_poller", "", post=post_as("A"))

    assert poll_group(ctx_a, route, GROUP, options) == 0, "A lost the cursor's compare-and-set"
    assert [replica for replica, _ in posted] == ["B"]
    assert all(f"mark-0-{seq:03d}" in posted[0][1] for _, seq in expected)
