"""Background jobs survive their own failures and are switched on by settings."""

from __future__ import annotations

import itertools
import math
import threading
import time
from pathlib import Path

from bot.aws import AwsClients
from bot.command import CommandContext, Job, SlashCommand
from bot.jobs import NAMESPACE, configured_jobs, holding, run_forever, start_background_jobs, take_run
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.delivery import SlackDelivery, make_web_client
from bot.state import Store
from commands import COMMANDS


def test_a_failing_job_keeps_running(tmp_path: Path, aws_clients: AwsClients) -> None:
    runs: list[int] = []
    again = threading.Event()

    def flaky(_ctx: CommandContext) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("AWS was down")
        again.set()

    command = SlashCommand(
        "/flaky", "", "", "", lambda _t, _c: Reply("x"), jobs=(Job("flaky", lambda _s: 0.01, flaky),)
    )
    settings = load_settings({"OPSBOT_STATE": str(tmp_path / "a.db")})
    runtime = Runtime.from_settings(settings, aws_clients)
    stop = start_background_jobs([command], runtime, SlackDelivery(make_web_client(settings), runtime.store))
    try:
        assert again.wait(5), "the job must run again after failing"
    finally:
        stop.set()
    assert len(runs) >= 2


def test_capacity_monitor_job_is_on_only_when_configured(tmp_path: Path, aws_clients: AwsClients) -> None:
    off = Runtime.from_settings(load_settings({"OPSBOT_STATE": str(tmp_path / "a.db")}), aws_clients)
    assert configured_jobs(COMMANDS, off) == []

    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.lambda-capacity]\nmonitor_every_seconds = 300\nalert_channel = "C0ALERTS"\n')
    on = Runtime.from_settings(
        load_settings({"OPSBOT_STATE": str(tmp_path / "b.db"), "OPSBOT_CONFIG": str(config)}), aws_clients
    )
    ((job, interval),) = configured_jobs(COMMANDS, on)
    assert (job.name, interval) == ("lambda-capacity", 300)


def _two_replicas_run(stores: list[Store], aws_clients: AwsClients, seconds: float) -> list[tuple[int, int]]:
    """(replica, tick) of every run of a 1-second job that two replicas share for `seconds`."""
    runs: list[tuple[int, int]] = []
    stop = threading.Event()
    threads = []
    for replica, store in enumerate(stores):

        def run(_ctx: CommandContext, replica: int = replica) -> None:
            runs.append((replica, math.floor(time.time())))

        runtime = Runtime(load_settings({}), aws_clients, store)
        delivery = SlackDelivery(make_web_client(runtime.settings), store, background=False)
        args = (Job("tick", lambda _s: 1.0, run), 1.0, runtime, delivery, stop)
        threads.append(threading.Thread(target=run_forever, args=args))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return runs


def test_two_replicas_on_one_sqlite_file_run_each_tick_once(tmp_path: Path, aws_clients: AwsClients) -> None:
    path = str(tmp_path / "shared.db")
    runs = _two_replicas_run([Store.open(path), Store.open(path)], aws_clients, 3.5)
    ticks = [tick for _, tick in runs]
    assert len(ticks) >= 3
    assert len(ticks) == len(set(ticks)), f"a tick ran twice: {runs}"


def test_two_replicas_on_dynamodb_run_each_tick_once(moto: str, aws_clients: AwsClients) -> None:
    from tests.bot.state.test_store import TABLE, create_table

    create_table(aws_clients)
    stores = [Store.open(f"dynamodb://{TABLE}", aws_clients), Store.open(f"dynamodb://{TABLE}", aws_clients)]
    runs = _two_replicas_run(stores, aws_clients, 3.5)
    ticks = [tick for _, tick in runs]
    assert len(ticks) >= 3
    assert len(ticks) == len(set(ticks)), f"a tick ran twice: {runs}"


def test_two_replicas_never_run_a_job_slower_than_its_interval_at_once(tmp_path: Path, aws_clients: AwsClients) -> None:
    path = str(tmp_path / "shared.db")
    spans: list[tuple[float, float]] = []
    stop = threading.Event()

    def slow(_ctx: CommandContext) -> None:  # 0.7 s of work every 0.5 s, as AWS answering late
        started = time.monotonic()
        time.sleep(0.7)
        spans.append((started, time.monotonic()))

    threads = []
    for _replica in range(2):
        store = Store.open(path)
        runtime = Runtime(load_settings({}), aws_clients, store)
        delivery = SlackDelivery(make_web_client(runtime.settings), store, background=False)
        args = (Job("slow", lambda _s: 0.5, slow), 0.5, runtime, delivery, stop, 0.4)  # renewed mid-run
        threads.append(threading.Thread(target=run_forever, args=args))
    for thread in threads:
        thread.start()
    stop.wait(4)
    stop.set()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) >= 3
    overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
    assert not overlaps, f"two runs overlapped: {overlaps}"


def test_a_lease_held_by_a_replica_that_died_blocks_the_job_until_it_expires(store: Store) -> None:
    now = time.time()
    assert take_run(store, "tick", 10, "dead replica", now, 30.0)
    assert take_run(store, "tick", 11, "live replica", now + 29, 30.0) is None, "the lease is still held"
    assert take_run(store, "tick", 12, "live replica", now + 31, 30.0), "an expired lease is free"


def test_a_tick_runs_once_even_after_its_run_released_the_lease(store: Store) -> None:
    now = time.time()
    lease = take_run(store, "tick", 10, "first", now, 30.0)
    assert lease is not None
    with holding(store, "tick", lease, 30.0):
        pass
    assert take_run(store, "tick", 10, "late replica", now + 1, 30.0) is None
    assert take_run(store, "tick", 9, "replica whose clock is behind", now + 1, 30.0) is None
    assert take_run(store, "tick", 11, "late replica", now + 1, 30.0)


def test_a_longer_interval_after_a_redeploy_still_runs(store: Store) -> None:
    now = time.time()
    assert take_run(store, "tick", math.floor(now / 10) * 10, "every 10 s", now, 30.0)
    store.put(NAMESPACE, "tick", {**store.get(NAMESPACE, "tick").value, "holder": ""})  # type: ignore[union-attr]
    later = now + 300
    assert take_run(store, "tick", math.floor(later / 300) * 300, "every 300 s", later, 30.0)


def test_the_heartbeat_keeps_a_long_run_leased(store: Store) -> None:
    now = time.time()
    lease = take_run(store, "slow", 1, "runner", now, 0.3)
    assert lease is not None
    with holding(store, "slow", lease, 0.3):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until a renewal pushes the lease past its first expiry
            stored = store.get(NAMESPACE, "slow")
            if stored is not None and stored.value["until"] > now + 0.3:
                break
        assert take_run(store, "slow", 2, "other", now + 0.35, 0.3) is None, "a renewed lease is still held"
    assert take_run(store, "slow", 2, "other", time.time(), 0.3), "the end of the run released it"
