"""Log events grouped per Lambda invocation, by request id, with the REPORT's figures and a status.

Request ids, not stream order, decide the grouping: streams interleave, and one stream can hold
concurrent invocations (Lambda's multi-concurrency) or an async retry reusing a request id. A
line without a request id (a bare `print`) joins the one invocation open in its stream; when
none or several are open it is kept in `Orphans`. Nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from commands.tail.events import LogEvent
from commands.tail.lambda_format import AppLog, End, Report, Start, parse_message, unfold


class Status(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    UNFINISHED = "unfinished"  # its REPORT has not arrived (yet)
    UNREPORTED = "unreported"  # a filtered read: the filter left its REPORT out


# Timestamps are the sender's word (a subscription payload can say year 33,000, which datetime
# refuses): shown clamped to 1970..2999, they neither crash a reader nor overflow a time zone.
_LAST_MS = 32_503_680_000_000 - 1


@dataclass(frozen=True)
class LogLine:
    level: str | None
    text: str
    is_error: bool


@dataclass(frozen=True)
class Invocation:
    request_id: str
    start: datetime  # UTC; its START line's time, else its earliest line's
    duration_ms: float | None
    billed_ms: float | None
    memory_used_mb: int | None
    memory_size_mb: int | None
    init_ms: float | None  # set on cold starts only
    status: Status
    lines: list[LogLine]
    error_type: str | None = None

    @property
    def cold_start(self) -> bool:
        return self.init_ms is not None


@dataclass(frozen=True)
class Orphans:
    """Lines that belong to no invocation: init output, extensions, ambiguous bare lines."""

    lines: list[LogLine]


@dataclass(frozen=True)
class Grouped:
    invocations: list[Invocation]  # ordered by start
    orphans: Orphans


@dataclass
class _Open:
    request_id: str
    start_ms: int
    lines: list[LogLine] = field(default_factory=list)
    report: Report | None = None
    failure: str | None = None  # the strongest failure seen in its lines


def group_invocations(events: Iterable[LogEvent], filtered: bool = False) -> Grouped:
    """`events` (any order, any streams) as invocations ordered by start, plus the orphans. From a
    `filtered` read a missing REPORT says nothing about the invocation: it is UNREPORTED."""
    # Stable on equal timestamps, so a START and its first line keep their delivery order.
    ordered = sorted(events, key=lambda e: e.timestamp_ms)
    done: list[_Open] = []
    current: dict[str, _Open] = {}  # request id -> the invocation collecting lines for it
    open_in_stream: dict[str, list[str]] = {}  # stream -> request ids started, not yet ended
    orphans: list[LogLine] = []

    def invocation(request_id: str, ts: int) -> _Open:
        found = current.get(request_id)
        if found is None:
            found = current[request_id] = _Open(request_id, ts)
        return found

    def close(request_id: str, stream: str) -> None:
        ids = open_in_stream.get(stream, [])
        if request_id in ids:
            ids.remove(request_id)

    for event in ordered:
        record = parse_message(event.message)
        if isinstance(record, Start):
            if record.request_id in current and current[record.request_id].report is not None:
                done.append(current.pop(record.request_id))  # an async retry reusing the id
            invocation(record.request_id, event.timestamp_ms).start_ms = event.timestamp_ms
            ids = open_in_stream.setdefault(event.stream, [])
            if record.request_id not in ids:
                ids.append(record.request_id)
        elif isinstance(record, End):
            invocation(record.request_id, event.timestamp_ms)
            close(record.request_id, event.stream)
        elif isinstance(record, Report) and _first_report(current.get(record.request_id)):
            invocation(record.request_id, event.timestamp_ms).report = record
            close(record.request_id, event.stream)
        else:
            if isinstance(record, Report):
                # Lambda writes one REPORT per invocation; a second is a function printing one
                # (a forged "ok, 1 ms" over a timeout): its own output, shown as text.
                record = AppLog(unfold(event.message))
            target = _owner(record, event, current, open_in_stream)
            lines = [LogLine(record.level, text, record.is_error) for text in record.lines]
            if target is None:
                orphans += lines
                continue
            owner = invocation(target, event.timestamp_ms)
            owner.lines += lines
            if record.failure == "timeout" or (record.failure and owner.failure is None):
                owner.failure = record.failure
    done += current.values()
    invocations = sorted((_finish(o, filtered) for o in done), key=lambda i: i.start)
    return Grouped(invocations, Orphans(orphans))


def _first_report(found: _Open | None) -> bool:
    return found is None or found.report is None


def _owner(
    record: AppLog, event: LogEvent, current: dict[str, _Open], open_in_stream: dict[str, list[str]]
) -> str | None:
    if record.request_id:
        return record.request_id
    ids = open_in_stream.get(event.stream, [])
    return ids[0] if len(ids) == 1 else None


def _finish(o: _Open, filtered: bool) -> Invocation:
    report = o.report
    return Invocation(
        request_id=o.request_id,
        start=datetime.fromtimestamp(min(max(o.start_ms, 0), _LAST_MS) / 1000, tz=UTC),
        duration_ms=report.duration_ms if report else None,
        billed_ms=report.billed_ms if report else None,
        memory_used_mb=report.memory_used_mb if report else None,
        memory_size_mb=report.memory_size_mb if report else None,
        init_ms=report.init_ms if report else None,
        status=Status.UNREPORTED if filtered and report is None else _status(report, o.failure),
        lines=o.lines,
        error_type=report.error_type if report else None,
    )


def _status(report: Report | None, failure: str | None) -> Status:
    if report is None:
        return Status.UNFINISHED
    said = report.status
    if said == "timeout" or (said is None and failure == "timeout"):
        return Status.TIMEOUT
    if report.error_type and "OutOfMemory" in report.error_type:
        return Status.OUT_OF_MEMORY
    failed = said in ("error", "failure") or (said is None and failure is not None)
    if not failed:
        return Status.OK
    # Older runtimes report an OOM kill only as an error with the memory at its ceiling.
    used, size = report.memory_used_mb, report.memory_size_mb
    if used is not None and size is not None and used >= size:
        return Status.OUT_OF_MEMORY
    return Status.ERROR
