"""The HTTP server under attack: route work never starves Slack's acks, each token is rate-limited,
and every bad request is refused with one line. Real waitress on loopback, the real Bolt app, signed
requests; the routes here are small fixtures on a fixture command, the plumbing is real."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from bot.command import CommandContext, HttpRequest, HttpResponse, Route, SlashCommand
from bot.http_limits import TokenBuckets
from bot.local.slack_requests import button_press_form, slash_command_form
from bot.reply import Reply
from bot.tokens import issue_token
from tests.conftest import SIGNING_SECRET

if TYPE_CHECKING:
    from tests.conftest import Bot

HTTP_THREADS = 4  # so two route slots, two threads always left for Slack
released = threading.Event()


def _hold(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    released.wait(timeout=20)  # AWS that takes its time
    return HttpResponse(200, "held\n")


def _ping(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    return HttpResponse(200, "pong\n")


def _crash(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    raise RuntimeError("secret internals")


ROUTED = SlashCommand(
    name="/routed",
    summary="Routes",
    usage_hint="",
    help="Has routes.",
    handle=lambda text, ctx: Reply(f"ran {text}"),
    routes=(
        Route("GET", re.compile("/hold"), _hold),
        Route("GET", re.compile("/ping"), _ping),
        Route("GET", re.compile("/crash"), _crash),
        Route("POST", re.compile("/post-only"), _ping),
    ),
    buttons={"press_me": lambda value, ctx: Reply(f"pressed {value}")},
)


@pytest.fixture
def bot(serve_bot: Callable[..., Bot]) -> Iterator[Bot]:
    released.clear()
    served = serve_bot([ROUTED], OPSBOT_HTTP_THREADS=str(HTTP_THREADS), OPSBOT_ROUTE_BURST="3", OPSBOT_ROUTE_RATE="0.1")
    yield served
    released.set()


def call(bot: Bot, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple:
    """(status, headers, body) of one request on its own connection."""
    port = int(bot.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read().decode(errors="replace")
    finally:
        conn.close()


def bearer(bot: Bot, user: str = "UUSER01") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(bot.runtime.store, user)}"}


def signed(body: bytes, content_type: str = "application/x-www-form-urlencoded", **extra: str) -> dict[str, str]:
    ts = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}", **extra}


def command(bot: Bot, text: str = "hello", name: str = "/routed") -> tuple[bytes, str]:
    url = bot.standin.new_response_url()
    return urllib.parse.urlencode(slash_command_form(name, text, url)).encode(), url


def one_line(body: str) -> bool:
    return body.endswith("\n") and body.count("\n") == 1 and len(body) < 200


# -- route work never starves the acks


def test_acks_and_healthz_answer_at_once_while_route_lookups_hold_every_route_slot(bot: Bot) -> None:
    auth = bearer(bot)
    with ThreadPoolExecutor(8) as pool:
        held = [pool.submit(call, bot, "GET", "/hold", b"", auth) for _ in range(HTTP_THREADS // 2)]
        time.sleep(0.5)  # both slots taken, waiting on "AWS"
        refused = call(bot, "GET", "/ping", b"", auth)
        started = time.monotonic()
        status, response_url = bot.send("while busy", command="/routed")
        ack_seconds = time.monotonic() - started
        health = call(bot, "GET", "/healthz")
        released.set()
        assert [f.result()[0] for f in held] == [200, 200]

    assert status == 200 and ack_seconds < 3.0
    assert health[0] == 200
    assert refused[0] == 503 and refused[1]["Retry-After"] == "1" and one_line(refused[2])
    assert bot.reply_to(response_url)["text"] == "ran while busy"


def test_each_token_gets_a_burst_then_429_with_retry_after(bot: Bot) -> None:
    mine, theirs = bearer(bot, "UUSER01"), bearer(bot, "UUSER02")
    statuses = [call(bot, "GET", "/ping", b"", mine)[0] for _ in range(3)]
    status, headers, body = call(bot, "GET", "/ping", b"", mine)

    assert statuses == [200, 200, 200]
    assert status == 429 and int(headers["Retry-After"]) >= 1 and one_line(body)
    assert call(bot, "GET", "/ping", b"", theirs)[0] == 200  # another token is not slowed


def test_token_buckets_refill_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a"), buckets.take("a")] == [0, 0, 1]
    now[0] = 0.5
    assert buckets.take("a") == 0
    assert buckets.take("b") == 0


# -- routes: every failure one line


def test_route_refusals_are_one_line(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    auth = bearer(bot)
    wrong_method = call(bot, "GET", "/post-only", b"", auth)
    crash = call(bot, "GET", "/crash", b"", auth)
    too_big = call(bot, "POST", "/slack/events", b"x" * (300 * 1024), {"Content-Type": "text/plain"})

    assert wrong_method[0] == 405 and wrong_method[1]["Allow"] == "POST" and one_line(wrong_method[2])
    assert crash[0] == 500 and one_line(crash[2]) and "secret internals" not in crash[2]
    assert too_big[0] == 413 and one_line(too_big[2])
    assert "route /crash failed" in caplog.text  # our bug: the log has the traceback


# -- /slack/events: checked before Bolt sees it


MALFORMED = {
    "non-numeric timestamp": lambda body: {**signed(body), "X-Slack-Request-Timestamp": "soon"},
    "no signature headers": lambda body: {"Content-Type": "application/x-www-form-urlencoded"},
    "JSON content type, form body, unsigned": lambda body: {"Content-Type": "application/json"},
    "JSON content type, form body": lambda body: signed(body, "application/json"),
    "Bolt's lazy-only header": lambda body: signed(body, **{"X-Slack-Bolt-Lazy-Only": "1"}),
    "stale timestamp": lambda body: {**signed(body), "X-Slack-Request-Timestamp": str(int(time.time()) - 600)},
    "wrong signature": lambda body: {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_slack_request_gets_one_line_4xx_and_no_traceback(
    bot: Bot, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, _ = command(bot)
    status, _, answer = call(bot, "POST", "/slack/events", body, MALFORMED[case](body))

    assert status in (400, 401) and one_line(answer), (status, answer)
    assert "Traceback" not in caplog.text and "Error" not in caplog.text
    time.sleep(0.3)  # what running it would have needed to reply
    assert not bot.standin.calls_to("response_url")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"text=\xff\xfe", "application/x-www-form-urlencoded"), (b"payload=%ZZ", "application/x-www-form-urlencoded"),
     (b"[1]", "application/json")],
)  # fmt: skip
def test_signed_body_bolt_cannot_read_gets_400(bot: Bot, body: bytes, content_type: str) -> None:
    status, _, answer = call(bot, "POST", "/slack/events", body, signed(body, content_type))
    assert status == 400 and one_line(answer)


def test_get_on_slack_events_is_405(bot: Bot) -> None:
    status, headers, answer = call(bot, "GET", "/slack/events")
    assert status == 405 and headers["Allow"] == "POST" and one_line(answer)


def test_oversized_body_is_refused_from_its_content_length_before_it_is_sent(bot: Bot) -> None:
    port = int(bot.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Length", str(100 << 20))
    conn.endheaders()  # and not one byte of the body: a server that waited for it would time out
    assert conn.getresponse().status == 413
    conn.close()


def test_oversized_chunked_body_is_refused_with_one_line(bot: Bot) -> None:
    port = int(bot.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    chunks = iter([b"x" * (100 * 1024)] * 3)
    conn.request("POST", "/slack/events", body=chunks, headers={"Content-Type": "text/plain"}, encode_chunked=True)
    answer = conn.getresponse()
    assert answer.status == 413 and one_line(answer.read().decode())
    conn.close()


def test_a_replayed_signed_command_runs_once_and_the_replay_gets_an_empty_ack(bot: Bot) -> None:
    body, response_url = command(bot, "once")
    headers = signed(body)
    first = call(bot, "POST", "/slack/events", body, headers)
    replays = [call(bot, "POST", "/slack/events", body, headers) for _ in range(2)]

    assert first[0] == 200
    assert [(status, answer) for status, _, answer in replays] == [(200, ""), (200, "")]
    assert bot.reply_to(response_url)["text"] == "ran once"
    time.sleep(1)  # what a second run would have needed to reply
    assert len(bot.standin.calls_to("response_url")) == 1


def test_a_replayed_button_press_runs_once(bot: Bot) -> None:
    response_url = bot.standin.new_response_url()
    body = urllib.parse.urlencode(button_press_form("press_me", "v1", response_url)).encode()
    headers = signed(body)
    assert [call(bot, "POST", "/slack/events", body, headers)[0] for _ in range(2)] == [200, 200]
    assert bot.reply_to(response_url)["text"] == "pressed v1"
    time.sleep(1)
    assert len(bot.standin.calls_to("response_url")) == 1


# -- the log


def test_command_text_is_logged_as_a_bounded_escaped_excerpt(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.app")
    text = "line1\nFORGED log line " + "y" * 5000
    body, _ = command(bot, text)
    assert call(bot, "POST", "/slack/events", body, signed(body))[0] == 200
    time.sleep(0.5)
    (record,) = [r for r in caplog.records if r.getMessage().startswith("/routed by")]
    message = record.getMessage()
    assert len(message) < 300 and "\n" not in message and f"({len(text)} characters)" in message


def test_bolt_never_logs_a_request_body(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    body, _ = command(bot, "SECRET-TEXT", name="/not-registered")  # signed: it reaches Bolt, no listener takes it
    assert call(bot, "POST", "/slack/events", body, signed(body))[0] == 404
    assert "Unhandled request (body not logged)" in caplog.text
    assert "SECRET-TEXT" not in caplog.text
