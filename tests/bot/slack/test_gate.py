"""What runs once, on a real store: a replayed signature, and Slack's retry of an event."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.slack.gate import SlackGate, first_run
from bot.state import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(str(tmp_path / "state.db"))


def headers(signature: str, ts: int, **extra: str) -> dict[str, list[str]]:
    named = {"x-slack-signature": signature, "x-slack-request-timestamp": str(ts), **extra}
    return {name: [value] for name, value in named.items()}


def test_a_signature_runs_once(store: Store) -> None:
    now = int(time.time())
    assert first_run(store, headers("v0=aa", now), {"command": "/x"})
    assert not first_run(store, headers("v0=aa", now), {"command": "/x"})
    assert first_run(store, headers("v0=bb", now), {"command": "/x"})


def test_a_slack_retry_of_an_event_already_taken_does_not_run(store: Store) -> None:
    event = json.loads('{"type": "event_callback", "event_id": "Ev01"}')
    now = int(time.time())
    assert first_run(store, headers("v0=first", now), event)
    # Slack signs each retry anew, with a new timestamp: only the event_id says it is the same.
    assert not first_run(store, headers("v0=retry", now + 60, **{"x-slack-retry-num": "1"}), event)


def test_a_retry_whose_first_attempt_never_arrived_runs(store: Store) -> None:
    retry = headers("v0=retry", int(time.time()), **{"x-slack-retry-num": "2"})
    assert first_run(store, retry, {"type": "event_callback", "event_id": "Ev02"})


def test_a_signature_is_forgotten_once_it_could_no_longer_be_accepted(store: Store) -> None:
    old = int(time.time()) - 400  # the gate refuses a timestamp over 300 s off
    assert first_run(store, headers("v0=old", old), {})
    assert first_run(store, headers("v0=old", old), {})  # its record expired: no store filling up


def test_socket_mode_requests_carry_no_signature_and_are_not_tracked(store: Store) -> None:
    assert first_run(store, {}, {"command": "/x"}) and first_run(store, {}, {"command": "/x"})
    assert store.items("seen-requests") == []


def test_no_gate_without_a_secret() -> None:
    with pytest.raises(ValueError, match="signing secret"):
        SlackGate(" ")
