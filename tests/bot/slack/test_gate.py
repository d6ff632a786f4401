"""The checks before Bolt, on a real store: what Slack retries and what is replayed runs once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from bot.slack.gate import SlackGate
from bot.state import Store

SECRET = "gate-secret"
NOW = float(int(time.time()))  # the store judges expiry by the real clock


def signed(body: bytes, ts: int, **extra: str) -> dict[str, str]:
    mac = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(ts), "x-slack-signature": f"v0={mac}", **extra}


@pytest.fixture
def gate(tmp_path: Path) -> SlackGate:
    return SlackGate(SECRET, Store.open(str(tmp_path / "state.db")), clock=lambda: NOW)


def test_a_slack_retry_of_an_event_already_taken_is_acked_without_running(gate: SlackGate) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "Ev01", "event": {"type": "app_mention"}}).encode()
    headers = {"content-type": "application/json"}
    first = gate.check({**headers, **signed(body, int(NOW))}, body)
    # Slack signs each retry anew, with a new timestamp: only the event_id says it is the same.
    retry = gate.check({**headers, **signed(body, int(NOW) + 60, **{"x-slack-retry-num": "1"})}, body)

    assert first is None
    assert retry is not None and (retry.status, retry.body) == (200, "")


def test_a_retry_whose_first_attempt_never_arrived_runs(gate: SlackGate) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "Ev02"}).encode()
    headers = signed(body, int(NOW), **{"content-type": "application/json", "x-slack-retry-num": "2"})
    assert gate.check(headers, body) is None


def test_a_signature_is_remembered_as_long_as_it_could_be_accepted(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "state.db"))
    body = b"command=%2Fx&text=hi"
    headers = signed(body, int(NOW))
    assert SlackGate(SECRET, store, clock=lambda: NOW).check(headers, body) is None
    later = SlackGate(SECRET, store, clock=lambda: NOW + 299)  # still within the timestamp's 5 minutes
    replay = later.check(headers, body)
    assert replay is not None and replay.status == 200


def test_no_gate_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="signing secret"):
        SlackGate(" ", Store.open(str(tmp_path / "state.db")))
