"""Background jobs survive their own failures and are switched on by settings."""

from __future__ import annotations

import threading
from pathlib import Path

from slack_sdk import WebClient

from bot.app import Runtime
from bot.aws import AwsClients
from bot.jobs import Job, configured_jobs, start
from bot.settings import load_settings


def test_a_failing_job_keeps_running() -> None:
    runs: list[int] = []
    again = threading.Event()

    def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("AWS was down")
        again.set()

    stop = start([Job("flaky", 0.01, flaky)])
    try:
        assert again.wait(5), "the job must run again after failing"
    finally:
        stop.set()
    assert len(runs) >= 2


def test_capacity_monitor_job_is_on_only_when_configured(tmp_path: Path, aws_clients: AwsClients) -> None:
    client = WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/")
    off = Runtime.from_settings(load_settings({"OPSBOT_STATE": str(tmp_path / "a.db")}), aws_clients)
    assert configured_jobs(off, client) == []

    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.lambda-capacity]\nmonitor_every_seconds = 300\nalert_channel = "C0ALERTS"\n')
    on = Runtime.from_settings(
        load_settings({"OPSBOT_STATE": str(tmp_path / "b.db"), "OPSBOT_CONFIG": str(config)}), aws_clients
    )
    (job,) = configured_jobs(on, client)
    assert (job.name, job.interval_seconds) == ("lambda-capacity", 300)
