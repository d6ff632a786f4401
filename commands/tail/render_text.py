"""An invocation as plain text lines and a colour, for the Slack side to place in blocks.

The header says what a reader scans for (when, how long, how much memory, cold or warm, how it
ended); the log lines follow inside a code fence so their spacing survives, error lines marked.
`pack` splits the result; the Block Kit builders decide the blocks.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from commands.tail.invocations import Invocation, LogLine, Orphans, Status

GREEN = "#2eb886"
RED = "#e01e5a"
GREY = "#9e9ea6"

ERROR_MARK = "✖ "
PLAIN_MARK = "  "  # keeps error and plain lines aligned
# A log line containing ``` would close the fence early; a zero-width space defuses it.
_DEFUSED_FENCE = "`\u200b``"

_LABELS = {
    Status.OK: "ok",
    Status.ERROR: "error",
    Status.TIMEOUT: "timeout",
    Status.OUT_OF_MEMORY: "out of memory",
    Status.UNFINISHED: "still running (no REPORT yet)",
    Status.UNREPORTED: "its REPORT does not match the filter",
}


def status_colour(status: Status) -> str:
    """The attachment colour bar: green ok, red error, timeout or OOM, grey while unfinished."""
    if status is Status.OK:
        return GREEN
    if status in (Status.UNFINISHED, Status.UNREPORTED):
        return GREY
    return RED


def render_invocation(invocation: Invocation, tz: ZoneInfo) -> list[str]:
    """The header line, then the invocation's log lines in a code fence."""
    return [invocation_header(invocation, tz), *_fenced(invocation.lines)]


def invocation_header(invocation: Invocation, tz: ZoneInfo) -> str:
    start = invocation.start.astimezone(tz)
    parts = [f"{start:%Y-%m-%d %H:%M:%S}.{start.microsecond // 1000:03d} {start.tzname()}"]
    parts.append(f"`{invocation.request_id}`")
    if invocation.duration_ms is not None:
        duration = _ms(invocation.duration_ms)
        if invocation.billed_ms is not None:
            duration += f" (billed {_ms(invocation.billed_ms)})"
        parts.append(duration)
    if invocation.memory_used_mb is not None and invocation.memory_size_mb is not None:
        parts.append(f"{invocation.memory_used_mb} of {invocation.memory_size_mb} MB")
    if invocation.init_ms is not None:
        parts.append(f"cold start, init {_ms(invocation.init_ms)}")
    label = _LABELS[invocation.status]
    if invocation.error_type and invocation.status in (Status.ERROR, Status.OUT_OF_MEMORY):
        label += f" ({invocation.error_type})"
    parts.append(f"*{label}*" if invocation.status is not Status.OK else label)
    return " · ".join(parts)


def render_orphans(orphans: Orphans) -> list[str]:
    """Lines outside any invocation, under a header of their own; nothing when there are none."""
    if not orphans.lines:
        return []
    return ["Outside any invocation", *_fenced(orphans.lines)]


def _fenced(lines: list[LogLine]) -> list[str]:
    if not lines:
        return []
    body = [(ERROR_MARK if line.is_error else PLAIN_MARK) + line.text.replace("```", _DEFUSED_FENCE) for line in lines]
    return ["```", *body, "```"]


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:g} ms"
