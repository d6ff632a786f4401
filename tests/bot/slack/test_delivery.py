"""Slack delivery: per-channel pacing, progress updated in place, Block Kit limits."""

from __future__ import annotations

import threading
import time

from slack_sdk import WebClient

from bot.local.slack_standin import SlackStandIn
from bot.settings import load_settings
from bot.slack.blocks import MAX_BLOCKS, MAX_SECTION_TEXT, code_sections, fit_blocks, section
from bot.slack.delivery import SlackDelivery, SlackProgress, make_web_client
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store


def test_pacer_spaces_one_channel_but_not_others() -> None:
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0])
    assert pacer.reserve("C1") == 0
    assert pacer.reserve("C1") == 1.0
    assert pacer.reserve("C1") == 2.0
    assert pacer.reserve("C2") == 0
    now[0] = 110.0
    assert pacer.reserve("C1") == 0


def test_a_quiet_channel_may_burst_and_then_goes_one_a_second() -> None:
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], burst=3)
    assert [pacer.reserve("C1") for _ in range(5)] == [0, 0, 0, 1.0, 2.0]
    now[0] = 110.0  # quiet again: another burst
    assert [pacer.reserve("C1") for _ in range(4)] == [0, 0, 0, 1.0]
    assert not pacer.try_reserve("C1")


def test_the_workspace_bucket_holds_posts_across_channels() -> None:
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], workspace_per_minute=120, workspace_burst=4)
    # One message to each of six channels: four go at once, then one every half second.
    assert [pacer.reserve(f"C{n}") for n in range(6)] == [0, 0, 0, 0, 0.5, 1.0]
    assert pacer.reserve("C0") == 1.5  # its channel would allow 1.0; the workspace says 1.5


def test_the_delivery_paces_as_its_policy_says() -> None:
    pacer = ChannelPacer.for_policy(DeliveryPolicy.from_env({"OPSBOT_DELIVERY_WORKSPACE_PER_MINUTE": "60"}))
    assert [round(pacer.reserve("C1"), 1) for _ in range(4)] == [0, 0, 0, 1.0]  # the default burst of 3
    assert pacer.reserve("C2") == 0  # another channel; the workspace's burst of 20 is not used up
    waits = [pacer.reserve(f"D{n}") for n in range(16)]  # 5 posts so far: 15 more burst, the next waits
    assert waits[:15] == [0] * 15 and round(waits[15], 1) == 1.0


def test_pacer_holds_across_threads() -> None:
    pacer = ChannelPacer(interval=0.2)
    stamps: list[float] = []

    def post() -> None:
        pacer.wait("C1")
        stamps.append(time.monotonic())

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Five messages need four intervals: the last cannot go out before its booked slot.
    assert max(stamps) - min(stamps) >= 0.79


def test_web_client_uses_slack_api_url() -> None:
    with SlackStandIn() as standin:
        client = make_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-standin", "SLACK_API_URL": standin.api_url}))
        assert client.auth_test()["user_id"] == "U0OPSBOT"


def test_progress_is_one_message_updated_in_place_and_throttled(store: Store) -> None:
    with SlackStandIn() as standin:
        delivery = SlackDelivery(
            WebClient(token="xoxb-standin", base_url=standin.api_url), store, pacer=ChannelPacer(0.0)
        )
        progress = SlackProgress(delivery, "C0DEMO", interval=0.0)
        progress("Scanned 50 versions…")
        progress("Scanned 100 versions…")
        progress("Scanned 150 versions…")
        (message,) = standin.messages("C0DEMO")
        assert message["text"] == "Scanned 150 versions…"
        assert len(standin.calls_to("chat.update")) == 2

        slow = SlackProgress(delivery, "C0OTHER", interval=60)
        slow("first")
        slow("second")
        assert [m["text"] for m in standin.messages("C0OTHER")] == ["first"]


def test_progress_turns_itself_off_when_slack_refuses(store: Store) -> None:
    with SlackStandIn() as standin:
        delivery = SlackDelivery(
            WebClient(token="xoxb-wrong", base_url=standin.api_url), store, pacer=ChannelPacer(0.0)
        )
        progress = SlackProgress(delivery, "C0DEMO", interval=0.0)
        progress("one")
        progress("two")
        assert len(standin.calls_to("chat.postMessage")) == 1  # refused once, then silent


def test_long_tables_are_split_under_the_section_limit() -> None:
    lines = [f"{n:5d}  i-{n:017x}  10.0.{n // 256}.{n % 256}" for n in range(2000)]
    blocks = code_sections(lines)
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks)
    joined = "\n".join(b["text"]["text"].strip("`") for b in blocks)
    assert joined.splitlines() == lines


def test_too_many_blocks_are_cut_with_a_note() -> None:
    blocks = fit_blocks([section(str(n)) for n in range(120)])
    assert len(blocks) == MAX_BLOCKS
    assert "71 more blocks not shown" in blocks[-1]["elements"][0]["text"]


def test_a_busy_channel_neither_blocks_the_caller_nor_delays_other_channels(store: Store) -> None:
    from slack_bolt import Respond

    from bot.reply import Reply

    with SlackStandIn() as standin:
        delivery = SlackDelivery(
            WebClient(token="xoxb-standin", base_url=standin.api_url), store, pacer=ChannelPacer(0.3)
        )
        started = time.monotonic()
        busy = [
            delivery.send(Reply(f"busy {n}"), Respond(response_url=standin.new_response_url("C0BUSY")), "C0BUSY")
            for n in range(5)
        ]
        assert time.monotonic() - started < 0.25, "send() must hand over, not wait for the slot"
        quiet = delivery.send(Reply("quiet"), Respond(response_url=standin.new_response_url("C0QUIET")), "C0QUIET")
        quiet.result(timeout=5)
        assert time.monotonic() - started < 0.25, "another channel's reply must not queue behind C0BUSY"
        for future in busy:
            future.result(timeout=5)
        assert time.monotonic() - started >= 4 * 0.3 - 0.01
        assert [m["text"] for m in standin.messages("C0BUSY")] == [f"busy {n}" for n in range(5)]
