"""A /scores context on a real SQLite store with a clock the test moves, and the simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from bot.reply import Reply
from bot.settings import Settings, load_settings
from bot.state import Store

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
ADMIN, USER = "UADMIN1", "UUSER01"


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Posted:
    messages: list[tuple[str, Reply]] = field(default_factory=list)

    def __call__(self, channel: str, reply: Reply) -> None:
        self.messages.append((channel, reply))


def scores_settings(tmp_path: Path, **options: object) -> Settings:
    lines = ["[commands.scores]", 'allow_http_hosts = ["127.0.0.1"]']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]  # JSON scalars are TOML too
    config = tmp_path / "opsbot.toml"
    config.write_text("\n".join(lines) + "\n")
    return load_settings({"OPSBOT_ADMINS": ADMIN, "OPSBOT_CONFIG": str(config), "OPSBOT_TIMEZONE": "Europe/Berlin"})


@pytest.fixture
def simulator() -> Iterator[tuple[str, ScoreboardGame]]:
    with scoreboard_server(ScoreboardGame(slow_seconds=3)) as served:
        yield served


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def posted() -> Posted:
    return Posted()


@pytest.fixture
def make_ctx(tmp_path: Path, store: Store, clock: Clock, posted: Posted) -> Callable[..., CommandContext]:
    aws = AwsClients()

    def make(user: str = USER, settings: Settings | None = None, **options: object) -> CommandContext:
        return CommandContext(
            settings or scores_settings(tmp_path, **options),
            aws,
            store,
            user_id=user,
            channel_id="CCHAN01",
            clock=clock,
            post=posted,
        )

    return make
