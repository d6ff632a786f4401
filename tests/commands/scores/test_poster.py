"""The periodic poster through the real delivery to the Slack stand-in over HTTP: the live table is
one message edited in place, and the chart's PNG reaches the channel."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_sdk import WebClient

from bot.command import CommandContext
from bot.local.scoreboard import ScoreboardGame
from bot.local.slack_standin import SlackStandIn
from bot.slack.delivery import SlackDelivery
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from commands.scores.history import Game, save_game
from commands.scores.poller import run_tick
from tests.commands.scores.conftest import Clock

CHANNEL = "C0SCORES"


@pytest.fixture
def slack(store: Store) -> Iterator[tuple[SlackStandIn, SlackDelivery]]:
    with SlackStandIn() as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        yield standin, SlackDelivery(client, store, pacer=ChannelPacer(0.0))


def _ticks(ctx: CommandContext, clock: Clock, delivery: SlackDelivery, count: int) -> None:
    for _ in range(count):
        run_tick(ctx)
        delivery.flush(10)  # as a Lambda invocation does before it returns: nothing left queued
        clock.advance(30)


def test_three_ticks_post_the_live_table_once_and_edit_it_twice(
    make_ctx: Callable[..., CommandContext],
    simulator: tuple[str, ScoreboardGame],
    clock: Clock,
    slack: tuple[SlackStandIn, SlackDelivery],
) -> None:
    standin, delivery = slack
    base, _game = simulator
    ctx = make_ctx(channel=CHANNEL)
    ctx.post = delivery.post
    save_game(ctx.store, Game("gd", f"{base}/prod/scores", 30))
    _ticks(ctx, clock, delivery, 3)
    (posted,) = standin.calls_to("chat.postMessage")
    updates = standin.calls_to("chat.update")
    (message,) = standin.messages(CHANNEL)
    assert [u.params["ts"] for u in updates] == [message["ts"]] * 2
    assert message["text"].startswith("*gd*") and "Unicorn Ops" in message["text"]
    assert message["text"] != posted.params["text"], "the edit carries the newer table"


def test_the_chart_posted_on_a_lead_change_reaches_the_channel_as_a_png(
    make_ctx: Callable[..., CommandContext],
    simulator: tuple[str, ScoreboardGame],
    clock: Clock,
    slack: tuple[SlackStandIn, SlackDelivery],
) -> None:
    standin, delivery = slack
    base, _game = simulator
    ctx = make_ctx(channel=CHANNEL)
    ctx.post = delivery.post
    save_game(ctx.store, Game("gd", f"{base}/prod/scores", 30))
    _ticks(ctx, clock, delivery, 14)  # the lead changes hands before step 12
    (upload,) = standin.uploads.values()
    assert upload["channel"] == CHANNEL and upload["content"].startswith(b"\x89PNG")
    texts = [m.get("text", "") for m in standin.messages(CHANNEL)]
    chart_at = next(i for i, text in enumerate(texts) if "overtakes" in text)
    assert "files" in standin.messages(CHANNEL)[chart_at + 1], "the chart follows its message"
    # One live table before the chart, a new one below it: three messages besides the file.
    assert len([t for t in texts if t.startswith("*gd*")]) == 2 and len(texts) == 4
