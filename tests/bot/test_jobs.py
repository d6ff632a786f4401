"""Background jobs survive their own failures and are switched on by settings."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

from bot.aws import AwsClients
from bot.command import CommandContext, Job, SlashCommand
from bot.jobs import configured_jobs, run_forever, start_background_jobs, take_tick
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


def test_a_tick_leased_by_a_replica_that_died_is_not_run_again_but_the_next_one_is(store: Store) -> None:
    job = Job("tick", lambda _s: 60.0, lambda _c: None)
    start = math.floor(time.time() / 60) * 60 + 600  # a tick whose lease has not expired yet
    assert take_tick(store, job, 60.0, start, "dead replica")
    assert not take_tick(store, job, 60.0, start + 30, "live replica")
    assert take_tick(store, job, 60.0, start + 60, "live replica")
