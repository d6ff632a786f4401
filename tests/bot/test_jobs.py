"""Background jobs survive their own failures and are switched on by settings."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.aws import AwsClients
from bot.command import CommandContext, Job, SlashCommand
from bot.jobs import configured_jobs, start_background_jobs
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.delivery import SlackDelivery, make_web_client
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
