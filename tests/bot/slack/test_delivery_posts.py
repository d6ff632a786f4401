"""What the bot posts on its own (a job's report, an alert), through the stand-in over real HTTP:
its files follow the message, and a message under a replace_key is edited in place."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.local.slack_standin import SlackStandIn
from bot.reply import Attachment, Reply
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import NAMESPACE, DeliveryPolicy, Outbox
from bot.slack.pacer import ChannelPacer
from bot.state import Store

CHANNEL = "C0SCORES"


def delivery_to(standin: SlackStandIn, store: Store) -> SlackDelivery:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    return SlackDelivery(client, store, DeliveryPolicy(first_retry=0.05, max_retry=0.2), pacer=ChannelPacer(0.0))


def test_a_posts_files_are_uploaded_to_the_channel_after_its_message(standin: SlackStandIn, store: Store) -> None:
    files = (Attachment("chart.png", b"\x89PNG first", "The chart"), Attachment("data.csv", b"a,b\n"))
    delivery_to(standin, store).post(CHANNEL, Reply("Lead change", files=files)).result(timeout=10)
    messages = standin.messages(CHANNEL)
    assert messages[0]["text"] == "Lead change"
    shared = [m["files"][0] for m in messages[1:]]
    assert [(f["name"], f["title"]) for f in shared] == [("chart.png", "The chart"), ("data.csv", "data.csv")]
    uploads = sorted(standin.uploads.values(), key=lambda u: str(u["filename"]))
    assert [(u["channel"], u["content"]) for u in uploads] == [(CHANNEL, b"\x89PNG first"), (CHANNEL, b"a,b\n")]
    assert store.items(NAMESPACE) == []


def test_posts_under_one_replace_key_edit_one_message(standin: SlackStandIn, store: Store) -> None:
    delivery = delivery_to(standin, store)
    for n in (1, 2, 3):
        delivery.post(CHANNEL, Reply(f"table {n}", replace_key="scores-board")).result(timeout=10)
    assert len(standin.calls_to("chat.postMessage")) == 1
    updates = standin.calls_to("chat.update")
    ((message,),) = [standin.messages(CHANNEL)]
    assert [(u.params["ts"], u.params["text"]) for u in updates] == [
        (message["ts"], "table 2"),
        (message["ts"], "table 3"),
    ]
    assert message["text"] == "table 3"
    # Another key, or no key, is another message.
    delivery.post(CHANNEL, Reply("other", replace_key="other-board")).result(timeout=10)
    delivery.post(CHANNEL, Reply("alert")).result(timeout=10)
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["table 3", "other", "alert"]


def test_edits_queued_behind_each_other_send_only_the_newest(standin: SlackStandIn, store: Store) -> None:
    delivery = delivery_to(standin, store)
    delivery.post(CHANNEL, Reply("table 1", replace_key="k")).result(timeout=10)
    queued = SlackDelivery(delivery.client, store, delivery.policy, pacer=ChannelPacer(0.0), background=False)
    for n in (2, 3, 4):
        queued.post(CHANNEL, Reply(f"table {n}", replace_key="k"))
    queued.post(CHANNEL, Reply("alert"))
    queued.flush(10)
    assert [c.params["text"] for c in standin.calls_to("chat.update")] == ["table 4"]
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["table 4", "alert"]
    assert store.items(NAMESPACE) == []


def test_the_kept_ts_outlives_the_process(standin: SlackStandIn, store: Store) -> None:
    delivery_to(standin, store).post(CHANNEL, Reply("before", replace_key="k")).result(timeout=10)
    delivery_to(standin, store).post(CHANNEL, Reply("after", replace_key="k")).result(timeout=10)  # a restart
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["after"]


def test_a_message_deleted_in_slack_is_posted_anew_and_edited_from_then_on(standin: SlackStandIn, store: Store) -> None:
    Outbox(store, DeliveryPolicy()).keep_posted_ts(CHANNEL, "k", "1700000000.000100")  # a message since deleted
    delivery = delivery_to(standin, store)
    delivery.post(CHANNEL, Reply("fresh", replace_key="k")).result(timeout=10)
    delivery.post(CHANNEL, Reply("fresher", replace_key="k")).result(timeout=10)
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["fresher"]
    assert standin.calls_to("chat.update")[0].params["ts"] == "1700000000.000100"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_an_ok_false_answer_is_a_logged_refusal_not_a_delivery(
    standin: SlackStandIn, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        delivery_to(standin, store).post(CHANNEL, Reply("")).result(timeout=10)  # nothing to show: no_text
    assert len(standin.calls_to("chat.postMessage")) == 1, "not retried"
    assert [r.getMessage() for r in caplog.records] == [f"Slack refused a post to {CHANNEL}, dropped: no_text"]


def test_a_post_late_only_for_the_pace_says_so_and_not_that_slack_was_down(standin: SlackStandIn, store: Store) -> None:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    delivery = SlackDelivery(client, store, DeliveryPolicy(late_after=0.5), pacer=ChannelPacer(0.8))
    for n in range(3):
        last = delivery.post(CHANNEL, Reply(f"batch {n}"))
    last.result(timeout=10)

    first, _, third = (m["text"] for m in standin.messages(CHANNEL))
    assert first == "batch 0"
    assert third.startswith("batch 2\n_Delivered 2 s late: it waited its turn behind earlier messages")


def test_a_post_held_by_a_failure_ahead_of_it_says_slack_was_unreachable(standin: SlackStandIn, store: Store) -> None:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    policy = DeliveryPolicy(late_after=0.5, first_retry=1.2)
    standin.fail_next("chat.postMessage", status=503)
    delivery = SlackDelivery(client, store, policy, pacer=ChannelPacer(0.0))
    delivery.post(CHANNEL, Reply("first"))
    delivery.post(CHANNEL, Reply("second")).result(timeout=10)

    assert [m["text"].split("\n")[1] for m in standin.messages(CHANNEL)] == [
        "_Delivered late: Slack was unreachable for 1 s._"
    ] * 2
