"""FilterLogEvents pages as one stream of typed, de-duplicated events, and a poller's cursor.

The shape follows awslogs' core (a generator that pages and remembers a bounded window of seen
event ids) without its faults: nothing here prints or exits, so a Slack sink, a poller and the
tests consume the same generator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Enough for several full FilterLogEvents pages (10,000 events at most each) of overlap; the
# memory stays bounded however long a follow runs.
DEFAULT_SEEN_CAPACITY = 50_000

# Late delivery in CloudWatch Logs is usually seconds; a minute of overlap covers the slow tail
# without re-reading much.
DEFAULT_OVERLAP_MS = 60_000

FilterLogEvents = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    # FilterLogEvents reports it; subscription payloads do not, hence optional.
    ingestion_ms: int | None
    stream: str
    event_id: str
    message: str


class SeenIds:
    """The last `capacity` event ids, oldest forgotten first: a set for lookup, a deque for order."""

    def __init__(self, capacity: int = DEFAULT_SEEN_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._order: deque[str] = deque()
        self._ids: set[str] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> bool:
        """Remember `event_id`; True when it was not already remembered."""
        if event_id in self._ids:
            return False
        self._order.append(event_id)
        self._ids.add(event_id)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True


def log_events(
    filter_log_events: FilterLogEvents,
    *,
    log_group: str,
    start_ms: int,
    end_ms: int | None = None,
    filter_pattern: str | None = None,
    stream_names: Sequence[str] | None = None,
    limit: int | None = None,
    seen: SeenIds | None = None,
) -> Iterator[LogEvent]:
    """Every event of `log_group` from `start_ms`, all pages, each event id at most once.

    `filter_log_events` is a boto3 CloudWatch Logs client's method of that name. Pass `seen` to
    share the memory of delivered ids across calls (a follow re-reading an overlap). `limit`
    stops after that many new events. Client errors propagate untouched: translating them is
    bot/aws's job, once.
    """
    seen = SeenIds() if seen is None else seen
    # `interleaved` is not sent: AWS deprecated it and always interleaves streams now.
    request: dict[str, Any] = {"logGroupName": log_group, "startTime": start_ms}
    if end_ms is not None:
        request["endTime"] = end_ms
    if filter_pattern:
        request["filterPattern"] = filter_pattern
    if stream_names:
        request["logStreamNames"] = list(stream_names)
    yielded = 0
    while True:
        page = filter_log_events(**request)
        for raw in page.get("events", ()):
            event = event_of(raw)
            if not seen.add(event.event_id):
                continue
            yield event
            yielded += 1
            if limit is not None and yielded >= limit:
                return
        # CloudWatch may return empty pages with a token while it is still searching, so an
        # empty page is not the end; a missing token is, and so is a token handed back
        # unchanged, which would otherwise loop forever.
        token = page.get("nextToken")
        if not token or token == request.get("nextToken"):
            return
        request["nextToken"] = token


def event_of(raw: Mapping[str, Any]) -> LogEvent:
    """One event as FilterLogEvents reports it (Live Tail's results have the same fields but the id)."""
    return LogEvent(
        timestamp_ms=int(raw["timestamp"]),
        ingestion_ms=int(raw["ingestionTime"]) if "ingestionTime" in raw else None,
        stream=str(raw.get("logStreamName", "")),
        event_id=str(raw["eventId"]),
        message=unicode_text(str(raw.get("message", ""))),
    )


def unicode_text(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD. JSON may carry one (`"\\ud800"`) and str
    takes it, but no UTF-8 encoder does: the first file upload or HTTP body holding it would raise."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@dataclass(frozen=True)
class ResumeCursor:
    """Where a poller reads next, and which re-read events it already delivered.

    Resuming at `last + 1 ms` skips events that share the last timestamp or arrive late, so the
    next read starts `overlap_ms` before the newest delivered event and drops the ids already
    delivered inside that window. Kept small: only ids inside the window are remembered.
    """

    last_timestamp_ms: int | None = None
    seen: Mapping[str, int] = field(default_factory=dict)  # event id -> its timestamp
    overlap_ms: int = DEFAULT_OVERLAP_MS

    def start_ms(self, initial_ms: int) -> int:
        """The next read's startTime; `initial_ms` is used before anything was delivered."""
        if self.last_timestamp_ms is None:
            return initial_ms
        return max(0, self.last_timestamp_ms - self.overlap_ms)

    def fresh(self, events: Iterable[LogEvent]) -> list[LogEvent]:
        """The events of a re-read not delivered yet, each once, in their order."""
        taken: set[str] = set()
        out: list[LogEvent] = []
        for event in events:
            if event.event_id in self.seen or event.event_id in taken:
                continue
            taken.add(event.event_id)
            out.append(event)
        return out

    def advance(self, delivered: Iterable[LogEvent]) -> ResumeCursor:
        """The cursor after `delivered` was accepted downstream (call it only then)."""
        seen = dict(self.seen)
        last = self.last_timestamp_ms
        for event in delivered:
            seen[event.event_id] = event.timestamp_ms
            last = event.timestamp_ms if last is None else max(last, event.timestamp_ms)
        if last is not None:
            floor = last - self.overlap_ms
            seen = {event_id: ts for event_id, ts in seen.items() if ts >= floor}
        return ResumeCursor(last_timestamp_ms=last, seen=seen, overlap_ms=self.overlap_ms)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the state store."""
        return {"last": self.last_timestamp_ms, "seen": dict(self.seen), "overlap_ms": self.overlap_ms}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResumeCursor:
        last = data.get("last")
        return cls(
            last_timestamp_ms=None if last is None else int(last),
            seen={str(k): int(v) for k, v in dict(data.get("seen") or {}).items()},
            overlap_ms=int(data.get("overlap_ms", DEFAULT_OVERLAP_MS)),
        )
