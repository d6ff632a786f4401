"""The poller over moto's FilterLogEvents and one SQLite store: late events and a restart neither
lose nor repeat a line; the cursor moves only once the post is queued."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.jobs import configured_jobs
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from bot.state import Store
from commands.tail import COMMAND
from commands.tail.poller import run_tick
from tests.commands.tail.conftest import put_events

CHANNEL = "C0LOGS1234"
GROUP = "/aws/lambda/orders"


@dataclass
class Posted:
    messages: list[tuple[str, Reply]] = field(default_factory=list)
    refuse: bool = False

    def __call__(self, channel: str, reply: Reply) -> None:
        if self.refuse:
            raise RuntimeError("the outbox is unreachable")
        self.messages.append((channel, reply))

    def lines(self) -> list[str]:
        return [
            m
            for _, reply in self.messages
            for m in re.findall(r"line-[0-9]+", json.dumps([reply.blocks, reply.attachments]))
        ]


def poll_settings(tmp_path: Path) -> Settings:
    config = tmp_path / "opsbot.toml"
    config.write_text(
        f'[commands.tail]\npoll_every_seconds = 10\n[[commands.tail.routes]]\nlog_group = "{GROUP}"\n'
        f'channel = "{CHANNEL}"\n'
    )
    return load_settings({"OPSBOT_CONFIG": str(config)})


def a_process(tmp_path: Path, aws: AwsClients, posted: Posted) -> CommandContext:
    """What one `opsbot serve` would hold: its own store handle on the shared SQLite file."""
    store = Store.open(str(tmp_path / "state.db"))
    return Runtime(poll_settings(tmp_path), aws, store).context("job:tail_poller", "", post=posted)


def lines(at_ms: int, numbers: range) -> list[dict[str, object]]:
    return [{"stream": "s", "timestamp": at_ms + n, "message": f"line-{n}\n"} for n in numbers]


@pytest.fixture
def group(moto: str, aws_clients: AwsClients) -> int:
    aws_clients.client("logs").create_log_group(logGroupName=GROUP)
    return int(time.time() * 1000) - 60_000


def test_late_events_and_a_restart_neither_lose_nor_repeat_a_line(
    tmp_path: Path, aws_clients: AwsClients, group: int
) -> None:
    posted = Posted()
    put_events(aws_clients, GROUP, lines(group, range(0, 20)))
    run_tick(a_process(tmp_path, aws_clients, posted))
    assert posted.lines() == [f"line-{n}" for n in range(20)]

    # CloudWatch delivers a late one (older than the newest delivered) and new ones; then a restart.
    late = [{"stream": "late", "timestamp": group + 3, "message": "line-100\n"}]
    put_events(aws_clients, GROUP, late + lines(group, range(20, 30)))
    restarted = a_process(tmp_path, aws_clients, posted)
    run_tick(restarted)
    run_tick(restarted)

    delivered = posted.lines()
    assert sorted(delivered) == sorted({*delivered}), "a line was posted twice"
    assert set(delivered) == {f"line-{n}" for n in [*range(30), 100]}, "a line was lost"
    assert all(channel == CHANNEL for channel, _ in posted.messages)


def test_the_cursor_moves_only_after_the_post_is_queued(tmp_path: Path, aws_clients: AwsClients, group: int) -> None:
    posted = Posted(refuse=True)
    put_events(aws_clients, GROUP, lines(group, range(0, 5)))
    run_tick(a_process(tmp_path, aws_clients, posted))  # logged, not raised: the job runs again next tick
    assert posted.lines() == []

    posted.refuse = False
    run_tick(a_process(tmp_path, aws_clients, posted))

    assert posted.lines() == [f"line-{n}" for n in range(5)]


def test_the_job_is_on_only_with_routes_and_an_interval(tmp_path: Path, aws_clients: AwsClients) -> None:
    runtime = Runtime(poll_settings(tmp_path), aws_clients, Store.open(str(tmp_path / "s.db")))
    assert [(job.name, every) for job, every in configured_jobs([COMMAND], runtime)] == [("tail_poller", 10.0)]

    bare = Runtime(load_settings({}), aws_clients, runtime.store)
    assert configured_jobs([COMMAND], bare) == []
