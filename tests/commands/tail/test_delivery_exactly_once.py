"""Every forwarded or polled log line reaches Slack exactly once, in order per log stream, while Slack
answers 429 with Retry-After, 5xx, or hangs up.

All through the real parts: moto's CloudWatch Logs over HTTP (the poller's FilterLogEvents, and the
events whose ids the forwarder's payloads carry), the Slack stand-in over HTTP, a real SlackDelivery
on a SQLite store, `forwarder.handle_event` and `poller.run_tick`. Each line carries a marker
`mark-<stream>-<seq>`; what the channel shows is read back from the stand-in, messages and shared
files alike. A post whose older invocations did not fit goes out as the message then a file holding
those older ones, so one post reads file first, then message.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.local.seeds_logs import stored_events, subscription_event
from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.delivery import SlackDelivery, make_web_client
from bot.slack.outbox import NAMESPACE, DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from commands.tail.forwarder import NotDelivered, handle_event
from commands.tail.poller import run_tick
from tests.commands.tail.conftest import put_events

GROUP = "/aws/lambda/orders"
CHANNEL = "C0LOGS1234"
STREAMS = [f"2026/12/01/[$LATEST]{k:032x}" for k in range(3)]
# Fast retries (Retry-After is still honoured in full); a Lambda invocation's flush is short.
FAST = DeliveryPolicy(first_retry=0.05, max_retry=0.2, wait=0.3)
_MARK = re.compile(r"mark-(\d+)-(\d{3})")

Marker = tuple[int, int]  # (stream, seq)


@dataclass
class Rig:
    standin: SlackStandIn
    store: Store
    delivery: SlackDelivery
    runtime: Runtime
    aws: AwsClients

    def ctx(self, name: str, post: Callable[[str, Reply], Any] | None = None) -> CommandContext:
        return self.runtime.context(name, "", post=post or self.delivery.post)

    def drain(self, timeout: float = 15) -> None:
        """Deliver what is queued; fail if anything is still queued after `timeout`."""
        deadline = time.monotonic() + timeout
        while self.store.items(NAMESPACE) and time.monotonic() < deadline:
            self.delivery.flush(max(0.1, deadline - time.monotonic()))
        assert self.store.items(NAMESPACE) == [], "the outbox still holds records"


@pytest.fixture
def rig_for(tmp_path: Path, moto: str, aws_clients: AwsClients) -> Iterator[Callable[..., Rig]]:
    """rig_for(background=True): the stand-in, a fresh SQLite store and a SlackDelivery on them."""
    config = tmp_path / "opsbot.toml"
    config.write_text(f'[commands.tail]\n[[commands.tail.routes]]\nlog_group = "{GROUP}"\nchannel = "{CHANNEL}"\n')
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    deliveries: list[SlackDelivery] = []
    with SlackStandIn() as standin:
        settings = load_settings(
            {"OPSBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": standin.bot_token, "SLACK_API_URL": standin.api_url}
        )

        def make(background: bool = True) -> Rig:
            store = Store.open(str(tmp_path / "state.db"))
            delivery = SlackDelivery(
                make_web_client(settings), store, FAST, pacer=ChannelPacer(0.0), background=background
            )
            deliveries.append(delivery)
            return Rig(standin, store, delivery, Runtime(settings, aws_clients, store), aws_clients)

        yield make
        for delivery in deliveries:
            delivery.stop()


def invocation(stream: int, seq: int, at_ms: int) -> list[dict[str, Any]]:
    """One classic-format invocation whose one application line carries the marker."""
    rid = f"{stream:08x}-0000-4000-8000-{seq:012x}"
    iso = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    report = "Duration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t"
    rows = [
        (0, f"START RequestId: {rid} Version: $LATEST\n"),
        (1, f"[INFO]\t{iso}\t{rid}\tmark-{stream}-{seq:03d}\n"),
        (2, f"END RequestId: {rid}\n"),
        (2, f"REPORT RequestId: {rid}\t{report}\n"),
    ]
    return [{"stream": STREAMS[stream], "timestamp": at_ms + offset, "message": text} for offset, text in rows]


def put_round(aws: AwsClients, seqs: dict[int, range], base_ms: int) -> set[Marker]:
    """Invocations `seqs[stream]` of each stream into moto, interleaved in time; their markers."""
    rows = [
        row
        for stream, numbers in seqs.items()
        for seq in numbers
        for row in invocation(stream, seq, base_ms + seq * 20 + stream)
    ]
    put_events(aws, GROUP, rows)
    return {(stream, seq) for stream, numbers in seqs.items() for seq in numbers}


def batches(aws: AwsClients, stream: int, size: int) -> list[dict[str, Any]]:
    """The stream's events as moto holds them (real ids), as subscription payloads of `size` invocations."""
    events = stored_events(aws, GROUP, STREAMS[stream])
    per = 4 * size  # four events an invocation
    return [subscription_event(GROUP, STREAMS[stream], events[i : i + per]) for i in range(0, len(events), per)]


def posts(standin: SlackStandIn) -> list[list[Marker]]:
    """Each post in the channel as the markers it shows, in reading order: its files' lines, then its message's."""
    shown: list[list[Marker]] = []
    for message in standin.messages(CHANNEL):
        if message.get("files"):
            content = b"".join(standin.uploads[f["id"]]["content"] for f in message["files"]).decode()
            shown[-1][:0] = _markers(content)  # the earlier invocations of the message before it
        else:
            shown.append(_markers(str([message.get("blocks"), message.get("attachments"), message.get("text")])))
    return shown


def _markers(text: str) -> list[Marker]:
    return [(int(stream), int(seq)) for stream, seq in _MARK.findall(text)]


def assert_exactly_once_in_order(standin: SlackStandIn, expected: set[Marker]) -> list[list[Marker]]:
    shown = posts(standin)
    flat = [marker for post in shown for marker in post]
    twice = sorted(m for m, n in Counter(flat).items() if n > 1)
    assert not twice, f"posted more than once: {twice}"
    assert set(flat) == expected, f"lost: {sorted(expected - set(flat))}"
    for stream in {s for s, _ in expected}:
        seqs = [seq for s, seq in flat if s == stream]
        assert seqs == sorted(seqs), f"stream {stream} arrived out of order: {seqs}"
    return shown


def test_forwarded_batches_arrive_once_in_stream_order_through_429_5xx_and_hang_ups(
    rig_for: Callable[..., Rig],
) -> None:
    # As on Lambda: nothing runs between invocations, each flushes briefly, and what it could not
    # send (a 429's Retry-After is longer than its flush) is sent first by the next one.
    rig = rig_for(background=False)
    expected = put_round(rig.aws, {stream: range(12) for stream in range(3)}, int(time.time() * 1000) - 60_000)
    by_stream = [batches(rig.aws, stream, size=3) for stream in range(3)]
    faults: dict[int, Callable[[], None]] = {
        1: lambda: rig.standin.fail_next("chat.postMessage", status=429, retry_after=1),
        3: lambda: rig.standin.fail_next("chat.postMessage", status=503, times=2),
        # Twice: slack_sdk retries one dropped connection itself.
        5: lambda: rig.standin.fail_next("chat.postMessage", status=0, times=2),
        7: lambda: rig.standin.fail_next("chat.postMessage", status=500),
        8: lambda: rig.standin.fail_next("chat.postMessage", status=429, retry_after=1),
        10: lambda: rig.standin.fail_next("chat.postMessage", status=502),
    }
    ctx = rig.ctx("lambda:logs_handler")
    # CloudWatch interleaves the streams' batches; within a stream they come in order.
    for n, event in enumerate(event for round_ in zip(*by_stream, strict=True) for event in round_):
        if n in faults:
            faults[n]()
        assert handle_event(event, ctx)["status"] == "posted"
        rig.delivery.flush(rig.delivery.policy.wait)
    rig.drain()

    shown = assert_exactly_once_in_order(rig.standin, expected)
    # Batches queued behind a refused post go out merged with it (bot.slack.merge).
    assert 1 < len(shown) < 12
    assert len(rig.standin.calls_to("chat.postMessage")) == len(shown) + 8, "the posts and the 8 refused attempts"


def test_a_429_with_the_next_batch_queued_behind_it_keeps_the_order(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()  # `opsbot serve`: lanes send as soon as something is queued
    ctx = rig.ctx("job:tail_poller")
    base = int(time.time() * 1000) - 120_000
    # Twice: the second 429 comes while the next post is already queued behind this one.
    rig.standin.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    first = put_round(rig.aws, {0: range(0, 4), 1: range(0, 4)}, base)
    run_tick(ctx)  # its post meets the 429 and waits out Retry-After
    rig.standin.wait_for("chat.postMessage", count=1)
    second = put_round(rig.aws, {0: range(4, 8), 1: range(4, 8)}, base + 1_000)
    run_tick(ctx)  # queued behind the first, while the first waits
    rig.drain()

    shown = assert_exactly_once_in_order(rig.standin, first | second)
    assert [set(post) for post in shown] == [first | second], "the post queued behind merged with it"
    calls = rig.standin.calls_to("chat.postMessage")
    attempts = [set(_markers(str([call.params.get("blocks"), call.params.get("attachments")]))) for call in calls]
    assert attempts[0] == first and len(attempts) == 3, "the queued post never went before the refused one"
    gaps = [calls[1].at - calls[0].at, calls[2].at - calls[1].at]  # after each 429
    assert min(gaps) >= 0.9, f"Retry-After: 1 was not waited out: {gaps}"


def test_polled_lines_arrive_once_in_stream_order_through_429_5xx_hang_ups_and_a_file(
    rig_for: Callable[..., Rig],
) -> None:
    rig = rig_for()
    ctx = rig.ctx("job:tail_poller")
    base = int(time.time() * 1000) - 200_000
    rounds = [
        ({0: range(0, 5), 1: range(0, 5), 2: range(0, 5)}, "chat.postMessage", 429),
        ({0: range(5, 10), 2: range(5, 10)}, "chat.postMessage", 503),
        ({1: range(5, 10)}, "chat.postMessage", 0),
        # Too many invocations for one message: the older ones go in a file, whose upload also fails.
        ({0: range(10, 70), 1: range(10, 20)}, "files.getUploadURLExternal", 503),
        ({0: range(70, 75), 1: range(20, 25), 2: range(10, 15)}, "chat.postMessage", 500),
    ]
    expected: set[Marker] = set()
    for n, (seqs, method, status) in enumerate(rounds):
        rig.standin.fail_next(method, status=status, retry_after=1, times=2 if status == 0 else 1)
        expected |= put_round(rig.aws, seqs, base + n * 5_000)
        run_tick(ctx)
    rig.drain()

    shown = assert_exactly_once_in_order(rig.standin, expected)
    assert 1 <= len(shown) <= len(rounds), "a post per tick, or ticks queued behind a refusal merged"
    shared = [u for u in rig.standin.uploads.values() if u.get("channel") == CHANNEL]
    assert shared and all(u["filename"] == "logs.txt" for u in shared), "the long round's older invocations"
    assert run_tick(ctx) == {f"{CHANNEL} {GROUP}": 0}, "a later tick posts nothing again"


def test_cloudwatch_delivering_a_batch_again_posts_it_once(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    expected = put_round(rig.aws, {0: range(6)}, int(time.time() * 1000) - 60_000)
    first, second = batches(rig.aws, 0, size=3)
    ctx = rig.ctx("lambda:logs_handler")

    rig.standin.outage("chat.postMessage")  # the post is queued, not sent, when CloudWatch retries
    assert handle_event(first, ctx)["status"] == "posted"
    rig.standin.wait_for("chat.postMessage", count=2)
    assert handle_event(first, ctx)["status"] == "duplicate"
    rig.standin.heal()
    rig.drain()
    # A retry landing in another container: its own delivery, its own handle on the store.
    other = rig_for()
    assert handle_event(first, other.ctx("lambda:logs_handler"))["status"] == "duplicate"

    # An invocation whose post could not be queued raises; CloudWatch's retry then posts it once.
    refused: list[str] = []

    def post(channel: str, reply: Reply) -> Any:
        if not refused:
            refused.append(channel)
            raise RuntimeError("the store refused the record")
        return rig.delivery.post(channel, reply)

    with pytest.raises(NotDelivered):
        handle_event(second, rig.ctx("lambda:logs_handler", post))
    assert handle_event(second, rig.ctx("lambda:logs_handler", post))["status"] == "posted"
    assert handle_event(second, rig.ctx("lambda:logs_handler", post))["status"] == "duplicate"
    rig.drain()

    shown = assert_exactly_once_in_order(rig.standin, expected)
    assert len(shown) == 2
