"""A Slack stand-in over real HTTP on loopback, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.local.slack_standin import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin
