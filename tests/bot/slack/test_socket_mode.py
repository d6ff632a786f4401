"""Socket Mode end to end: the real app behind slack_bolt's SocketModeHandler, as `opsbot serve`
runs it, on a real WebSocket to the Slack stand-in. Envelopes go in, acks come back on the
socket, replies leave for response_urls over HTTP. Only the slow command is a fixture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.aws import AwsClients
from bot.command import CommandContext, SlashCommand
from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.app import build_app
from commands import COMMANDS

ROOT = Path(__file__).resolve().parents[3]
WORKER_THREADS = 8
SLOW_COMMANDS = 12  # more than Bolt's default 5 threads, the socket client's 10 and our 8 workers


def _slow(text: str, ctx: CommandContext) -> Reply:
    time.sleep(2)
    return Reply(f"done {text}")


SLOW = SlashCommand(name="/slow", summary="Slow", usage_hint="WORD", help="Takes two seconds.", handle=_slow)


@dataclass
class SocketBot:
    standin: SlackStandIn
    handler: SocketModeHandler


@pytest.fixture(scope="module")
def socket_bot(tmp_path_factory: pytest.TempPathFactory, aws_clients: AwsClients) -> Iterator[SocketBot]:
    # One connection for the module: SocketModeClient.close() takes ~3 s (it waits out a socket read).
    with SlackStandIn() as standin:
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_APP_TOKEN": standin.app_token,
                "SLACK_API_URL": standin.api_url,
                "OPSBOT_STATE": str(tmp_path_factory.mktemp("socket-mode") / "state.db"),
                "OPSBOT_WORKER_THREADS": str(WORKER_THREADS),
            }
        )
        settings.require_slack(socket_mode=True)
        app = build_app(Runtime.from_settings(settings, aws_clients), commands=[*COMMANDS, SLOW], socket_mode=True)
        handler = SocketModeHandler(app, settings.slack_app_token)  # as bot/cli.py serves it
        handler.connect()  # start() would also block this thread forever
        try:
            yield SocketBot(standin, handler)
        finally:
            handler.close()
            app.listener_runner.listener_executor.shutdown(wait=True)


def test_the_socket_url_comes_from_the_configured_api_with_the_app_token(socket_bot: SocketBot) -> None:
    standin = socket_bot.standin
    opened = standin.calls_to("apps.connections.open")

    assert opened, "SocketModeHandler did not ask SLACK_API_URL for a socket URL"
    assert {call.headers["authorization"] for call in opened} == {f"Bearer {standin.app_token}"}
    assert socket_bot.handler.client.is_connected()


def test_help_is_acked_at_once_and_answered_privately(socket_bot: SocketBot) -> None:
    standin = socket_bot.standin
    url = standin.new_response_url()

    envelope_id = standin.send_slash_command_over_socket("/eb-ip", "help", response_url=url)
    ack, seconds = standin.wait_for_ack(envelope_id, timeout=3)

    assert ack == {"envelope_id": envelope_id}
    assert seconds < 1.0
    [reply] = standin.replies_to(url)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("*/eb-ip* — ")
    assert "Usage: `/eb-ip " in reply["text"]


def test_acks_stay_fast_while_slow_commands_fill_every_pool(socket_bot: SocketBot) -> None:
    standin = socket_bot.standin
    # One channel each: replies to one channel are paced at one a second, as Slack asks.
    channels = [f"C0SLOW{n:02d}" for n in range(SLOW_COMMANDS)]
    urls = [standin.new_response_url(channel) for channel in channels]

    def ack_seconds(n: int) -> float:
        envelope_id = standin.send_slash_command_over_socket(
            "/slow", str(n), channel_id=channels[n], response_url=urls[n]
        )
        return standin.wait_for_ack(envelope_id, timeout=3)[1]

    with ThreadPoolExecutor(SLOW_COMMANDS) as senders:
        seconds = list(senders.map(ack_seconds, range(SLOW_COMMANDS)))

    assert max(seconds) < 1.0, seconds
    for n, url in enumerate(urls):  # ~4 s: two rounds of 2 s on the 8 workers
        assert standin.replies_to(url, timeout=10)[0]["text"] == f"done {n}"


def test_opsbot_serve_answers_over_socket_mode_and_stops_on_ctrl_c(moto_url: str, tmp_path: Path) -> None:
    with SlackStandIn() as standin:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSBOT_"))}
        env.update(
            SLACK_BOT_TOKEN=standin.bot_token,
            SLACK_APP_TOKEN=standin.app_token,
            SLACK_API_URL=standin.api_url,
            OPSBOT_STATE=str(tmp_path / "serve.db"),
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            standin.wait_for_socket_client(timeout=30)
            url = standin.new_response_url()
            envelope_id = standin.send_slash_command_over_socket("/eb-ip", "help", response_url=url)

            ack, seconds = standin.wait_for_ack(envelope_id, timeout=3)
            reply = standin.replies_to(url)[0]
        finally:
            server.send_signal(signal.SIGINT)
            _, log = server.communicate(timeout=10)

    assert ack == {"envelope_id": envelope_id}
    assert seconds < 1.0
    assert "Usage: `/eb-ip " in reply["text"]
    assert server.returncode == 0, log
    assert "opsbot serving Slack over Socket Mode" in log
    assert "Traceback" not in log
