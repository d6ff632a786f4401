"""A reply others thread under (a follow's first message) is posted so its ts is known; posts under
its key, and their files, land in its thread; a channel that refuses it is told to the caller."""

from __future__ import annotations

from slack_bolt import Respond

from bot.local.slack_standin import SlackStandIn
from bot.reply import Attachment, Reply
from bot.state import Store
from tests.bot.slack.test_delivery_posts import delivery_to

CHANNEL = "C0FOLLOW"


def test_thread_posts_and_their_files_go_under_the_reply_posted_with_the_key(
    standin: SlackStandIn, store: Store
) -> None:
    delivery = delivery_to(standin, store)
    url = standin.new_response_url(CHANNEL)

    sent = delivery.send(
        Reply("orders: 3 invocations", replace_key="tail-follow-1"), Respond(response_url=url), CHANNEL
    )
    delivery.post(CHANNEL, Reply("Following with Live Tail.", thread_key="tail-follow-1"))
    delivery.post(
        CHANNEL, Reply("orders: 1 invocation", thread_key="tail-follow-1", files=(Attachment("tail.txt", b"x"),))
    ).result(timeout=10)

    assert sent.result(timeout=10) is True
    assert standin.calls_to("response_url") == []  # posted, so that it has a ts
    parent, *thread = standin.messages(CHANNEL)
    assert parent["text"] == "orders: 3 invocations" and "thread_ts" not in parent
    assert [m.get("text") for m in thread] == ["Following with Live Tail.", "orders: 1 invocation", ""]
    assert all(m["thread_ts"] == parent["ts"] for m in thread)  # the file's message too


def test_a_channel_that_refuses_the_reply_is_told_to_the_caller_and_the_future_says_so(
    standin: SlackStandIn, store: Store
) -> None:
    delivery = delivery_to(standin, store)
    url = standin.new_response_url(CHANNEL)
    standin.fail_next("chat.postMessage", status=200, error="not_in_channel")

    sent = delivery.send(
        Reply("orders: 3 invocations", replace_key="tail-follow-2"), Respond(response_url=url), CHANNEL
    )

    assert sent.result(timeout=10) is False
    (note,) = standin.replies_to(url)
    assert note["response_type"] == "ephemeral"
    assert note["text"].startswith("Could not post in this channel: Slack answered not_in_channel.")


def test_a_thread_post_whose_parent_never_went_out_lands_in_the_channel(standin: SlackStandIn, store: Store) -> None:
    delivery_to(standin, store).post(CHANNEL, Reply("a line", thread_key="tail-follow-never")).result(timeout=10)

    (message,) = standin.messages(CHANNEL)
    assert message["text"] == "a line" and "thread_ts" not in message
