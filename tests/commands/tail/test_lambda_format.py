"""The message parser on input written to hurt it: linear on every shape, never raising, JSON read
only as deep as is safe. Absolute times are bench/parse_lines.py's; here only how time grows."""

from __future__ import annotations

import gc
import json
import time

import pytest

from bot.local.hostile_lines import REPORT, RID, SHAPES
from commands.tail.lambda_format import MAX_JSON_DEPTH, AppLog, Report, parse_message


def least_times(lines: tuple[str, ...], runs: int = 5) -> list[float]:
    """Each line's least parse time over `runs`, in CPU time of this thread (the other processes on
    this machine preempt a long parse more often than a short one), the lines taken in turn, and
    without the garbage collector, whose full collections walk the whole test process."""
    least = [float("inf")] * len(lines)
    gc.disable()
    try:
        for _ in range(runs):
            for i, line in enumerate(lines):
                started = time.thread_time()
                parse_message(line)
                least[i] = min(least[i], time.thread_time() - started)
    finally:
        gc.enable()
    return least


@pytest.mark.parametrize("shape", SHAPES)
def test_parsing_grows_linearly_on_hostile_shapes(shape: str) -> None:
    """4x the input: linear is ~4x the time (4.7 at worst here), quadratic 16x."""
    small, large = least_times((SHAPES[shape](64 * 1024), SHAPES[shape](256 * 1024)))

    ratio = large / max(small, 1e-5)

    assert ratio < 8, f"{shape}: 256 KB took {ratio:.1f}x as long as 64 KB"


def test_a_line_nested_past_the_limit_is_its_text_and_one_within_is_read() -> None:
    def nested(depth: int) -> str:  # the object itself is one level
        return '{"message": "hi", "extra": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    deep, too_deep = nested(MAX_JSON_DEPTH), nested(MAX_JSON_DEPTH + 1)
    unreadable = '{"message": ' + "[" * 2_000  # json itself raised RecursionError on this

    assert parse_message(deep).lines[0] == "hi"
    assert parse_message(too_deep) == AppLog((too_deep,))
    assert parse_message(unreadable) == AppLog((unreadable,))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    line = json.dumps({"message": "[" * 100 + '"{' * 50, "level": "WARN"})

    assert parse_message(line) == AppLog(("[" * 100 + '"{' * 50,), level="WARN")


def test_a_long_json_line_shows_its_fields_as_the_line_itself() -> None:
    fields = {f"k{i}": i for i in range(3_000)}
    line = json.dumps({"level": "INFO", "message": "many fields", **fields})
    short = json.dumps({"level": "INFO", "message": "few fields", "k1": 1})

    assert parse_message(line).lines == ("many fields", line)
    assert parse_message(short).lines == ("few fields", "{", '  "k1": 1', "}")


def test_numbers_too_large_for_a_float_are_left_out() -> None:
    record = parse_message(f"{REPORT}Duration: {'9' * 400} ms\tMemory Size: 128 MB\tMax Memory Used: {'9' * 400} MB")

    assert record == Report(RID, duration_ms=None, memory_size_mb=128, memory_used_mb=None)


def test_a_stack_of_many_frames_is_unfolded_in_order() -> None:
    line = json.dumps(
        {
            "level": "ERROR",
            "errorType": "E",
            "errorMessage": "m",
            "stackTrace": [f"at f{i} (x.js:{i})" for i in range(5_000)],
        }
    )

    lines = parse_message(line).lines

    assert lines[:3] == ("E: m", "at f0 (x.js:0)", "at f1 (x.js:1)") and len(lines) == 5_001
