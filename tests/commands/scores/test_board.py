"""The board's words about a failing poller: escaped, bounded, and in whole units of time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from commands.scores.board import MAX_ERROR_CHARS, poll_trouble
from commands.scores.history import PollState

UTC = ZoneInfo("UTC")


def test_a_hostile_error_reaches_slack_escaped_and_bounded() -> None:
    state = PollState(last_at=3600.0, failures=3, last_error="<!channel> " + "x" * 500, failing_since=3000.0)
    text = poll_trouble(state, now=3600.0, tz=UTC)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert text.startswith("Polls have failed for 10 min (3 failures in all); the last, at 01:00:00:")
    assert len(text) < MAX_ERROR_CHARS + 120


def test_nothing_is_said_while_polls_succeed_and_long_outages_read_in_hours() -> None:
    assert poll_trouble(PollState(last_at=10.0, last_ok=10.0), now=10.0, tz=UTC) == ""
    state = PollState(last_at=9000.0, failures=1, last_error="HTTP 503", failing_since=1.0)
    assert "for 2 h 29 min" in poll_trouble(state, now=9000.0, tz=UTC)
    assert "for 40 s" in poll_trouble(PollState(last_at=40.0, last_error="e", failing_since=0.0), now=80.0, tz=UTC)
