"""Paging and de-duplication of FilterLogEvents (Stubber and moto), and the poller's cursor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from commands.tail.events import LogEvent, ResumeCursor, SeenIds, log_events

GROUP = "/aws/lambda/checkout"


def _raw(event_id: str, ts: int, message: str = "hello", stream: str = "s1") -> dict[str, Any]:
    return {"eventId": event_id, "timestamp": ts, "ingestionTime": ts + 50, "logStreamName": stream, "message": message}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("logs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_every_page_is_read_and_events_come_typed_in_order(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "filter_log_events",
        {"events": [_raw("1", 1000, stream="a"), _raw("2", 1001, stream="b")], "nextToken": "t1"},
        {"logGroupName": GROUP, "startTime": 900},
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [], "nextToken": "t2"},
        {"logGroupName": GROUP, "startTime": 900, "nextToken": "t1"},
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [_raw("3", 1002, stream="a")]},
        {"logGroupName": GROUP, "startTime": 900, "nextToken": "t2"},
    )

    events = list(log_events(client.filter_log_events, log_group=GROUP, start_ms=900))

    assert events == [
        LogEvent(1000, 1050, "a", "1", "hello"),
        LogEvent(1001, 1051, "b", "2", "hello"),
        LogEvent(1002, 1052, "a", "3", "hello"),
    ]


def test_an_event_repeated_on_a_later_page_is_yielded_once(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("filter_log_events", {"events": [_raw("1", 1000), _raw("2", 1000)], "nextToken": "t1"})
    stubber.add_response("filter_log_events", {"events": [_raw("2", 1000), _raw("3", 1001)]})

    ids = [e.event_id for e in log_events(client.filter_log_events, log_group=GROUP, start_ms=0)]

    assert ids == ["1", "2", "3"]


def test_filter_end_and_streams_are_passed_through_and_limit_stops_early(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expected = {
        "logGroupName": GROUP,
        "startTime": 0,
        "endTime": 5000,
        "filterPattern": "ERROR",
        "logStreamNames": ["s1"],
    }
    stubber.add_response(
        "filter_log_events", {"events": [_raw("1", 1), _raw("2", 2), _raw("3", 3)], "nextToken": "t"}, expected
    )

    got = log_events(
        client.filter_log_events,
        log_group=GROUP,
        start_ms=0,
        end_ms=5000,
        filter_pattern="ERROR",
        stream_names=["s1"],
        limit=2,
    )

    assert [e.event_id for e in got] == ["1", "2"]  # and no second page was asked for


def test_a_token_handed_back_unchanged_ends_the_paging() -> None:
    calls: list[dict[str, Any]] = []

    def stuck(**request: Any) -> dict[str, Any]:
        calls.append(request)
        assert len(calls) < 5, "paging did not stop"
        return {"events": [], "nextToken": "same"}

    assert list(log_events(stuck, log_group=GROUP, start_ms=0)) == []
    assert len(calls) == 2


def test_a_shared_memory_of_seen_ids_spans_reads() -> None:
    def page(**_request: Any) -> dict[str, Any]:
        return {"events": [_raw("1", 1), _raw("2", 2)]}

    seen = SeenIds()
    first = [e.event_id for e in log_events(page, log_group=GROUP, start_ms=0, seen=seen)]
    again = [e.event_id for e in log_events(page, log_group=GROUP, start_ms=0, seen=seen)]

    assert (first, again) == (["1", "2"], [])


def test_the_memory_of_seen_ids_is_bounded_and_forgets_the_oldest() -> None:
    seen = SeenIds(capacity=2)
    assert seen.add("a") and seen.add("b") and not seen.add("a")
    assert seen.add("c")
    assert len(seen) == 2 and "a" not in seen and "b" in seen and "c" in seen
    with pytest.raises(ValueError):
        SeenIds(capacity=0)


@mock_aws
def test_against_moto_all_pages_of_two_streams_arrive_once() -> None:
    # Recent timestamps: CloudWatch (and moto) reject events far in the past or future.
    base = int(time.time() * 1000) - 60_000
    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=GROUP)
    for stream in ("2026/12/01/[$LATEST]aaa", "2026/12/01/[$LATEST]bbb"):
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        client.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": base + i, "message": f"{stream[-3:]} {i}"} for i in range(30)],
        )

    def small_pages(**request: Any) -> Any:
        return client.filter_log_events(limit=7, **request)  # forces several pages

    events = list(log_events(small_pages, log_group=GROUP, start_ms=base))

    assert len(events) == 60
    assert len({e.event_id for e in events}) == 60
    assert {e.message for e in events} == {f"{s} {i}" for s in ("aaa", "bbb") for i in range(30)}
    assert all(e.ingestion_ms is not None for e in events)


def _ev(event_id: str, ts: int) -> LogEvent:
    return LogEvent(ts, ts, "s", event_id, event_id)


def test_the_cursor_resumes_inside_the_overlap_not_one_ms_after_the_last_event() -> None:
    cursor = ResumeCursor(overlap_ms=1000).advance([_ev("a", 10_000), _ev("b", 10_000)])

    assert cursor.start_ms(initial_ms=0) == 9_000
    # "c" shares the last timestamp and arrived late: a `last + 1` poller would skip it.
    reread = [_ev("a", 10_000), _ev("c", 10_000), _ev("b", 10_000), _ev("d", 10_500), _ev("d", 10_500)]
    assert [e.event_id for e in cursor.fresh(reread)] == ["c", "d"]


def test_the_cursor_starts_at_the_initial_time_before_anything_was_delivered() -> None:
    assert ResumeCursor().start_ms(initial_ms=1234) == 1234
    assert ResumeCursor(overlap_ms=5000).advance([_ev("a", 1000)]).start_ms(initial_ms=0) == 0


def test_the_cursor_forgets_ids_that_fell_out_of_the_window() -> None:
    cursor = ResumeCursor(overlap_ms=1000).advance([_ev("old", 1_000)]).advance([_ev("new", 5_000)])

    assert set(cursor.seen) == {"new"}
    assert cursor.last_timestamp_ms == 5_000


def test_a_late_event_across_a_restart_is_delivered_once() -> None:
    delivered: list[str] = []
    cursor = ResumeCursor(overlap_ms=2_000)
    log = [_ev("a", 1_000), _ev("b", 2_000)]
    for batch in ([*log], [*log, _ev("late", 1_500), _ev("c", 3_000)]):
        # A restart: the cursor goes through the state store as JSON between polls.
        cursor = ResumeCursor.from_json(cursor.to_json())
        window = [e for e in batch if e.timestamp_ms >= cursor.start_ms(initial_ms=0)]
        new = cursor.fresh(window)
        delivered += [e.event_id for e in new]
        cursor = cursor.advance(new)

    assert delivered == ["a", "b", "late", "c"]


def test_an_undelivered_batch_does_not_move_the_cursor() -> None:
    cursor = ResumeCursor().advance([_ev("a", 1_000)])
    # The post failed: the poller does not call advance, so the next read offers "b" again.
    assert [e.event_id for e in cursor.fresh([_ev("a", 1_000), _ev("b", 1_001)])] == ["b"]
    assert [e.event_id for e in cursor.fresh([_ev("a", 1_000), _ev("b", 1_001)])] == ["b"]
