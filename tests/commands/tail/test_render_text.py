"""An invocation as a reader sees it: header in the configured zone, figures, status, marked lines."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from commands.tail.events import LogEvent
from commands.tail.invocations import Invocation, Status, group_invocations
from commands.tail.pack import FENCE, pack_lines
from commands.tail.render_text import GREEN, GREY, RED, render_invocation, render_orphans, status_colour

DATA = Path(__file__).parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")


def invocations(name: str) -> dict[str, Invocation]:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]
    events = [LogEvent(r["timestamp"], None, r["stream"], str(i), r["message"]) for i, r in enumerate(rows)]
    return {i.request_id[:13]: i for i in group_invocations(events).invocations}


def test_a_cold_start_shows_local_time_figures_and_init() -> None:
    cold = invocations("classic_python.jsonl")["1f0a2b3c-0001"]

    assert render_invocation(cold, BERLIN) == [
        "2026-12-01 11:00:00.000 CET · `1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6` · 12.34 ms (billed 13 ms) · "
        "64 of 128 MB · cold start, init 234.56 ms · ok",
        "```",
        "  charging order 42",
        "  order 42 charged",
        "```",
    ]
    assert status_colour(cold.status) == GREEN


def test_failures_are_red_and_say_how_they_ended() -> None:
    inv = invocations("classic_python.jsonl")

    timeout = render_invocation(inv["1f0a2b3c-0003"], ZoneInfo("UTC"))
    assert timeout[0].endswith("3.00 s (billed 3.00 s) · 70 of 128 MB · *timeout*")
    assert timeout[-2] == "✖ Task timed out after 3.00 seconds"
    oom = render_invocation(inv["1f0a2b3c-0004"], ZoneInfo("UTC"))[0]
    assert oom.endswith("*out of memory (Runtime.OutOfMemory)*")
    assert {status_colour(s) for s in (Status.ERROR, Status.TIMEOUT, Status.OUT_OF_MEMORY)} == {RED}
    assert status_colour(Status.UNFINISHED) == GREY


def test_a_log_line_holding_a_fence_cannot_break_out_of_the_code_block() -> None:
    inv = invocations("classic_python.jsonl")["1f0a2b3c-0005"]
    inv.lines[0] = type(inv.lines[0])("INFO", "see ```code```", False)

    lines = render_invocation(inv, ZoneInfo("UTC"))

    assert sum(line.count(FENCE) for line in lines) == 2


def test_orphans_get_a_header_and_rendered_output_packs_into_balanced_chunks() -> None:
    rows = [json.loads(line) for line in (DATA / "classic_python.jsonl").read_text().splitlines()]
    grouped = group_invocations(
        [LogEvent(r["timestamp"], None, r["stream"], str(i), r["message"]) for i, r in enumerate(rows)]
    )
    lines = render_orphans(grouped.orphans) + [
        line for i in grouped.invocations for line in render_invocation(i, BERLIN)
    ]

    packed = pack_lines(lines, budget=200)

    assert lines[0] == "Outside any invocation"
    assert all(len(text) <= 200 and text.count(FENCE) % 2 == 0 for text in packed.texts)
    assert render_orphans(type(grouped.orphans)([])) == []
