"""Shared fixtures: a real moto server on loopback, settings, a state store, a command context.

Fake AWS credentials are forced here so no test can ever reach a real account.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext, SlashCommand
from bot.http import OpsbotWsgi, make_server
from bot.local.aws import moto_server, reset_moto, use_fake_credentials
from bot.local.slack_requests import send_signed, slash_command_form
from bot.local.slack_standin import SlackStandIn
from bot.local.sshd import LocalSshd, MemoryKey, SshdUnavailable, local_sshd, new_key
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from bot.slack.app import build_app
from bot.state import Store

# Before any client is built: no test may ever reach a real account.
use_fake_credentials()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server: a real HTTP AWS endpoint. boto3 finds it through AWS_ENDPOINT_URL."""
    with moto_server() as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        yield url
        os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def moto(moto_url: str) -> str:
    """A moto server emptied before the test."""
    reset_moto(moto_url)
    return moto_url


@pytest.fixture(scope="session")
def aws_clients(moto_url: str) -> AwsClients:
    # One per session: clients are expensive to build and thread-safe to share.
    return AwsClients()


@pytest.fixture
def settings() -> Settings:
    return load_settings({"OPSBOT_ADMINS": "UADMIN1", "OPSBOT_TIMEZONE": "Europe/Berlin"})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(str(tmp_path / "state.db"))


SIGNING_SECRET = "test-signing-secret"


@dataclass
class Bot:
    """The bot served over real HTTP (waitress), talking to a Slack stand-in over real HTTP."""

    standin: SlackStandIn
    events_url: str
    runtime: Runtime

    @property
    def base_url(self) -> str:
        return self.events_url.removesuffix("/slack/events")

    def send(
        self, text: str, command: str = "/echo", user_id: str = "U0DEMO", timestamp: int | None = None
    ) -> tuple[int, str]:
        response_url = self.standin.new_response_url()
        form = slash_command_form(command, text, response_url, user_id=user_id)
        delivery = send_signed(self.events_url, SIGNING_SECRET, form, timestamp=timestamp)
        return delivery.status, response_url

    def reply_to(self, response_url: str) -> dict[str, Any]:
        return self.standin.replies_to(response_url)[0]


@pytest.fixture
def serve_bot(tmp_path: Path, aws_clients: AwsClients) -> Iterator[Callable[..., Bot]]:
    """Call with the commands to register; the servers stop after the test."""
    stack = ExitStack()

    def serve(commands: Sequence[SlashCommand], **env: str) -> Bot:
        standin = stack.enter_context(SlackStandIn())
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": standin.api_url,
                "OPSBOT_STATE": str(tmp_path / "bot-state.db"),
                "OPSBOT_WORKER_THREADS": "8",
                "OPSBOT_HTTP_THREADS": "16",
                **env,
            }
        )
        runtime = Runtime.from_settings(settings, aws_clients)
        app = build_app(runtime, commands=commands)
        server = make_server(OpsbotWsgi(runtime, app, commands), host="127.0.0.1", port=0)
        threading.Thread(target=server.run, daemon=True).start()
        stack.callback(server.task_dispatcher.shutdown)  # close() alone leaves waitress's workers
        stack.callback(server.close)
        return Bot(standin, f"http://127.0.0.1:{server.effective_port}/slack/events", runtime)

    with stack:
        yield serve


@pytest.fixture
def ctx(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> CommandContext:
    """A context for a Slack user (not an admin) talking to a fresh moto."""
    return CommandContext(settings, aws_clients, store, user_id="UUSER01", channel_id="CCHAN01")


@pytest.fixture
def client_key() -> MemoryKey:
    """The bot's SSH key (a test module may override it with another type)."""
    return new_key("ed25519")


@pytest.fixture
def sshd(client_key: MemoryKey) -> Iterator[LocalSshd]:
    """OpenSSH's sshd on loopback, trusting `client_key`; skipped, with the reason, only where it cannot start."""
    try:
        with local_sshd([client_key.public_line]) as server:
            yield server
    except SshdUnavailable as why:
        pytest.skip(f"no local sshd: {why}")
