"""A follow's events between posts: finished invocations go out, one still running waits a little.

An invocation's START and its REPORT often arrive in different reads. Posting at once would split
it into an "unfinished" block and a second block for the rest, so an invocation with a START and
no REPORT yet is held (with the bare lines of its stream after its start) for up to `hold_ms`,
then goes out as it is. Nothing is held at the end of a follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from commands.tail.events import LogEvent
from commands.tail.invocations import Status, group_invocations
from commands.tail.lambda_format import AppLog, End, Record, Report, Start, parse_message

DEFAULT_HOLD_MS = 15_000


@dataclass
class PendingEvents:
    hold_ms: int = DEFAULT_HOLD_MS
    events: list[LogEvent] = field(default_factory=list)

    def add(self, events: Iterable[LogEvent]) -> None:
        self.events.extend(events)

    def __len__(self) -> int:
        return len(self.events)

    def take(self, now_ms: int, final: bool = False) -> list[LogEvent]:
        """The events to post now, in arrival order; the rest stay pending."""
        if final or not self.events:
            return self._take_all()
        floor = now_ms - self.hold_ms
        running = {
            inv.request_id
            for inv in group_invocations(self.events).invocations
            if inv.status is Status.UNFINISHED and inv.start.timestamp() * 1000 >= floor
        }
        if not running:
            return self._take_all()
        parsed = [(event, parse_message(event.message)) for event in self.events]
        opened: dict[str, int] = {}  # stream -> when the first held invocation in it started
        for event, record in parsed:
            if isinstance(record, Start) and record.request_id in running:
                opened[event.stream] = min(opened.get(event.stream, event.timestamp_ms), event.timestamp_ms)
        ready: list[LogEvent] = []
        held: list[LogEvent] = []
        for event, record in parsed:
            (held if _belongs(event, record, running, opened) else ready).append(event)
        self.events = held
        return ready

    def _take_all(self) -> list[LogEvent]:
        taken, self.events = self.events, []
        return taken


def _belongs(event: LogEvent, record: Record, running: set[str], opened: dict[str, int]) -> bool:
    if isinstance(record, Start | End | Report):
        return record.request_id in running
    assert isinstance(record, AppLog)
    if record.request_id:
        return record.request_id in running
    started = opened.get(event.stream)
    return started is not None and event.timestamp_ms >= started
