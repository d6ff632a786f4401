"""Delivery on Lambda through an SQS FIFO queue (moto over HTTP) and its sender, to the Slack
stand-in over HTTP: order and pace per channel across concurrent senders, no channel held up by
another's backlog, retries, refusals to the dead-letter queue, a sender dying mid-send."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.aws import AwsClients
from bot.local.slack_standin import SlackStandIn
from bot.local.sqs_poller import Pollers, lambda_event, poll_once
from bot.reply import Attachment, LogText, Reply
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.slack.queue import LARGE, DeliveryQueue, group_of
from bot.slack.sender import QueueSender
from bot.state import Store

A, B = "C0AAAAAAAA", "C0BBBBBBBB"
FAST = DeliveryPolicy(first_retry=0.2, max_retry=0.5)


@dataclass
class Rig:
    standin: SlackStandIn
    sqs: Any
    url: str
    dead_letter_url: str
    store: Store
    delivery: SlackDelivery

    def sender(self) -> QueueSender:
        """A container of the sender function: its own pacer, the shared queue and store."""
        queue = DeliveryQueue(self.sqs, self.url, self.store, self.dead_letter_url)
        client = WebClient(token=self.standin.bot_token, base_url=self.standin.api_url)
        return QueueSender(
            SlackDelivery(client, self.store, FAST, ChannelPacer(), background=False, queue=queue), queue
        )

    def pollers(self, count: int) -> Pollers:
        return Pollers(self.sqs, self.url, [self.sender().handle for _ in range(count)], lambda: time.time() + 60)

    def drain(self, count: int = 4, timeout: float = 60) -> None:
        with self.pollers(count):
            deadline = time.monotonic() + timeout
            while self.waiting() and time.monotonic() < deadline:
                time.sleep(0.1)
        assert not self.waiting(), "the queue still holds messages"

    def waiting(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def texts(self, channel: str) -> list[str]:
        return [m.get("text", "") for m in self.standin.messages(channel) if not m.get("files")]


@pytest.fixture
def rig_for(tmp_path: Path, moto: str, aws_clients: AwsClients) -> Iterator[Callable[..., Rig]]:
    sqs = aws_clients.client("sqs")
    dead = sqs.create_queue(QueueName="opsbot-refused.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with SlackStandIn() as standin:

        def make(visibility: int = 30) -> Rig:
            attributes = {"FifoQueue": "true", "VisibilityTimeout": str(visibility)}
            url = sqs.create_queue(QueueName=f"opsbot-out-{visibility}.fifo", Attributes=attributes)["QueueUrl"]
            store = Store.open(str(tmp_path / "state.db"))
            queue = DeliveryQueue(sqs, url, store, dead)
            client = WebClient(token=standin.bot_token, base_url=standin.api_url)
            delivery = SlackDelivery(client, store, FAST, background=False, queue=queue)
            return Rig(standin, sqs, url, dead, store, delivery)

        yield make


def log_reply(n: int, overflow: bool = False) -> Reply:
    """A log post as the forwarder makes it: line `n` shown, every line in `log`."""
    files = (Attachment("orders.txt", f"older of {n}".encode()),) if overflow else ()
    text = f"older of {n}\nline {n}" if overflow else f"line {n}"
    return Reply(f"orders: post {n}", files=files, log=LogText("orders", text, "orders.txt"))


def test_posts_keep_their_order_and_one_a_second_per_channel_across_four_senders(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    with rig.pollers(4):
        # Queued while the senders run, a few at a time: each channel passes from sender to sender.
        for n in range(6):
            for channel in (A, B):
                rig.delivery.post(channel, Reply(f"{channel} {n}"))
            time.sleep(0.3)
        deadline = time.monotonic() + 30
        while rig.waiting() and time.monotonic() < deadline:
            time.sleep(0.1)

    for channel in (A, B):
        assert rig.texts(channel) == [f"{channel} {n}" for n in range(6)]
        times = [c.at for c in rig.standin.calls_to("chat.postMessage") if c.params["channel"] == channel]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= 0.9, f"{channel} got two posts within a second: {gaps}"


def test_a_backlog_in_one_channel_holds_up_another_by_under_two_seconds(
    rig_for: Callable[..., Rig],
) -> None:
    rig = rig_for()
    backlog = [rig.delivery.outbox.new_record(A, A, "post", {"channel": A, "text": "backlog"}, paced=True)]
    # 300, not the 1,000 of bench/lambda_fanout.py: moto's send scans the whole queue (SQS's does not).
    backlog *= 300
    for i in range(0, len(backlog), 10):
        entries = [
            {
                "Id": str(n),
                "MessageBody": json.dumps(r),
                "MessageGroupId": group_of(A),
                "MessageDeduplicationId": f"{i + n}",
            }
            for n, r in enumerate(backlog[i : i + 10])
        ]
        rig.sqs.send_message_batch(QueueUrl=rig.url, Entries=entries)
    rig.delivery.post(B, Reply("urgent"))
    started = time.monotonic()
    with rig.pollers(2):
        deadline = time.monotonic() + 30
        while not (to_b := [c for c in rig.standin.calls_to("chat.postMessage") if c.params["channel"] == B]):
            assert time.monotonic() < deadline, "the other channel's post never went"
            time.sleep(0.02)
    waited = to_b[0].at - started
    assert waited < 2.0, f"the other channel's post waited {waited:.1f} s behind the backlog"


def test_log_posts_queued_together_go_out_as_one_message_and_one_file(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    for n in range(8):
        rig.delivery.post(A, log_reply(n, overflow=n == 7))
    assert (
        poll_once(rig.sqs, rig.url, lambda e, until: rig.sender().handle(e, until), time.time() + 60) == 9
    )  # 8 posts, the last with its file

    (message,) = rig.texts(A)
    assert "post 7" in message and "7 earlier posts" in message
    (upload,) = rig.standin.uploads.values()
    lines = upload["content"].decode().splitlines()
    assert [line for line in lines if line] == [*(f"line {n}" for n in range(7)), "older of 7"]
    assert rig.waiting() == 0


def test_a_429_comes_back_after_its_retry_after_and_the_order_holds(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    rig.standin.fail_next("chat.postMessage", status=429, retry_after=1)
    for n in range(3):
        rig.delivery.post(A, Reply(f"post {n}"))
    rig.drain(count=2, timeout=15)  # well before the visibility timeout (30 s) would bring it back

    assert rig.texts(A) == ["post 0", "post 1", "post 2"]
    calls = rig.standin.calls_to("chat.postMessage")
    assert len(calls) == 4 and calls[1].at - calls[0].at >= 0.9, "Retry-After: 1 was not waited out"


def test_a_final_refusal_goes_to_the_dead_letter_queue_and_the_rest_still_goes(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    rig.standin.fail_next("chat.postMessage", status=200, error="channel_not_found")
    rig.delivery.post(A, Reply("refused"))
    rig.delivery.post(A, Reply("next"))
    rig.drain(count=1)

    assert rig.texts(A) == ["next"]
    (dead,) = rig.sqs.receive_message(QueueUrl=rig.dead_letter_url, MaxNumberOfMessages=10).get("Messages", [])
    body = json.loads(dead["Body"])
    assert body["refused"] == "channel_not_found" and body["body"]["text"] == "refused"


def test_a_record_past_its_deadline_is_dropped_without_a_call(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    record = rig.delivery.outbox.new_record(A, A, "post", {"channel": A, "text": "stale"}, paced=True)
    rig.delivery.queue.enqueue({**record, "deadline": time.time() - 1})  # type: ignore[union-attr]
    rig.delivery.post(A, Reply("fresh"))
    rig.drain(count=1)

    assert rig.texts(A) == ["fresh"]


def test_a_sender_that_dies_mid_send_leaves_its_batch_to_another(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for(visibility=1)
    rig.delivery.post(A, Reply("survives"))
    taken = rig.sqs.receive_message(QueueUrl=rig.url, MaxNumberOfMessages=10)["Messages"]
    assert len(taken) == 1  # ...and the container is gone: no answer, nothing deleted
    rig.drain(count=1)

    assert rig.texts(A) == ["survives"]


def test_a_record_too_big_for_a_message_travels_through_the_store(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    big = bytes(range(256)) * 1500  # 384 KB, more as base64: over SQS's 256 KiB
    rig.delivery.post(A, Reply("with a chart", files=(Attachment("chart.png", big),)))
    assert len(rig.store.items(LARGE)) == 1
    rig.drain(count=1)

    (upload,) = rig.standin.uploads.values()
    assert upload["content"] == big
    assert rig.store.items(LARGE) == [], "kept only until delivered"


def test_what_is_not_a_record_is_dropped_with_a_log_line(rig_for: Callable[..., Rig]) -> None:
    rig = rig_for()
    event = lambda_event(
        [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "not json", "Attributes": {"MessageGroupId": A}}]
    )
    assert rig.sender().handle(event, time.time() + 10) == {"batchItemFailures": []}
    assert rig.standin.calls_to("chat.postMessage") == []
