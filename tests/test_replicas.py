"""Replicas on one DynamoDB table (moto over HTTP): threads acting as containers, each with its own
clients and store handle, released together on a barrier, do the same work at once. Nothing doubles:
one post of a tail poll's events, one capacity alert, one scores poll turn (the lead change it may
post), one use of a prune plan."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

from bot.aws import AwsClients
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.state import Store
from commands.lambda_capacity.monitor import CapacityReading, MonitorConfig, check_reading
from commands.lambda_capacity.prune import claim_plan
from commands.lambda_capacity.storage import PLAN_NAMESPACE, PrunePlan
from commands.scores.history import Game
from commands.scores.poller import take_turn
from commands.tail.poller import run_tick
from tests.commands.tail.conftest import put_events
from tests.deploy.test_templates import create_state_table

REPLICAS = 4
T = TypeVar("T")


def at_once(work: Callable[[Store], T], state: str) -> list[T]:
    """`work` in REPLICAS threads, each a container with its own clients and store, started together."""
    stores = [Store.open(state, AwsClients()) for _ in range(REPLICAS)]
    barrier = threading.Barrier(REPLICAS)
    results: list[Any] = [None] * REPLICAS

    def run(n: int) -> None:
        barrier.wait()
        results[n] = work(stores[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(REPLICAS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


class Posts:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self._lock = threading.Lock()

    def __call__(self, channel: str, reply: Reply) -> None:
        with self._lock:
            self.replies.append(reply)


def test_replicas_polling_one_log_group_post_each_event_once(moto: str, tmp_path: Path) -> None:
    state = create_state_table("opsbot-replicas")
    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.tail]\n[[commands.tail.routes]]\nlog_group = "/aws/lambda/orders"\nchannel = "C0L"\n')
    settings = load_settings({"OPSBOT_CONFIG": str(config)})
    aws = AwsClients()
    aws.client("logs").create_log_group(logGroupName="/aws/lambda/orders")
    now_ms = int(time.time() * 1000)
    rows = [{"stream": "s", "timestamp": now_ms - 5000 + i, "message": f"event-{i:03d}\n"} for i in range(40)]
    put_events(aws, "/aws/lambda/orders", rows)
    posts = Posts()

    def poll(store: Store) -> dict[str, int]:
        return run_tick(Runtime(settings, AwsClients(), store).context("job:tail_poller", "", post=posts))

    at_once(poll, state)
    text = "".join(
        json.dumps([r.blocks, r.attachments]) + "".join(f.content.decode() for f in r.files) for r in posts.replies
    )
    assert [text.count(f"event-{i:03d}") for i in range(40)] == [1] * 40
    assert at_once(poll, state) == [{"C0L /aws/lambda/orders": 0}] * REPLICAS, "the cursor was left free"


def test_replicas_checking_one_crossing_alert_once(moto: str) -> None:
    state = create_state_table("opsbot-replicas")
    config = MonitorConfig(threshold_percent=80, alert_channel="CALERTS")
    limit = 75 * 1024**3
    posts = Posts()

    def check(store: Store) -> bool:
        reading = CapacityReading("us-east-1", time.time(), int(limit * 0.85), limit)
        return check_reading(AwsClients(), store, config, reading, posts, UTC).alerted

    assert sorted(at_once(check, state)) == [False] * (REPLICAS - 1) + [True]
    assert len(posts.replies) == 1


def test_replicas_polling_one_game_take_one_turn(moto: str) -> None:
    state = create_state_table("opsbot-replicas")
    game = Game("gameday", "https://scores.example.com/prod", every=60)
    now = time.time()

    turns = at_once(lambda store: take_turn(store, game, now), state)
    assert sum(turn is not None for turn in turns) == 1


def test_replicas_pressing_one_prune_use_the_plan_once(moto: str) -> None:
    state = create_state_table("opsbot-replicas")
    plan = PrunePlan("plan-1", "us-east-1", keep=3, requested_by="UADMIN1", created_at=time.time(), candidates=())
    Store.open(state, AwsClients()).put(PLAN_NAMESPACE, plan.id, {"plan": plan.to_json(), "used_by": None})

    claimed = at_once(lambda store: claim_plan(store, plan.id, "UADMIN1", "pruned", time.time()), state)
    assert sum(isinstance(c, PrunePlan) for c in claimed) == 1
