"""Socket Mode in the Slack stand-in: what the WebSocket frames of `slack_socket` say.

`apps.connections.open` hands out a ticket in a ws:// URL; `GET /link/?ticket=…` becomes a `SocketLink`
that is greeted with a hello; envelopes go out to the newest connected app and its acks come back.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from bot.local.slack_http import Answer, Params, RecordedCall, text_answer
from bot.local.slack_requests import APP_ID
from bot.local.slack_socket import CLOSE_GOING_AWAY, SocketLink, upgrade_refusal

logger = logging.getLogger(__name__)


class SocketMode:
    """The stand-in's Socket Mode clients, the envelopes sent them and the tickets that let them connect.

    It shares the stand-in's one lock and its list of calls: an ack is recorded there as "socket_ack".
    """

    def __init__(self, changed: threading.Condition, calls: list[RecordedCall]) -> None:
        self._changed = changed
        self._calls = calls
        self._tickets: set[str] = set()  # from apps.connections.open; each opens /link/ as often as needed
        self._links: list[SocketLink] = []  # connected Socket Mode clients, the newest last
        self._envelopes_sent: dict[str, float] = {}  # envelope_id -> time.monotonic() when sent

    def open_connection(self, address: str) -> Params:
        """apps.connections.open, for the server at `address` (host:port)."""
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"ws://{address}/link/?ticket={ticket}"}

    def wait_for_client(self, count: int, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._links) >= count, timeout):
                raise TimeoutError(f"waited {timeout}s for {count} Socket Mode client(s), {len(self._links)} connected")

    def wait_for_ack(self, envelope_id: str, timeout: float) -> tuple[dict[str, Any], float]:
        def ack() -> RecordedCall | None:
            calls = (call for call in self._calls if call.method == "socket_ack")
            return next((call for call in calls if call.params.get("envelope_id") == envelope_id), None)

        with self._changed:
            sent_at = self._envelopes_sent.get(envelope_id)
            if sent_at is None:
                raise KeyError(f"the stand-in sent no envelope {envelope_id!r}")
            found = self._changed.wait_for(ack, timeout)
            if found is None:
                raise TimeoutError(f"waited {timeout}s for the app to ack envelope {envelope_id!r}")
            return copy.deepcopy(found.params), found.at - sent_at

    def send_envelope(self, kind: str, payload: Params) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        with self._changed:
            if not self._links:
                raise ConnectionError("no Socket Mode client is connected to the Slack stand-in")
            link = self._links[-1]
            self._envelopes_sent[envelope_id] = time.monotonic()
        link.send_text(json.dumps(envelope))  # outside the lock: a slow socket must not stall the Web API
        return envelope_id

    def refusal(self, query: str, headers: dict[str, str]) -> Answer | None:
        """Why GET /link/ may not become a WebSocket, as the HTTP answer; None if it may."""
        ticket = dict(parse_qsl(query)).get("ticket", "")
        with self._changed:
            if ticket not in self._tickets:
                return text_answer(403, "invalid_ticket")
        refusal = upgrade_refusal(headers)
        return text_answer(400, refusal) if refusal else None

    def serve(self, link: SocketLink, key: str) -> None:
        """On the connection's own server thread until the client leaves."""
        with self._changed:
            self._links.append(link)  # before the handshake: senders wait in link.send_text() for it
            self._changed.notify_all()
            hello = {
                "type": "hello",
                "num_connections": len(self._links),
                "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        try:
            link.open(key, json.dumps(hello))
            link.receive(self._on_message)
        finally:
            with self._changed:
                self._links.remove(link)
                self._changed.notify_all()

    def close_all(self) -> None:
        """When the server stops: the links' threads outlive its shutdown()."""
        with self._changed:
            links = list(self._links)
        for link in links:  # end them, like Slack does, with a close frame
            link.close(CLOSE_GOING_AWAY, "the Slack stand-in stopped")
        for link in links:
            link.finished.wait(timeout=5)

    def _on_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message.get("envelope_id"):
            logger.warning("the Socket Mode client sent something other than an ack: %.200s", text)
            return
        with self._changed:
            self._calls.append(RecordedCall("socket_ack", message, {}, time.monotonic()))
            self._changed.notify_all()
