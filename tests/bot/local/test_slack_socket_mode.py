"""The Slack stand-in's Socket Mode: tickets, the WebSocket by RFC 6455, envelopes and acks, with slack_sdk's client."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, BinaryIO

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending as client_frame
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.local.slack_socket import OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, accept_key
from bot.local.slack_standin import SlackStandIn


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
