"""The bot's runtime on moto, a token, and the real WSGI app serving it: for the routes and the ProxyCommand."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator

import pytest

from bot.aws import AwsClients
from bot.http import OpsbotWsgi, make_server
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.state import Store
from bot.tokens import issue_token
from commands import COMMANDS


@pytest.fixture
def runtime(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> Runtime:
    return Runtime(settings, aws_clients, store)


@pytest.fixture
def token(store: Store) -> str:
    return issue_token(store, "UUSER01")


@contextlib.contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    settings = dataclasses.replace(
        runtime.settings, slack_bot_token="xoxb-unused", slack_signing_secret="unused-secret", http_threads=4
    )  # Bolt insists on a token, the server on a secret
    runtime = dataclasses.replace(runtime, settings=settings)
    wsgi = OpsbotWsgi(runtime, build_app(runtime, COMMANDS, verify_token=False), COMMANDS)
    server = make_server(wsgi, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()


@pytest.fixture
def served(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as url:
        yield url
