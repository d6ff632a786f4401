"""Log posts queued behind each other in a channel's lane (`opsbot serve`'s SQLite outbox) go out as
one message and one file, read file then message in the order they were queued; anything else in
the lane, or another thread, ends a run; a process dying half-way through a merge sends nothing twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.local.slack_standin import SlackStandIn
from bot.reply import Attachment, LogText, Reply
from bot.slack.delivery import SlackDelivery
from bot.slack.merge import MAX_MERGED_TEXT, merge, run_length
from bot.slack.outbox import NAMESPACE, DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from bot.state.sqlite import SqliteStore

CHANNEL = "C0LOGS1234"


def log_reply(n: int, overflow: bool = False, thread_key: str = "") -> Reply:
    files = (Attachment("orders.txt", f"older of {n}".encode()),) if overflow else ()
    text = f"older of {n}\nline {n}" if overflow else f"line {n}"
    log = LogText("orders", text, "orders.txt")
    return Reply(f"orders: post {n}", files=files, log=log, thread_key=thread_key)


def delivery_on(store: Store, standin: SlackStandIn, lease: float = 60) -> SlackDelivery:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    policy = DeliveryPolicy(first_retry=0.05, lease=lease)
    return SlackDelivery(client, store, policy, ChannelPacer(0.0), background=False)


def shown(standin: SlackStandIn) -> list[str]:
    """The channel as read: each file's lines, each message's text."""
    out = []
    for message in standin.messages(CHANNEL):
        if message.get("files"):
            out += [standin.uploads[f["id"]]["content"].decode() for f in message["files"]]
        else:
            out.append(message["text"])
    return out


def test_log_posts_queued_together_go_out_as_one_message_and_one_file(tmp_path: Path) -> None:
    with SlackStandIn() as standin:
        delivery = delivery_on(Store.open(str(tmp_path / "s.db")), standin)
        for n in range(10):
            delivery.post(CHANNEL, log_reply(n, overflow=n == 9))
        delivery.flush(10)

        message, file = shown(standin)
        assert message.startswith("orders: post 9") and "9 earlier posts" in message
        assert file.split("\n\n") == [*(f"line {n}" for n in range(9)), "older of 9"]
        assert len(standin.calls_to("chat.postMessage")) == 1


def test_another_post_or_thread_ends_a_run_and_the_order_holds(tmp_path: Path) -> None:
    with SlackStandIn() as standin:
        delivery = delivery_on(Store.open(str(tmp_path / "s.db")), standin)
        delivery.post(CHANNEL, log_reply(0))
        delivery.post(CHANNEL, log_reply(1))
        delivery.post(CHANNEL, Reply("an alert"))
        delivery.post(CHANNEL, log_reply(2))
        delivery.post(CHANNEL, log_reply(3, thread_key="follow"))
        delivery.flush(10)

        assert shown(standin) == [
            "orders: post 1 (and 1 earlier posts, in orders.txt)",
            "line 0",
            "an alert",
            "orders: post 2",
            "orders: post 3",
        ]


class CrashingStore(SqliteStore):
    """A store whose first deletes fail: the process dies between writing a merge and clearing up."""

    def __init__(self, path: str, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def delete(self, namespace: str, key: str) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the process died here")
        super().delete(namespace, key)


def test_a_merge_cut_short_is_finished_by_the_next_sender_and_nothing_goes_twice(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    with SlackStandIn() as standin:
        for n in range(3):
            delivery_on(Store.open(path), standin).outbox.enqueue(_record(delivery_on(Store.open(path), standin), n))
        dying = delivery_on(CrashingStore(path, failures=1), standin, lease=0.2)
        with pytest.raises(RuntimeError):  # merges, then dies deleting what the merge replaced
            dying._step(CHANNEL, until=float("inf"))
        assert standin.calls_to("chat.postMessage") == []

        deadline = time.monotonic() + 10
        while Store.open(path).items(NAMESPACE) and time.monotonic() < deadline:
            delivery_on(Store.open(path), standin).flush(1)  # once the dead process's lease is out
        assert shown(standin) == ["orders: post 2 (and 2 earlier posts, in orders.txt)", "line 0\n\nline 1"]
        assert Store.open(path).items(NAMESPACE) == []


def _record(delivery: SlackDelivery, n: int) -> dict[str, Any]:
    body = {"channel": CHANNEL, "text": f"orders: post {n}", "merge": {"title": "orders", "text": f"line {n}"}}
    body["merge"]["filename"] = "orders.txt"
    return delivery.outbox.new_record(CHANNEL, CHANNEL, "post", body, paced=True)


def test_a_run_stops_before_the_merged_file_would_pass_its_limit() -> None:
    def post(size: int) -> dict[str, Any]:
        merge_info = {"title": "t", "text": "x" * size, "filename": "t.txt"}
        return {"kind": "post", "channel": CHANNEL, "body": {"text": "t", "merge": merge_info}}

    records = [post(MAX_MERGED_TEXT // 2), post(MAX_MERGED_TEXT // 2), post(10)]
    assert run_length(records) == 2
    assert run_length(records[2:]) == 1, "alone: nothing to merge"
    assert merge(records[2:]) == records[2:]
