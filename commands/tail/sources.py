"""Where a follow's new events come from: a Live Tail session, or FilterLogEvents polled.

Live Tail (`StartLiveTail`) pushes events within a second or two, but may be refused (no
`logs:StartLiveTail`, an older partition), samples above 500 events/s, and a session can end
early. Its events carry no event id, so a follow tells them apart by content (`content_key`);
polled events keep their exact ids. `Delivered` remembers both, so switching from one source
to the other repeats nothing.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from commands.tail.events import DEFAULT_OVERLAP_MS, LogEvent, SeenIds, event_of
from commands.tail.query import read_events

log = logging.getLogger(__name__)


def content_key(event: LogEvent) -> str:
    """The same for one event seen by Live Tail and by FilterLogEvents (two identical lines of one
    stream in one millisecond are one key: Live Tail gives nothing else to tell them apart)."""
    digest = hashlib.sha1(event.message.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"{event.stream}\x00{event.timestamp_ms}\x00{digest}"


class Delivered:
    """What a follow has shown: polled events by id, Live Tail's by content."""

    def __init__(self) -> None:
        self._ids = SeenIds()
        self._keys = SeenIds()  # every event shown
        self._live = SeenIds()  # those Live Tail brought (no id to match a poll's with)
        self.newest_ms = 0

    def fresh_polled(self, event: LogEvent) -> bool:
        key = content_key(event)
        if event.event_id in self._ids or key in self._live:
            return False
        self._ids.add(event.event_id)
        self._keys.add(key)
        self.newest_ms = max(self.newest_ms, event.timestamp_ms)
        return True

    def fresh_live(self, event: LogEvent) -> bool:
        key = content_key(event)
        if not self._keys.add(key):
            return False
        self._live.add(key)
        self.newest_ms = max(self.newest_ms, event.timestamp_ms)
        return True


def _live_event(raw: Mapping[str, Any]) -> LogEvent:
    """A Live Tail result, its content key standing in for the event id it lacks."""
    event = event_of({"timestamp": 0, **raw, "eventId": ""})
    return replace(event, event_id=content_key(event))


class LiveTail:
    """One StartLiveTail session, read on a thread of its own; `take` hands over what arrived.

    Starting raises the client error when the account refuses Live Tail (the caller polls
    instead); a session that ends or fails later sets `ended` and `error`.
    """

    def __init__(self, logs: Any, log_group_arn: str, filter_pattern: str | None, delivered: Delivered) -> None:
        request: dict[str, Any] = {"logGroupIdentifiers": [log_group_arn]}
        if filter_pattern:
            request["logEventFilterPattern"] = filter_pattern
        self._stream = logs.start_live_tail(**request)["responseStream"]
        self._arn = log_group_arn
        self._delivered = delivered
        self._queue: queue.Queue[list[LogEvent]] = queue.Queue()
        self.sampled = False
        self.ended = threading.Event()
        self.error: BaseException | None = None
        threading.Thread(target=self._read, name="live-tail", daemon=True).start()

    def _read(self) -> None:
        try:
            for item in self._stream:
                update = item.get("sessionUpdate")
                if not update:
                    continue
                if (update.get("sessionMetadata") or {}).get("sampled"):
                    self.sampled = True
                # A session over one group yields only that group's events; anything else (moto's
                # Live Tail answers for the wrong group when several exist) is not ours to show.
                results = [raw for raw in update.get("sessionResults", ()) if self._ours(raw)]
                self._queue.put([_live_event(raw) for raw in results])
        except Exception as exc:  # SessionTimeoutException, SessionStreamingException, a dropped stream
            self.error = exc
        finally:
            self.ended.set()

    def _ours(self, raw: Mapping[str, Any]) -> bool:
        group = str(raw.get("logGroupIdentifier") or self._arn)
        return group.removesuffix(":*") == self._arn.removesuffix(":*")

    def take(self, wait: float) -> list[LogEvent]:
        events: list[LogEvent] = []
        try:
            events += self._queue.get(timeout=max(0.0, wait))
            while True:
                events += self._queue.get_nowait()
        except queue.Empty:
            pass
        return [e for e in events if self._delivered.fresh_live(e)]

    @property
    def finished(self) -> bool:
        """Ended, and everything it brought taken."""
        return self.ended.is_set() and self._queue.empty()

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # closing a dead connection is not worth a failure
            log.debug("closing the Live Tail stream failed", exc_info=True)


class Polling:
    """FilterLogEvents every `every` seconds from `overlap_ms` before the newest shown event."""

    def __init__(
        self,
        logs: Any,
        log_group: str,
        filter_pattern: str | None,
        start_ms: int,
        every: float,
        delivered: Delivered,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
    ) -> None:
        self._logs, self._group, self._pattern = logs, log_group, filter_pattern
        self._start_ms, self._every, self._overlap_ms = start_ms, every, overlap_ms
        self._delivered = delivered
        self._next_at = 0.0

    def take(self, wait: float) -> list[LogEvent]:
        delay = self._next_at - time.monotonic()
        if delay > wait:
            time.sleep(max(0.0, wait))
            return []
        time.sleep(max(0.0, delay))
        self._next_at = time.monotonic() + self._every
        start = max(self._start_ms, self._delivered.newest_ms - self._overlap_ms)
        read = read_events(self._logs, self._group, start, filter_pattern=self._pattern)
        return [e for e in read.events if self._delivered.fresh_polled(e)]

    def close(self) -> None:
        pass
