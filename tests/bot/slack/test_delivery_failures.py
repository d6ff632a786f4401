"""Slack failing on every way out, each through the stand-in's fault injection: what is retried,
what is final, and that a queued record is sent by one process only."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from slack_bolt import Respond
from slack_sdk import WebClient

from bot.local.slack_standin import SlackStandIn
from bot.reply import Attachment, Reply
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import NAMESPACE, DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store

FAST = DeliveryPolicy(first_retry=0.05, max_retry=0.2)


def delivery_to(standin: SlackStandIn, store: Store, policy: DeliveryPolicy = FAST, **kw: bool) -> SlackDelivery:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    return SlackDelivery(client, store, policy, pacer=ChannelPacer(0.0), **kw)


def test_a_response_url_answering_5xx_or_hanging_up_is_retried_until_it_takes_the_reply(
    standin: SlackStandIn, store: Store
) -> None:
    standin.fail_next("response_url", status=503, times=2)
    # The connection closes unanswered, twice: more than slack_sdk's own one retry of a dropped connection.
    standin.fail_next("response_url", status=0, times=2)
    url = standin.new_response_url()
    delivery_to(standin, store).send(Reply("ready"), Respond(response_url=url), "C0DEMO").result(timeout=10)
    assert [reply["text"] for reply in standin.replies_to(url)] == ["ready"]
    assert len(standin.calls_to("response_url")) == 5
    assert store.items(NAMESPACE) == [], "a delivered reply leaves the queue"


def test_a_reply_is_in_the_store_while_slack_refuses_it(standin: SlackStandIn, store: Store) -> None:
    standin.outage("response_url")
    url = standin.new_response_url()
    delivery = delivery_to(standin, store)
    sent = delivery.send(Reply("kept"), Respond(response_url=url), "C0DEMO")
    standin.wait_for("response_url", count=3)
    ((_, stored),) = store.items(NAMESPACE)
    assert stored.value["body"]["text"] == "kept" and stored.value["url"] == url
    standin.heal()
    sent.result(timeout=10)
    assert standin.replies_to(url)[0]["text"] == "kept"


def test_a_4xx_refusal_is_final_logged_once_and_never_retried(
    standin: SlackStandIn, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    standin.fail_next("response_url", status=404)
    url = standin.new_response_url()
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        delivery_to(standin, store).send(Reply("gone"), Respond(response_url=url), "C0DEMO").result(timeout=10)
    assert len(standin.calls_to("response_url")) == 1
    assert store.items(NAMESPACE) == []
    (line,) = [r.getMessage() for r in caplog.records]
    assert "Slack refused a respond to C0DEMO" in line and "404" in line


def test_a_failed_upload_is_told_to_the_user_privately(standin: SlackStandIn, store: Store) -> None:
    standin.fail_next("upload", status=503)  # retried
    standin.fail_next("files.getUploadURLExternal", status=503)  # retried
    url = standin.new_response_url()
    delivery = delivery_to(standin, store)
    files = (Attachment("ok.txt", b"fine"),)
    delivery.send(Reply("one file", files=files), Respond(response_url=url), "C0DEMO").result(timeout=10)
    shared = [u["content"] for u in standin.uploads.values() if u.get("channel") == "C0DEMO"]
    assert shared == [b"fine"], "the retried upload is shared once, whole"

    standin.fail_next("files.getUploadURLExternal", status=400)  # final
    url = standin.new_response_url()
    files = (Attachment("config.txt", b"Host x"),)
    delivery.send(Reply("see the file", files=files), Respond(response_url=url), "C0DEMO")
    first, note = standin.replies_to(url, count=2)
    assert first["text"] == "see the file"
    assert note["response_type"] == "ephemeral"
    assert note["text"].startswith("(Could not upload config.txt: Slack answered 400")
    asked = [c for c in standin.calls_to("files.getUploadURLExternal") if c.params["filename"] == "config.txt"]
    assert len(asked) == 1, "a 400 is final"


def test_the_bots_web_client_waits_out_retry_after_on_429(standin: SlackStandIn, store: Store) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=2)
    delivery_to(standin, store).post("C0ALERTS", Reply("disk full")).result(timeout=10)
    refused, sent = standin.calls_to("chat.postMessage")
    assert sent.at - refused.at >= 1.9, "Retry-After: 2 was not honoured"
    assert [m["text"] for m in standin.messages("C0ALERTS")] == ["disk full"]


def test_an_alert_past_its_deadline_is_dropped_not_retried_forever(
    standin: SlackStandIn, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    standin.outage("chat.postMessage")
    policy = DeliveryPolicy(first_retry=0.05, max_retry=0.1, post_deadline=0.5)
    with caplog.at_level(logging.ERROR, logger="bot.slack.delivery"):
        delivery_to(standin, store, policy).post("C0ALERTS", Reply("stale")).result(timeout=10)
    assert store.items(NAMESPACE) == []
    assert any("gave up on a post to C0ALERTS" in r.getMessage() for r in caplog.records)


def test_two_processes_sharing_a_store_send_each_record_once(standin: SlackStandIn, tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    # One queues without sending (as a Lambda invocation would), then both drain the same queue.
    first = delivery_to(standin, Store.open(path), background=False)
    second = delivery_to(standin, Store.open(path), background=False)
    urls = [standin.new_response_url() for _ in range(10)]
    for n, url in enumerate(urls):
        first.send(Reply(f"reply {n}", public=False), Respond(response_url=url), "C0DEMO")
    threads = [threading.Thread(target=d.flush, args=(10,)) for d in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(standin.replies_to(url)) for url in urls] == [1] * 10
    assert len(standin.calls_to("response_url")) == 10
