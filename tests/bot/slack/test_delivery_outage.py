"""Replies survive a Slack outage and a restart of the bot: through the real Bolt app, the
stand-in's fault injection and, for the restart, `opsbot serve --http` killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.command import SlashCommand
from bot.local.slack_requests import send_signed, slash_command_form
from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.slack.outbox import NAMESPACE
from bot.state import Store
from tests.conftest import SIGNING_SECRET, Bot

ROOT = Path(__file__).resolve().parents[3]
OUTAGE = float(os.environ.get("OPSBOT_TEST_OUTAGE_SECONDS", "60"))  # bench: 8, 20, 60
ECHO = SlashCommand("/echo", "Echo", "WORDS", "", lambda text, _ctx: Reply(f"reply {text}"))


def test_a_slack_outage_in_the_middle_of_20_replies_loses_none(
    serve_bot: Callable[..., Bot], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSBOT_DELIVERY_MAX_RETRY_SECONDS", "2")
    bot = serve_bot([ECHO])
    urls = [bot.send(str(n))[1] for n in range(5)]
    for url in urls:  # all five delivered before Slack goes down, however busy the machine
        bot.standin.replies_to(url, timeout=30)
    bot.standin.outage("response_url", seconds=OUTAGE, status=503)
    started = time.monotonic()
    urls += [bot.send(str(n))[1] for n in range(5, 15)]
    bot.standin.wait_for("response_url", count=10, timeout=30)  # it refuses them: they are queued
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - started)))
    urls += [bot.send(str(n))[1] for n in range(15, 20)]

    replies = [bot.standin.replies_to(url, timeout=90) for url in urls]
    time.sleep(2)  # a duplicate would arrive now
    assert [len(bot.standin.replies_to(url)) for url in urls] == [1] * 20
    assert [r[0]["text"].split("\n")[0] for r in replies] == [f"reply {n}" for n in range(20)]
    # Commands sent together are answered in any order; what the outage held still goes before what follows.
    shown = [int(m["text"].split("\n")[0].removeprefix("reply ")) for m in bot.standin.messages("C0DEMO")]
    assert [set(shown[:5]), set(shown[5:15]), set(shown[15:])] == [set(range(5)), set(range(5, 15)), set(range(15, 20))]
    late = [n for n, r in enumerate(replies) if "Delivered late: Slack was unreachable" in r[0]["text"]]
    if OUTAGE > 40:
        assert late == list(range(5, 15)), [r[0]["text"] for r in replies]
    else:
        assert set(late) <= set(range(5, 15)), [r[0]["text"] for r in replies]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"opsbot serve did not start: {log.read_text()}")


def _all_tried(state: Path, count: int) -> bool:
    """`count` replies queued, each refused by Slack at least once."""
    queued = Store.open(str(state)).items(NAMESPACE)
    return len(queued) == count and all(stored.value["attempts"] > 0 for _, stored in queued)


def test_a_restart_in_the_middle_of_20_replies_loses_none(moto: str, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    log = tmp_path / "serve.log"
    with SlackStandIn() as standin:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.api_url,
            "OPSBOT_STATE": str(state),
            "OPSBOT_DELIVERY_MAX_RETRY_SECONDS": "1",
            "OPSBOT_DELIVERY_LEASE_SECONDS": "3",  # what the killed process held is free after this
            "OPSBOT_DELIVERY_SWEEP_SECONDS": "1",
            "OPSBOT_DELIVERY_LATE_SECONDS": "5",
        }
        port = _free_port()
        events = f"http://127.0.0.1:{port}/slack/events"

        def send(n: int) -> str:
            url = standin.new_response_url()
            assert send_signed(events, SIGNING_SECRET, slash_command_form("/eb-ip", "help", url)).status == 200
            return url

        bot = _serve(env, port, log)
        try:
            urls = [send(n) for n in range(5)]
            for url in urls:
                standin.replies_to(url, timeout=30)
            standin.outage("response_url", status=503)
            urls += [send(n) for n in range(5, 20)]
            # Killed only once Slack has refused each of the 15 and the outbox has counted that attempt:
            # a reply never tried before the kill is late because of the restart, not because Slack
            # was unreachable, and says so (a busy machine once killed it before reply 7's first try).
            deadline = time.monotonic() + 60
            while not _all_tried(state, 15) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _all_tried(state, 15), Store.open(str(state)).items(NAMESPACE)
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=30)

        time.sleep(5)  # so that what is delivered after the restart is late
        bot = _serve(env, port, log)
        try:
            standin.heal()
            replies = [standin.replies_to(url, timeout=60) for url in urls]
            time.sleep(2)  # a duplicate would arrive now
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        assert [len(standin.replies_to(url)) for url in urls] == [1] * 20
        assert all("Usage" in r[0]["text"] for r in replies)
        late = [n for n, r in enumerate(replies) if "Delivered late: Slack was unreachable" in r[0]["text"]]
        assert late == list(range(5, 20))
        assert Store.open(str(state)).items(NAMESPACE) == []
