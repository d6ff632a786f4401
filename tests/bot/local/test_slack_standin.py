"""The Slack stand-in itself: injected failures, tokens, waiting for calls, /healthz and its command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.local.slack_standin import SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_a_failed_upload_reaches_the_uploader(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("upload", status=503)

    with pytest.raises(urllib.error.HTTPError) as error:
        client.files_upload_v2(channel="C0DEMO", content=b"data", filename="a.txt")

    assert (error.value.code, error.value.read()) == (503, b"internal_error")
    assert standin.calls_to("files.completeUploadExternal") == []


def test_a_rate_limited_call_succeeds_after_the_retry_handler_waits(standin: SlackStandIn) -> None:
    retrying = WebClient(
        token=standin.bot_token,
        base_url=standin.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    standin.fail_next("chat.postMessage", status=429, retry_after=0)

    response = retrying.chat_postMessage(channel="C0DEMO", text="after the wait")

    assert response["ok"] is True
    assert len(standin.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in standin.messages("C0DEMO")] == ["after the wait"]


def test_a_rate_limit_carries_retry_after(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("auth.test", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as error:
        client.auth_test()

    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"


def test_a_server_error_is_answered_then_the_next_call_succeeds(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("chat.postMessage", status=500)

    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C0DEMO", text="lost")
    client.chat_postMessage(channel="C0DEMO", text="kept")

    assert error.value.response.status_code == 500
    assert error.value.response["error"] == "internal_error"
    assert [m["text"] for m in standin.messages("C0DEMO")] == ["kept"]


def test_a_response_url_can_be_rate_limited(standin: SlackStandIn) -> None:
    url = standin.new_response_url()
    standin.fail_next("response_url", status=429, retry_after=3)

    limited = WebhookClient(url).send(text="first")
    accepted = WebhookClient(url).send(text="second")

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert accepted.status_code == 200
    assert [m["text"] for m in standin.messages("C0DEMO")] == ["second"]


def test_a_wrong_token_is_invalid_auth(standin: SlackStandIn) -> None:
    intruder = WebClient(token="xoxb-wrong", base_url=standin.api_url)

    with pytest.raises(SlackApiError) as error:
        intruder.chat_postMessage(channel="C0DEMO", text="hi")

    assert (error.value.response.status_code, error.value.response["error"]) == (200, "invalid_auth")
    assert standin.messages("C0DEMO") == []


def test_wait_for_returns_once_another_thread_has_posted(standin: SlackStandIn, client: WebClient) -> None:
    poster = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0DEMO", text="later"))
    poster.start()

    [call] = standin.wait_for("chat.postMessage", timeout=5)

    poster.join()
    assert call.params["text"] == "later"
    assert standin.messages("C0DEMO")[0]["text"] == "later"


def test_wait_for_times_out_naming_what_was_recorded(standin: SlackStandIn, client: WebClient) -> None:
    client.auth_test()

    with pytest.raises(TimeoutError, match=r"'chat.postMessage'.*auth.test x1"):
        standin.wait_for("chat.postMessage", timeout=0.05)


def test_healthz_answers_ok(standin: SlackStandIn) -> None:
    with urllib.request.urlopen(f"{standin.base_url}/healthz", timeout=5) as response:
        assert response.read() == b"ok"


def test_the_command_line_serves_until_ctrl_c() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.local.slack_standin", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        api_url = server.stdout.readline().strip()
        assert WebClient(token="xoxb-standin", base_url=api_url).auth_test()["ok"] is True
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=5) == 0
