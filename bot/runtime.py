"""What a running bot shares across requests, built once per process: settings, AWS clients, the store."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.settings import Settings
from bot.state import Store

# Set by an entry point whose work has a hard end (a Lambda invocation) around that work; every
# context built meanwhile on that thread carries it as `CommandContext.deadline`.
WORK_DEADLINE: ContextVar[float | None] = ContextVar("WORK_DEADLINE", default=None)
# Seconds an entry point keeps after WORK_DEADLINE for the last posts to leave.
DELIVERY_ROOM = 20.0


@dataclass(frozen=True)
class Runtime:
    """What a running bot shares across requests: built once per process."""

    settings: Settings
    aws: AwsClients
    store: Store
    clock: Callable[[], datetime] | None = None  # the commands' "now"; None: the real time (the demo skips ahead)

    @classmethod
    def from_settings(cls, settings: Settings, aws: AwsClients | None = None) -> Runtime:
        aws = aws or AwsClients()
        return cls(settings, aws, Store.open(settings.state_url, aws))

    def context(self, user_id: str, channel_id: str, **kw: Any) -> CommandContext:
        if self.clock is not None:
            kw.setdefault("clock", self.clock)
        kw.setdefault("deadline", WORK_DEADLINE.get())
        return CommandContext(self.settings, self.aws, self.store, user_id=user_id, channel_id=channel_id, **kw)
