"""A follow holds an invocation whose REPORT has not come yet, for a while, and nothing at the end."""

from __future__ import annotations

from commands.tail.events import LogEvent
from commands.tail.pending import PendingEvents

RID = "8f5e2d1c-0001-4a2b-9c3d-111111111111"
OTHER = "8f5e2d1c-0002-4a2b-9c3d-222222222222"


def event(ts: int, message: str, stream: str = "s1") -> LogEvent:
    return LogEvent(ts, None, stream, f"id-{ts}-{message[:12]}", message)


def started(rid: str, ts: int, stream: str = "s1") -> list[LogEvent]:
    return [
        event(ts, f"START RequestId: {rid} Version: $LATEST", stream),
        event(ts + 1, f"[INFO]\t2026-12-01T10:00:00.001Z\t{rid}\tworking", stream),
        event(ts + 2, "a bare print in its stream", stream),
    ]


def report(rid: str, ts: int, stream: str = "s1") -> list[LogEvent]:
    return [
        event(ts, f"END RequestId: {rid}", stream),
        event(ts + 1, f"REPORT RequestId: {rid}\tDuration: 5.00 ms\tBilled Duration: 5 ms", stream),
    ]


def test_a_running_invocation_waits_for_its_report_and_then_goes_whole() -> None:
    pending = PendingEvents(hold_ms=10_000)
    pending.add(started(RID, 1_000))

    assert pending.take(now_ms=2_000) == []  # its bare line waits with it
    pending.add(report(RID, 3_000))
    taken = pending.take(now_ms=4_000)

    assert [e.timestamp_ms for e in taken] == [1_000, 1_001, 1_002, 3_000, 3_001]
    assert len(pending) == 0


def test_a_finished_invocation_does_not_wait_for_a_running_one_in_another_stream() -> None:
    pending = PendingEvents(hold_ms=10_000)
    pending.add([*started(RID, 1_000, "s1"), *started(OTHER, 1_100, "s2"), *report(OTHER, 1_200, "s2")])

    taken = pending.take(now_ms=2_000)

    assert {e.stream for e in taken} == {"s2"} and len(taken) == 5
    assert len(pending) == 3


def test_a_running_invocation_goes_out_unfinished_once_held_long_enough() -> None:
    pending = PendingEvents(hold_ms=10_000)
    pending.add(started(RID, 1_000))

    assert len(pending.take(now_ms=11_001)) == 3


def test_lines_outside_any_invocation_go_at_once_and_the_end_takes_everything() -> None:
    pending = PendingEvents(hold_ms=10_000)
    pending.add([event(500, "INIT_START Runtime Version: python:3.13", "s9"), *started(RID, 1_000)])

    assert [e.stream for e in pending.take(now_ms=1_500)] == ["s9"]
    assert len(pending.take(now_ms=1_500, final=True)) == 3
    assert len(pending) == 0
