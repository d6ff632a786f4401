"""Around the Lambda entry point: Slack secrets in the environment, a stand-in, a state file, a fresh container."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import lambda_handler
from bot.local.slack_standin import SlackStandIn

SECRET = "lambda-signing-secret"


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: str) -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        monkeypatch.setenv("SLACK_BOT_TOKEN", standin.bot_token)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "state.db"))
        lambda_handler.forget_container()
        yield standin
        lambda_handler.forget_container()
