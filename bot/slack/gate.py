"""What a request to `POST /slack/events` must pass before Bolt sees it, on the server and on Lambda.

Bolt answers a malformed request with a 500 and a traceback (a timestamp that is not a number,
a JSON Content-Type over a form body), logs the whole body of one that fails verification, and
runs a valid request as often as it is sent. Here every refusal is one line, nothing of the body
is logged, and each signed request runs once (`first_run`, asked by the work).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt.request.internals import parse_body

from bot.command import HttpResponse
from bot.state import Store, StoreError

log = logging.getLogger(__name__)

# Slash commands are a few KB; a button press carries the message it sits on, and a message can be
# 50 blocks of 3,000 characters: about 150 KB of text, up to 200 KB as URL-encoded JSON.
MAX_BODY = 256 * 1024
MAX_SKEW = 300  # seconds; Slack's own rule for X-Slack-Request-Timestamp
SEEN = "seen-requests"
EVENT_RETRY_WINDOW = 3600  # Slack retries an Events API delivery for about an hour


def refusal(status: int, reason: str) -> HttpResponse:
    return HttpResponse(status, reason + "\n")


class SlackGate:
    """Checks one request's size, headers, signature and body."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        if not signing_secret.strip():
            raise ValueError("a signing secret is needed to check Slack's requests")
        self._secret = signing_secret.encode()
        self._clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> HttpResponse | None:
        """None if Bolt should answer; otherwise the answer. `headers` have lower-case names."""
        if any(name.startswith("x-slack-bolt-") for name in headers):
            # Bolt's markers for its own lazy re-invocations: from outside they would skip the ack.
            return refusal(400, "x-slack-bolt-* headers are not accepted")
        if len(body) > MAX_BODY:
            return refusal(413, f"body over {MAX_BODY // 1024} KiB")
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            return refusal(401, "missing X-Slack-Request-Timestamp or X-Slack-Signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return refusal(401, "X-Slack-Request-Timestamp is not a Unix time")
        if abs(self._clock() - int(timestamp)) > MAX_SKEW:
            return refusal(401, "stale request: X-Slack-Request-Timestamp is over 5 minutes off")
        expected = "v0=" + hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return refusal(401, "invalid X-Slack-Signature")
        try:
            # Bolt's own parser, so what passes here is what Bolt will read.
            payload = parse_body(body.decode("utf-8"), _media_type(headers.get("content-type")))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            return refusal(400, "body is not what its Content-Type says")
        if not isinstance(payload, dict):
            return refusal(400, "body is not a JSON object or a form")
        return None


def first_run(store: Store, headers: Mapping[str, Sequence[str]], payload: Mapping[str, Any]) -> bool:
    """False if this signed request already ran: a replay, or Slack's retry of an event we took.

    Asked by the work, not the ack: the ack is the same empty 200 either way, and a store write
    on the ack path queues behind the workers' writes (SQLite has one writer) past Slack's 3 s.
    """
    signature = (headers.get("x-slack-signature") or [""])[0]
    if not signature:  # Socket Mode: nothing is signed; requests come over the bot's own WebSocket
        return True
    # Slack signs a retry anew but keeps the Events API's event_id; a signature is accepted only
    # within MAX_SKEW of its timestamp, so it is remembered that long.
    event_id = payload.get("event_id")
    if isinstance(event_id, str) and event_id:
        key, expires_at = f"event:{event_id}", time.time() + EVENT_RETRY_WINDOW
    else:
        timestamp = (headers.get("x-slack-request-timestamp") or [""])[0]
        signed_at = int(timestamp) if timestamp.isdigit() else time.time()
        key, expires_at = f"sig:{signature}", signed_at + MAX_SKEW + 60.0
    try:
        first = store.add(SEEN, key, True, expires_at=expires_at)
    except StoreError as exc:  # the command needs the store too; it will say so if it is down
        log.warning("cannot check a Slack request for replay, running it: %s", exc)
        return True
    if not first:
        log.info("ignored a Slack request that already ran (%s)", key.split(":")[0])
    return first


def _media_type(content_type: str | None) -> str | None:
    return content_type.split(";")[0] if content_type else None  # as Bolt's extract_content_type
