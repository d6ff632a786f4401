"""The Slack stand-in, driven over HTTP by the real slack_sdk clients."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending as client_frame
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from bot.local.slack_socket import OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, accept_key
from bot.local.slack_standin import SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=standin.bot_token, base_url=standin.api_url, retry_handlers=[])


def test_auth_test_names_the_bot(client: WebClient) -> None:
    response = client.auth_test()

    assert response["user_id"] == "U0OPSBOT"
    assert response["team_id"] == "T0STANDIN"


def test_a_posted_then_updated_message_shows_the_new_text(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deploying*"}}]
    posted = client.chat_postMessage(channel="C0DEMO", text="deploying", blocks=blocks)
    client.chat_update(channel="C0DEMO", ts=posted["ts"], text="deployed")

    [message] = standin.messages("C0DEMO")
    assert message["ts"] == posted["ts"]
    assert message["text"] == "deployed"
    assert message["blocks"] == blocks  # chat.update without blocks keeps them, as Slack does
    assert [call.method for call in standin.calls] == ["chat.postMessage", "chat.update"]


def test_message_timestamps_increase(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0DEMO", text=str(n))["ts"] for n in range(3)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3


def test_form_encoded_blocks_are_recorded_as_objects(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", params={"channel": "C0DEMO", "blocks": json.dumps(blocks)})

    [call] = standin.calls_to("chat.postMessage")
    assert call.params["blocks"] == blocks
    assert standin.messages("C0DEMO")[0]["blocks"] == blocks


def test_a_message_needs_a_channel_and_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", params={"channel": "C0DEMO"})
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="", text="hello")

    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "channel_not_found"


def test_updating_an_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.chat_update(channel="C0DEMO", ts="1.000100", text="nope")

    assert error.value.response["error"] == "message_not_found"


def test_an_ephemeral_message_is_seen_by_its_user_only(standin: SlackStandIn, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C0DEMO", user="U0ALICE", text="only you")

    [message] = standin.messages("C0DEMO")
    assert message["ts"] == response["message_ts"]
    assert (message["response_type"], message["ephemeral_to"]) == ("ephemeral", "U0ALICE")


def test_files_upload_v2_stores_the_bytes_and_shares_them(standin: SlackStandIn, client: WebClient) -> None:
    content = bytes(range(256)) * 4

    response = client.files_upload_v2(
        channel="C0DEMO", content=content, filename="chart.png", title="CPU", initial_comment="last hour"
    )

    file_id = response["file"]["id"]
    assert standin.uploads[file_id]["content"] == content
    assert standin.uploads[file_id]["length"] == len(content)
    assert (standin.uploads[file_id]["title"], standin.uploads[file_id]["channel"]) == ("CPU", "C0DEMO")
    [message] = standin.messages("C0DEMO")
    assert message["text"] == "last hour"
    assert message["files"] == [{"id": file_id, "name": "chart.png", "title": "CPU", "size": len(content)}]
    methods = [call.method for call in standin.calls]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_a_failed_upload_reaches_the_uploader(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("upload", status=503)

    with pytest.raises(urllib.error.HTTPError) as error:
        client.files_upload_v2(channel="C0DEMO", content=b"data", filename="a.txt")

    assert (error.value.code, error.value.read()) == (503, b"internal_error")
    assert standin.calls_to("files.completeUploadExternal") == []


def test_completing_an_unknown_upload_is_file_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}], channel_id="C0DEMO")

    assert error.value.response["error"] == "file_not_found"


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


def test_response_url_replies_show_and_replace_the_original(standin: SlackStandIn) -> None:
    webhook = WebhookClient(standin.new_response_url("C0OPS"))

    working = webhook.send(text="working…")
    webhook.send(text="3 instances", response_type="in_channel", replace_original=True)
    webhook.send(text="also this", response_type="in_channel")

    assert (working.status_code, working.body) == (200, "ok")
    shown = [(m["text"], m["response_type"]) for m in standin.messages("C0OPS")]
    assert shown == [("3 instances", "in_channel"), ("also this", "in_channel")]
    assert standin.calls_to("response_url")[0].params["text"] == "working…"


def test_delete_original_removes_the_response(standin: SlackStandIn) -> None:
    webhook = WebhookClient(standin.new_response_url())
    webhook.send(text="working…")

    webhook.send_dict({"delete_original": True})

    assert standin.messages("C0DEMO") == []


def test_an_unknown_response_url_is_404(standin: SlackStandIn) -> None:
    response = WebhookClient(f"{standin.base_url}/response/nope").send(text="hello")

    assert (response.status_code, response.body) == (404, "no_response_url")
    assert standin.calls_to("response_url")[0].params["response_url_id"] == "nope"


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


def test_an_unknown_method_is_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.api_call("reactions.add", params={"name": "tada"})

    assert error.value.response["error"] == "unknown_method"


def test_conversations_and_users(client: WebClient) -> None:
    assert client.conversations_info(channel="C0DEMO")["channel"]["is_member"] is True
    assert client.conversations_join(channel="C0DEMO")["ok"] is True
    assert [c["name"] for c in client.conversations_list()["channels"]] == ["demo"]
    assert client.users_info(user="U0ALICE")["user"]["tz"] == "Europe/Berlin"


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


# -- Socket Mode ---------------------------------------------------------------------------


def _eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return result


def _socket_url(standin: SlackStandIn) -> str:
    return str(WebClient(base_url=standin.api_url).apps_connections_open(app_token=standin.app_token)["url"])


def test_apps_connections_open_takes_only_the_app_token(standin: SlackStandIn, client: WebClient) -> None:
    url = client.apps_connections_open(app_token=standin.app_token)["url"]

    assert re.fullmatch(rf"ws://127\.0\.0\.1:{standin.port}/link/\?ticket=\w+", url)
    for token, error in ((standin.bot_token, "not_allowed_token_type"), ("xapp-wrong", "invalid_auth")):
        with pytest.raises(SlackApiError) as refused:
            client.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error
    with pytest.raises(SlackApiError) as app_token_posting:
        WebClient(token=standin.app_token, base_url=standin.api_url).chat_postMessage(channel="C0DEMO", text="hi")
    assert app_token_posting.value.response["error"] == "not_allowed_token_type"


def test_the_socket_needs_a_ticket_and_an_upgrade(standin: SlackStandIn) -> None:
    with pytest.raises(urllib.error.HTTPError) as no_ticket:
        urllib.request.urlopen(f"{standin.base_url}/link/?ticket=guessed", timeout=5)
    with pytest.raises(urllib.error.HTTPError) as no_upgrade:
        urllib.request.urlopen(_socket_url(standin).replace("ws://", "http://"), timeout=5)

    assert (no_ticket.value.code, no_ticket.value.read()) == (403, b"invalid_ticket")
    assert (no_upgrade.value.code, no_upgrade.value.read()) == (400, b"expected Upgrade: websocket")


def test_sending_over_the_socket_needs_a_connected_app(standin: SlackStandIn) -> None:
    with pytest.raises(ConnectionError, match="no Socket Mode client is connected"):
        standin.send_slash_command_over_socket("/echo", "hi")
    with pytest.raises(KeyError):
        standin.wait_for_ack("never-sent", timeout=0.01)


def test_slack_sdks_socket_mode_client_gets_hello_pongs_and_whole_envelopes(standin: SlackStandIn) -> None:
    messages: list[dict[str, Any]] = []
    closes: list[int] = []
    sdk = SocketModeClient(
        standin.app_token,
        web_client=WebClient(base_url=standin.api_url),
        auto_reconnect_enabled=False,  # so the stand-in's stop() below ends it; close() alone waits out a 3 s read
        on_close_listeners=[lambda code, reason: closes.append(code)],
    )

    def echo(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, {"text": request.payload["text"]}))

    sdk.message_listeners.append(lambda client, message, raw: messages.append(message))
    sdk.socket_mode_request_listeners.append(echo)
    try:
        sdk.connect()
        # Lengths of 7 bits, 16 bits and 64 bits, both ways: the client masks its frames, the stand-in does not.
        for size in (10, 300, 70_000):
            envelope_id = standin.send_slash_command_over_socket("/echo", "x" * size, user_id="U0ALICE")
            ack, seconds = standin.wait_for_ack(envelope_id, timeout=5)
            assert ack == {"envelope_id": envelope_id, "payload": {"text": "x" * size}}
            assert 0 <= seconds < 5
        assert _eventually(lambda: sdk.current_session and sdk.current_session.last_ping_pong_time)
        standin.stop()
        assert _eventually(lambda: closes) == [1001]
    finally:
        sdk.close()

    [hello] = [m for m in messages if m.get("type") == "hello"]
    assert hello["num_connections"] == 1
    envelopes = [m for m in messages if m.get("type") == "slash_commands"]
    assert len(envelopes) == 3
    assert all(e["accepts_response_payload"] is True for e in envelopes)
    assert {(e["payload"]["command"], e["payload"]["user_id"]) for e in envelopes} == {("/echo", "U0ALICE")}
    assert len(standin.calls_to("socket_ack")) == 3


def _server_frame(stream: BinaryIO) -> tuple[int, bytes]:
    first, second = stream.read(2)
    assert not second & 0x80, "a server must not mask its frames"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", stream.read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", stream.read(8))
    return first, stream.read(length)


def _upgraded(standin: SlackStandIn, key: str = "dGhlIHNhbXBsZSBub25jZQ==") -> tuple[socket.socket, BinaryIO]:
    path = _socket_url(standin).split(str(standin.port), 1)[1]
    sock = socket.create_connection((standin.host, standin.port), timeout=5)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {standin.host}\r\nUpgrade: websocket\r\n"
        f"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    stream = sock.makefile("rb")
    assert stream.readline() == b"HTTP/1.1 101 Switching Protocols\r\n"
    headers = []
    while (line := stream.readline()) != b"\r\n":
        headers.append(line.decode().strip())
    assert f"Sec-WebSocket-Accept: {accept_key(key)}" in headers
    return sock, stream


def test_the_websocket_follows_rfc_6455(standin: SlackStandIn) -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # the RFC's own example
    sock, stream = _upgraded(standin)
    with sock, stream:
        first, hello = _server_frame(stream)
        assert (first, json.loads(hello)["type"]) == (0x80 | OP_TEXT, "hello")

        sock.sendall(client_frame(b"are you there", OP_PING))
        assert _server_frame(stream) == (0x80 | OP_PONG, b"are you there")

        sock.sendall(client_frame('{"envelope_id": "e1",', OP_TEXT, fin=0))
        sock.sendall(client_frame(b"still here", OP_PING))  # control frames may come between fragments
        sock.sendall(client_frame(' "payload": {"text": "ok"}}', OP_CONTINUATION))
        assert _server_frame(stream) == (0x80 | OP_PONG, b"still here")
        [call] = standin.wait_for("socket_ack")
        assert call.params == {"envelope_id": "e1", "payload": {"text": "ok"}}

        sock.sendall(client_frame(struct.pack("!H", 1000), OP_CLOSE))
        assert _server_frame(stream) == (0x80 | OP_CLOSE, struct.pack("!H", 1000))
        assert stream.read(1) == b""  # then the server hangs up


def test_an_unmasked_client_frame_is_a_protocol_error(standin: SlackStandIn) -> None:
    sock, stream = _upgraded(standin)
    with sock, stream:
        _server_frame(stream)  # hello

        sock.sendall(bytes([0x80 | OP_TEXT, 2]) + b"{}")

        first, payload = _server_frame(stream)
        assert (first, payload[:2]) == (0x80 | OP_CLOSE, struct.pack("!H", 1002))
        assert stream.read(1) == b""


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
