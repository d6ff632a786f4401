"""Shared fixtures: a real moto server on loopback, settings, a state store, a command context.

Fake AWS credentials are forced here so no test can ever reach a real account.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
)

from moto.server import ThreadedMotoServer  # noqa: E402

from bot.aws import AwsClients  # noqa: E402
from bot.command import CommandContext  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from bot.state import Store  # noqa: E402


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server: a real HTTP AWS endpoint. boto3 finds it through AWS_ENDPOINT_URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    os.environ.pop("AWS_ENDPOINT_URL", None)
    server.stop()


@pytest.fixture
def moto(moto_url: str) -> str:
    """A moto server emptied before the test."""
    urllib.request.urlopen(urllib.request.Request(moto_url + "/moto-api/reset", method="POST")).read()
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


@pytest.fixture
def ctx(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> CommandContext:
    """A context for a Slack user (not an admin) talking to a fresh moto."""
    return CommandContext(settings, aws_clients, store, user_id="UUSER01", channel_id="CCHAN01")
