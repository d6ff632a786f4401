"""The WebSocket half of the Slack stand-in: just enough RFC 6455 for Socket Mode.

Slack's Socket Mode is JSON text frames over one WebSocket: Slack sends envelopes, the app
answers each with an ack. The stand-in's HTTP server upgrades `GET /link/` to a `SocketLink`;
this module knows frames and the handshake, `slack_socket_mode` knows what the frames say.
No extensions or compression, and binary messages are dropped: slack_sdk's clients use none of them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BufferedIOBase

logger = logging.getLogger(__name__)

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_DATA, CLOSE_TOO_BIG = 1000, 1001, 1002, 1007, 1009
MAX_PAYLOAD = 16 * 1024 * 1024  # far above any Slack envelope; guards against a garbled length


class ProtocolError(Exception):
    """The peer broke RFC 6455; the connection is closed with `code`."""

    def __init__(self, message: str, code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


def upgrade_refusal(headers: Mapping[str, str]) -> str | None:
    """Why a GET (headers lower-cased) is not a WebSocket upgrade this server speaks, or None."""
    if headers.get("upgrade", "").lower() != "websocket":
        return "expected Upgrade: websocket"
    if "upgrade" not in [token.strip().lower() for token in headers.get("connection", "").split(",")]:
        return "expected Connection: Upgrade"
    if headers.get("sec-websocket-version") != "13":
        return "expected Sec-WebSocket-Version: 13"
    try:
        if len(base64.b64decode(headers.get("sec-websocket-key", ""), validate=True)) != 16:
            raise ValueError
    except ValueError:
        return "expected a Sec-WebSocket-Key of 16 random bytes, base64-encoded"
    return None


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame: servers never mask (section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def _read_exactly(stream: BufferedIOBase, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) < size:
        raise EOFError("the client went away mid-frame")
    return data


def _unmask(payload: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: per-byte Python loops are slow for the 8-byte-length frames.
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    unmasked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return unmasked.to_bytes(len(payload), "big")


def read_frame(stream: BufferedIOBase) -> Frame:
    """One client frame, unmasked. Raises EOFError when the stream ends, ProtocolError on a bad frame."""
    first, second = _read_exactly(stream, 2)
    if first & 0x70:
        raise ProtocolError("reserved bits set, but no extension was negotiated")
    if not second & 0x80:
        raise ProtocolError("client frames must be masked")
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exactly(stream, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exactly(stream, 8))
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"a {length}-byte frame is more than this server takes", CLOSE_TOO_BIG)
    mask = _read_exactly(stream, 4)
    return Frame(bool(first & 0x80), first & 0x0F, _unmask(_read_exactly(stream, length), mask))


def _utf8(message: bytes) -> str:
    try:
        return message.decode()
    except UnicodeDecodeError:
        raise ProtocolError("a text message that is not UTF-8", CLOSE_INVALID_DATA) from None


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()[:123]


class SocketLink:
    """One connected WebSocket client: any thread may send; the accepting thread receives.

    Frames sent before `open()` has written the handshake wait for it, so a link can be
    registered (and found by senders) before the client has been told it is connected.
    """

    def __init__(self, sock: socket.socket, rfile: BufferedIOBase) -> None:
        self._sock = sock
        self._rfile = rfile
        self._send_lock = threading.Lock()
        self._opened = threading.Event()
        self._closing = False
        self.finished = threading.Event()  # set once receive() has returned

    def open(self, key: str, first_message: str) -> None:
        """Answer the upgrade (101) and send the first text frame in the same write."""
        response = (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
            "\r\n"
        ).encode()
        try:
            self._send(response + encode_frame(OP_TEXT, first_message.encode()))
        except OSError as error:  # receive() will find the connection dead and return
            logger.debug("a WebSocket client left during the handshake: %s", error)
        finally:
            self._opened.set()

    def send_text(self, text: str) -> None:
        """Raises ConnectionError if the client is gone or the link is closing."""
        if not self._opened.wait(timeout=5):
            raise ConnectionError("the WebSocket handshake never completed")
        if self._closing:
            raise ConnectionError("the WebSocket link is closing")
        try:
            self._send(encode_frame(OP_TEXT, text.encode()))
        except OSError as error:
            raise ConnectionError(f"the WebSocket client is gone: {error}") from error

    def close(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Say goodbye, then end the connection; receive() returns soon after."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._send(encode_frame(OP_CLOSE, close_payload(code, reason)))
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def receive(self, on_text: Callable[[str], None]) -> None:
        """Serve the client until it closes or goes away: answer pings, hand each text message on."""
        fragments: list[bytes] = []
        kind = OP_TEXT
        try:
            while True:
                frame = read_frame(self._rfile)
                if frame.opcode == OP_PING:
                    self._send(encode_frame(OP_PONG, frame.payload))
                elif frame.opcode == OP_CLOSE:
                    code = struct.unpack("!H", frame.payload[:2])[0] if len(frame.payload) >= 2 else CLOSE_NORMAL
                    with contextlib.suppress(OSError):
                        self._send(encode_frame(OP_CLOSE, close_payload(code)))
                    return
                elif frame.opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                    if (frame.opcode == OP_CONTINUATION) != bool(fragments):
                        raise ProtocolError("a continuation frame must follow, and only follow, an unfinished message")
                    if frame.opcode != OP_CONTINUATION:
                        kind = frame.opcode
                    fragments.append(frame.payload)
                    if frame.fin:
                        message, fragments = b"".join(fragments), []
                        if kind == OP_TEXT:
                            on_text(_utf8(message))
                        else:
                            logger.debug("ignoring a binary WebSocket message")
                elif frame.opcode != OP_PONG:
                    raise ProtocolError(f"unknown opcode {frame.opcode:#x}")
        except ProtocolError as error:
            logger.warning("closing a WebSocket link: %s", error)
            self.close(error.code, str(error))
        except (EOFError, OSError) as error:
            if not self._closing:
                logger.debug("a WebSocket client went away: %s", error)
        finally:
            self._closing = True
            self.finished.set()

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)
