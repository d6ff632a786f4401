"""Grouping per invocation and REPORT parsing, both Lambda log formats, from recorded samples."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commands.tail.events import LogEvent
from commands.tail.invocations import Grouped, Invocation, LogLine, Status, group_invocations
from commands.tail.lambda_format import AppLog, Report, parse_message, unfold

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[LogEvent]:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]
    return [
        LogEvent(r["timestamp"], r["timestamp"] + 30, r["stream"], f"{name}-{i}", r["message"])
        for i, r in enumerate(rows)
    ]


def by_id(grouped: Grouped) -> dict[str, Invocation]:
    return {i.request_id[:13]: i for i in grouped.invocations}


def texts(inv: Invocation) -> list[str]:
    return [line.text for line in inv.lines]


def test_classic_cold_start_carries_its_report_and_init_duration() -> None:
    cold = by_id(group_invocations(load("classic_python.jsonl")))["1f0a2b3c-0001"]

    assert cold.status is Status.OK
    assert (cold.duration_ms, cold.billed_ms, cold.memory_used_mb, cold.memory_size_mb) == (12.34, 13, 64, 128)
    assert cold.init_ms == 234.56 and cold.cold_start
    assert cold.start == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    # The bare print joins the only invocation open in its stream.
    assert cold.lines == [LogLine("INFO", "charging order 42", False), LogLine(None, "order 42 charged", False)]


def test_classic_unhandled_python_error_is_an_error_with_its_traceback_unfolded() -> None:
    failed = by_id(group_invocations(load("classic_python.jsonl")))["1f0a2b3c-0002"]

    assert failed.status is Status.ERROR
    assert not failed.cold_start
    assert texts(failed) == [
        "payment gateway said 502",
        "ZeroDivisionError: division by zero",
        "Traceback (most recent call last):",
        '  File "/var/task/app.py", line 9, in handler',
        "    return total / count",
    ]
    assert all(line.is_error and line.level == "ERROR" for line in failed.lines)


def test_classic_timeout_and_out_of_memory_are_told_apart() -> None:
    grouped = by_id(group_invocations(load("classic_python.jsonl")))

    timeout, oom = grouped["1f0a2b3c-0003"], grouped["1f0a2b3c-0004"]
    assert timeout.status is Status.TIMEOUT
    assert texts(timeout)[-1] == "Task timed out after 3.00 seconds" and timeout.lines[-1].is_error
    assert oom.status is Status.OUT_OF_MEMORY
    assert "Error: Runtime exited with error: signal: killed" in texts(oom)


def test_an_invocation_without_its_report_yet_is_unfinished() -> None:
    pending = by_id(group_invocations(load("classic_python.jsonl")))["1f0a2b3c-0005"]

    assert pending.status is Status.UNFINISHED
    assert pending.duration_ms is None and texts(pending) == ["still working"]


def test_from_a_filtered_read_a_missing_report_is_unreported_not_running() -> None:
    matched = [e for e in load("classic_python.jsonl") if "ERROR" in e.message or "order 42" in e.message]
    grouped = group_invocations(matched, filtered=True)

    assert grouped.invocations and {i.status for i in grouped.invocations} == {Status.UNREPORTED}
    # A REPORT the filter did match still decides.
    reported = group_invocations(load("classic_python.jsonl"), filtered=True)
    assert by_id(reported)["1f0a2b3c-0001"].status is Status.OK
    assert by_id(reported)["1f0a2b3c-0005"].status is Status.UNREPORTED


def test_lines_outside_any_invocation_are_kept_as_orphans() -> None:
    orphans = group_invocations(load("classic_python.jsonl")).orphans

    assert [line.text[:18] for line in orphans.lines] == ["INIT_START Runtime", "loading config fro"]


def test_invocations_are_ordered_by_start_whatever_the_delivery_order() -> None:
    events = load("classic_python.jsonl") + load("json_format.jsonl") + load("classic_node.jsonl")
    shuffled = random.Random(8).sample(events, len(events))

    grouped = group_invocations(shuffled)

    starts = [i.start for i in grouped.invocations]
    assert starts == sorted(starts) and len(starts) == 11
    assert grouped == group_invocations(events)


def test_concurrent_invocations_in_one_stream_group_by_request_id() -> None:
    grouped = group_invocations(load("classic_node.jsonl"))
    inv = by_id(grouped)

    a, b = inv["6e1c9a1e-aaaa"], inv["6e1c9a1e-bbbb"]
    assert texts(a) == [
        "fetching cart a",
        "Invoke Error",
        "TypeError: Cannot read properties of undefined (reading 'id')",
        "    at Runtime.handler (file:///var/task/index.mjs:12:24)",
    ]
    assert a.status is Status.ERROR and a.error_type == "Runtime.UnhandledPromiseRejection"
    assert texts(b) == [
        "fetching cart b",
        'caught: {"stack":"Error: card declined',
        "    at charge (file:///var/task/pay.mjs:4:11)",
        '    at async Runtime.handler (file:///var/task/index.mjs:20:5)"}',
    ]
    # Logged at ERROR, but the invocation itself succeeded.
    assert b.status is Status.OK
    # Two invocations were open: a bare line cannot be attributed, so it is kept, not guessed.
    assert [line.text for line in grouped.orphans.lines] == ["a bare line while two invocations run"]


def test_json_format_cold_start_with_pretty_printed_fields() -> None:
    grouped = group_invocations(load("json_format.jsonl"))
    ok = by_id(grouped)["9b2d6f3e-1111"]

    assert ok.status is Status.OK
    assert (ok.duration_ms, ok.billed_ms, ok.memory_used_mb, ok.memory_size_mb, ok.init_ms) == (
        20.11,
        21,
        88,
        512,
        301.5,
    )
    assert texts(ok) == [
        "order accepted",
        "{",
        '  "items": [',
        '    "book",',
        '    "pen"',
        "  ],",
        '  "orderId": 42',
        "}",
    ]
    assert grouped.orphans.lines[0].text.startswith("platform.initStart {")


def test_json_format_error_timeout_and_out_of_memory() -> None:
    inv = by_id(group_invocations(load("json_format.jsonl")))

    error = inv["9b2d6f3e-2222"]
    assert error.status is Status.ERROR and error.error_type == "ZeroDivisionError" and not error.cold_start
    assert texts(error) == [
        "ZeroDivisionError: division by zero",
        '  File "/var/task/app.py", line 9, in handler',
        "    return total / count",
    ]
    assert all(line.is_error for line in error.lines)
    assert inv["9b2d6f3e-3333"].status is Status.TIMEOUT
    assert inv["9b2d6f3e-4444"].status is Status.OUT_OF_MEMORY


def test_an_async_retry_reusing_the_request_id_is_a_second_invocation() -> None:
    rid = "5a5a5a5a-0000-4000-8000-000000000001"
    messages = [f"START RequestId: {rid} Version: $LATEST", f"REPORT RequestId: {rid}\tDuration: 1 ms\tStatus: error"]
    messages += [f"START RequestId: {rid} Version: $LATEST", f"REPORT RequestId: {rid}\tDuration: 2 ms"]
    events = [LogEvent(1000 * i, None, "s", str(i), m) for i, m in enumerate(messages)]

    grouped = group_invocations(events)

    assert [(i.duration_ms, i.status) for i in grouped.invocations] == [(1.0, Status.ERROR), (2.0, Status.OK)]


def test_an_old_report_at_the_memory_ceiling_after_a_runtime_exit_is_out_of_memory() -> None:
    rid = "5a5a5a5a-0000-4000-8000-000000000002"
    messages = [
        f"START RequestId: {rid} Version: $LATEST",
        f"RequestId: {rid} Error: Runtime exited with error: signal: killed",
        f"REPORT RequestId: {rid}\tDuration: 9 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t",
    ]
    grouped = group_invocations([LogEvent(i, None, "s", str(i), m) for i, m in enumerate(messages)])

    assert grouped.invocations[0].status is Status.OUT_OF_MEMORY


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "REPORT RequestId: 3f6c1c1e-1b2c-4d5e-9f00-aabbccddeeff\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 64 MB\tInit Duration: 234.56 ms\t\n",
            Report("3f6c1c1e-1b2c-4d5e-9f00-aabbccddeeff", 12.34, 13, 128, 64, 234.56),
        ),
        (
            "REPORT RequestId: 3f6c1c1e-1b2c-4d5e-9f00-aabbccddeeff\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: timeout",
            Report("3f6c1c1e-1b2c-4d5e-9f00-aabbccddeeff", 3000, 3000, 128, 70, None, "timeout"),
        ),
        (
            # AWS's own documented sample has a space before the tab after "Billed Duration".
            "REPORT RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff\tDuration: 46.84 ms\tBilled Duration: 47 ms \t"
            "Memory Size: 192 MB\tMax Memory Used: 72 MB\t\n",
            Report("6234bffe-149a-b642-81ff-2e8e376d8aff", 46.84, 47, 192, 72),
        ),
    ],
)
def test_report_lines_parse_every_figure(message: str, expected: Report) -> None:
    assert parse_message(message) == expected


def test_unrecognised_text_and_json_stay_as_text() -> None:
    assert parse_message("plain words") == AppLog(("plain words",))
    assert parse_message("[1, 2]") == AppLog(("[1, 2]",))
    assert parse_message('{"broken": ') == AppLog(('{"broken":',))


def test_a_backslash_n_outside_a_stack_trace_is_left_alone() -> None:
    assert unfold(r"saved to C:\new\file.txt") == (r"saved to C:\new\file.txt",)
    assert unfold('Traceback (most recent call last):\\n  File \\"x.py\\", line 1') == (
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
    )


def _events(*messages: str) -> list[LogEvent]:
    return [LogEvent(1000 * i, None, "s", str(i), m) for i, m in enumerate(messages)]


def test_an_out_of_memory_error_type_is_out_of_memory_below_the_ceiling_too() -> None:
    rid = "5a5a5a5a-0000-4000-8000-000000000003"
    grouped = group_invocations(
        _events(
            f"START RequestId: {rid} Version: $LATEST",
            f"REPORT RequestId: {rid}\tDuration: 9 ms\tMemory Size: 128 MB\tMax Memory Used: 120 MB\t"
            "Status: error\tError Type: Runtime.OutOfMemory",
        )
    )
    assert grouped.invocations[0].status is Status.OUT_OF_MEMORY


def test_an_old_report_without_status_after_task_timed_out_is_a_timeout() -> None:
    rid = "5a5a5a5a-0000-4000-8000-000000000004"
    grouped = group_invocations(
        _events(
            f"START RequestId: {rid} Version: $LATEST",
            f"2026-12-01T10:00:03.005Z {rid} Task timed out after 3.00 seconds",
            f"REPORT RequestId: {rid}\tDuration: 3003.12 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 40 MB\t",
        )
    )
    assert grouped.invocations[0].status is Status.TIMEOUT


def test_order_is_by_start_time_not_by_request_id() -> None:
    late, early = "ffffffff-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000"
    grouped = group_invocations(_events(f"START RequestId: {late} Version: 1", f"START RequestId: {early} Version: 1"))

    assert [i.request_id for i in grouped.invocations] == [late, early]
