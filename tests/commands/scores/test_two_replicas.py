"""Two replicas of `opsbot serve` poll one game through one state store while the scoreboard answers
slower than the game's interval: the lead change reaches the Slack stand-in once, on SQLite and on
DynamoDB (moto). And the poll state's compare-and-set alone: a poll that another run overtook
while it was fetching posts nothing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.jobs import run_forever
from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from bot.local.slack_standin import SlackStandIn
from bot.runtime import Runtime
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from commands.scores import JOB
from commands.scores.history import POLLS, Game, PollState, save_game
from commands.scores.options import ScoresOptions
from commands.scores.poller import fetcher_for, run_tick
from tests.bot.state.test_store import TABLE, create_table
from tests.commands.scores.conftest import Clock, Posted, scores_settings

CHANNEL = "C0SCORES"
AFTER_THE_LEAD_CHANGE = 14  # the simulator's step at which Lambda Llamas leads


def lead_change_posts(standin: SlackStandIn) -> list[str]:
    return [m["text"] for m in standin.messages(CHANNEL) if "overtakes" in m.get("text", "")]


def a_game_led_by_unicorn_ops(store: Store, url: str, every: float) -> None:
    save_game(store, Game("gd", url, every))
    store.put(POLLS, "gd", asdict(PollState(leader="Unicorn Ops")))


@pytest.fixture
def slow_board() -> Iterator[str]:
    with scoreboard_server(ScoreboardGame(slow_seconds=1.5)) as (base, _game):
        yield f"{base}/slow?step={AFTER_THE_LEAD_CHANGE}"


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_two_replicas_with_a_slow_scoreboard_post_the_lead_change_once(
    backend: str, tmp_path: Path, slow_board: str, moto: str, aws_clients: AwsClients
) -> None:
    settings = scores_settings(tmp_path, channel=CHANNEL, tick_seconds=1)
    if backend == "dynamodb":
        create_table(aws_clients)

    def open_store() -> Store:
        return (
            Store.open(f"dynamodb://{TABLE}", aws_clients)
            if backend == "dynamodb"
            else Store.open(str(tmp_path / "shared.db"))
        )

    a_game_led_by_unicorn_ops(open_store(), slow_board, every=1.0)  # a poll takes 1.5 s: slower than that
    stop = threading.Event()
    with SlackStandIn() as standin:
        runners, deliveries = [], []
        for _replica in range(2):
            store = open_store()
            client = WebClient(token=standin.bot_token, base_url=standin.api_url)
            delivery = SlackDelivery(client, store, DeliveryPolicy(first_retry=0.05), pacer=ChannelPacer(0.0))
            deliveries.append(delivery)
            args = (JOB, 1.0, Runtime(settings, aws_clients, store), delivery, stop, 0.9)
            runners.append(threading.Thread(target=run_forever, args=args, daemon=True))
        try:
            for runner in runners:
                runner.start()
            deadline = time.monotonic() + 60
            while not lead_change_posts(standin) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(5)  # a second replica that would announce it again has its chance to
        finally:
            stop.set()
            for runner in runners:
                runner.join(30)
            for delivery in deliveries:
                delivery.flush(10)
                delivery.stop()
        posts = lead_change_posts(standin)
    assert len(posts) == 1, f"the lead change was posted {len(posts)} times"
    assert "Lambda Llamas" in posts[0]


def test_a_poll_overtaken_while_it_fetched_posts_nothing(
    make_ctx: Callable[..., CommandContext], clock: Clock, posted: Posted, tmp_path: Path
) -> None:
    with scoreboard_server() as (base, _game):
        url = f"{base}/prod/scores?step={AFTER_THE_LEAD_CHANGE}"
        replica_a = make_ctx(channel=CHANNEL)
        # Another replica has a store handle of its own on the same file (and its own polls in flight).
        replica_b = dataclasses.replace(make_ctx(channel=CHANNEL), store=Store.open(str(tmp_path / "state.db")))
        a_game_led_by_unicorn_ops(replica_a.store, url, every=30)
        clock_b = Clock(clock.now)
        real_fetch = fetcher_for(ScoresOptions.from_settings(replica_a.settings))
        replica_b.clock = clock_b

        def a_slow_fetch(target: str) -> bytes:
            # Replica A's fetch takes longer than the game's interval: replica B polls meanwhile.
            clock_b.advance(30)
            run_tick(replica_b)
            return real_fetch(target)

        outcomes = run_tick(replica_a, fetcher=a_slow_fetch)

    assert [o.superseded for o in outcomes] == [True]
    charts = [reply.text for _, reply in posted.messages if "overtakes" in reply.text]
    assert len(charts) == 1, f"the lead change was posted {len(charts)} times"
