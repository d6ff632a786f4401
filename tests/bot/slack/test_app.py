"""The Bolt wiring end to end: signed requests over real HTTP (waitress) into the app, replies out
to the Slack stand-in over real HTTP. The commands here are small fixtures; the plumbing is real."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from slack_bolt.request import BoltRequest

from bot.aws import AwsClients
from bot.command import CommandContext, CommandError, SlashCommand, UsageError
from bot.local.slack_requests import send_signed, slash_command_form
from bot.reply import Attachment, Reply
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError
from bot.slack.app import build_app
from bot.state import Store

if TYPE_CHECKING:
    from tests.conftest import Bot

SECRET = "test-signing-secret"


def _echo(text: str, ctx: CommandContext) -> Reply:
    if text == "boom":
        raise RuntimeError("secret internals")
    if text == "bad":
        raise UsageError("That is not a word I know.")
    if text == "missing":
        raise CommandError("No environment called missing.")
    if text == "file":
        return Reply("here is a file", files=(Attachment("report.txt", b"hello file", "Report"),))
    if text.startswith("slow"):
        time.sleep(float(text.split()[1]))
    return Reply(f"echo {text} for {ctx.user_id}")


ECHO = SlashCommand(name="/echo", summary="Echo", usage_hint="WORD", help="Echoes a word.", handle=_echo)


@pytest.fixture
def bot(serve_bot: Callable[..., Bot]) -> Bot:
    return serve_bot([ECHO])


def test_bot_checks_its_token_with_auth_test_at_start(bot: Bot) -> None:
    assert len(bot.standin.calls_to("auth.test")) >= 1


def test_signed_command_is_acked_and_answered_in_channel(bot: Bot) -> None:
    status, url = bot.send("hello")
    assert status == 200
    reply = bot.reply_to(url)
    assert reply["text"] == "echo hello for U0DEMO"
    assert reply["response_type"] == "in_channel"


def test_help_is_ephemeral_usage(bot: Bot) -> None:
    _, url = bot.send("help")
    reply = bot.reply_to(url)
    assert reply["response_type"] == "ephemeral"
    assert "Usage: `/echo WORD`" in reply["text"]


def test_usage_error_is_ephemeral_with_usage(bot: Bot) -> None:
    _, url = bot.send("bad")
    reply = bot.reply_to(url)
    assert reply == {**reply, "response_type": "ephemeral"}
    assert reply["text"] == "That is not a word I know.\nUsage: `/echo WORD`"


def test_command_error_is_one_ephemeral_sentence(bot: Bot) -> None:
    _, url = bot.send("missing")
    assert bot.reply_to(url)["text"] == "No environment called missing."


def test_crash_never_reaches_the_channel_as_a_trace(bot: Bot) -> None:
    _, url = bot.send("boom")
    reply = bot.reply_to(url)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "/echo failed unexpectedly; the error is in the bot's log."
    assert "secret internals" not in reply["text"] and "Traceback" not in reply["text"]


def test_files_go_through_files_upload_v2(bot: Bot) -> None:
    _, url = bot.send("file")
    assert bot.reply_to(url)["text"] == "here is a file"
    bot.standin.wait_for("files.completeUploadExternal")
    (upload,) = bot.standin.uploads.values()
    assert upload["content"] == b"hello file"
    assert upload["channel"] == "C0DEMO"
    assert not bot.standin.calls_to("files.upload")


def test_forged_signature_is_rejected(bot: Bot) -> None:
    form = slash_command_form("/echo", "hello", bot.standin.new_response_url())
    assert send_signed(bot.events_url, "not-the-secret", form).status == 401


def test_stale_signature_is_rejected(bot: Bot) -> None:
    # Signed correctly, only old: Bolt would refuse it too, so the answer names the gate's own check.
    form = slash_command_form("/echo", "hello", bot.standin.new_response_url())
    answer = send_signed(bot.events_url, SECRET, form, timestamp=int(time.time()) - 10 * 60)
    assert (answer.status, answer.body) == (401, "stale request: X-Slack-Request-Timestamp is over 5 minutes off\n")
    assert not bot.standin.calls_to("response_url")


def test_acks_stay_fast_while_slow_commands_fill_the_workers(bot: Bot) -> None:
    # 12 commands that each take 2 s, more than the 8 workers: acks must not wait for them.
    results: list[float] = []

    def fire() -> None:
        form = slash_command_form("/echo", "slow 2", bot.standin.new_response_url())
        results.append(send_signed(bot.events_url, SECRET, form).seconds)

    threads = [threading.Thread(target=fire) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12
    assert max(results) < 1.5, results
    bot.standin.wait_for("response_url", count=12, timeout=15)


def test_a_rate_limited_response_url_is_retried(bot: Bot) -> None:
    bot.standin.fail_next("response_url", status=429, retry_after=1)
    _, url = bot.send("again")
    assert bot.reply_to(url)["text"] == "echo again for U0DEMO"
    bot.standin.wait_for("response_url", count=2)


def test_healthz(bot: Bot) -> None:
    import urllib.request

    with urllib.request.urlopen(bot.events_url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200 and response.read() == b"ok\n"


def test_start_up_logs_no_misleading_token_warning(
    serve_bot: Callable[..., Bot], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-standin")  # Bolt reads it by itself
    with caplog.at_level("WARNING"):
        serve_bot([ECHO])
    assert "token` will be unused" not in caplog.text


def test_no_http_app_without_a_signing_secret(settings: Settings, aws_clients: AwsClients, store: Store) -> None:
    runtime = Runtime(dataclasses.replace(settings, slack_bot_token="xoxb-1"), aws_clients, store)
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        build_app(runtime, [ECHO], verify_token=False)


def test_socket_mode_needs_no_signing_secret(settings: Settings, aws_clients: AwsClients, store: Store) -> None:
    runtime = Runtime(dataclasses.replace(settings, slack_bot_token="xoxb-1"), aws_clients, store)
    app = build_app(runtime, [ECHO], verify_token=False, socket_mode=True)
    app.listener_runner.listener_executor.shutdown()


def test_bolt_logs_no_body_when_its_own_verification_fails(
    settings: Settings, aws_clients: AwsClients, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret_settings = dataclasses.replace(settings, slack_bot_token="xoxb-1", slack_signing_secret="s")
    app = build_app(Runtime(secret_settings, aws_clients, store), [ECHO], verify_token=False)
    headers = {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=0"}
    response = app.dispatch(BoltRequest(body="text=SECRET-BODY", headers=headers))
    app.listener_runner.listener_executor.shutdown()
    assert response.status == 401
    assert "Invalid request signature detected (body not logged)" in caplog.text
    assert "SECRET-BODY" not in caplog.text
