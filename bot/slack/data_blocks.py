"""Slack's `data_table` and `data_visualization` blocks, built within their documented limits.

slack_sdk has no models for either yet. The limits, from docs.slack.dev/reference/block-kit/blocks/
data-table-block and data-visualization-block (read 2026-12):
- data_table: `caption` required; 2 to 101 rows (a header and up to 100), 1 to 20 columns, every row
  as long; cells `raw_text` (text of at least one character), `raw_number` (a number and its text)
  or `rich_text` (not in the header); at most 10,000 characters across all cells, in a table and in
  a message; `page_size` 1 to 100 (Slack's default 5). A column all `raw_number` sorts numerically.
- data_visualization: `title` at most 50 characters; a line chart has 1 to 6 series, each named (at
  most 20 characters, names unique) with one point per category of its `axis_config` (category labels
  at most 20 characters, axis labels at most 50); at most 2 of these blocks in one message.
A builder fits what it is given into these limits (rows dropped from the end, labels clipped) and
`check` says what a block breaks, so a test can hold any payload to the same limits.

Workspaces that do not have them yet answer `invalid_blocks`: a reply carrying these blocks carries
`Reply.fallback_blocks` too, which the delivery sends instead, once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MAX_ROWS = 101
MAX_COLUMNS = 20
MAX_TABLE_CHARS = 10_000
MAX_PAGE_SIZE = 100
MAX_TITLE = 50
MAX_SERIES = 6
MAX_SERIES_NAME = 20
MAX_CATEGORY = 20
MAX_AXIS_LABEL = 50
MAX_VISUALIZATIONS = 2

Cell = str | float | dict[str, Any]  # text, a number, or a ready rich_text cell (not in the header)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def raw_number(value: float, text: str) -> dict[str, Any]:
    return {"type": "raw_number", "value": value, "text": text or "0"}


def _cell(cell: Cell) -> dict[str, Any]:
    if isinstance(cell, dict):
        return cell
    if isinstance(cell, int | float):
        return raw_number(float(cell), f"{cell:g}")
    return {"type": "raw_text", "text": cell or "–"}


def cell_chars(cell: dict[str, Any]) -> int:
    """The characters a cell counts for: its text, or the texts of a rich_text cell's elements."""
    if cell.get("type") == "rich_text":
        return sum(len(str(e.get("text", e.get("name", "")))) for s in cell.get("elements", []) for e in s["elements"])
    return len(str(cell.get("text", "")))


def data_table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[Cell]], page_size: int = 20
) -> dict[str, Any]:
    """A data_table of the header and as many of the rows, in order, as the limits let in."""
    width = min(len(header), MAX_COLUMNS)
    built = [[_cell(h) for h in header[:width]]]
    used = sum(cell_chars(c) for c in built[0])
    for row in rows[: MAX_ROWS - 1]:
        cells = [_cell(c) for c in row[:width]]
        size = sum(cell_chars(c) for c in cells)
        if used + size > MAX_TABLE_CHARS:
            break
        built.append(cells)
        used += size
    return {
        "type": "data_table",
        "caption": caption or "Table",
        "page_size": max(1, min(page_size, MAX_PAGE_SIZE)),
        "rows": built,
    }


def line_chart(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], x_label: str, y_label: str
) -> dict[str, Any]:
    """A data_visualization line chart: the first 6 series, names and labels clipped to the limits
    (a clipped name that repeats another gets a number), one point per category."""
    labels = [_clip(c, MAX_CATEGORY) for c in categories]
    names: list[str] = []
    for name, _ in series[:MAX_SERIES]:
        short = _clip(name, MAX_SERIES_NAME)
        n = 2
        while short in names:
            short = _clip(name, MAX_SERIES_NAME - 3) + f" {n}"
            n += 1
        names.append(short)
    return {
        "type": "data_visualization",
        "title": _clip(title, MAX_TITLE),
        "chart": {
            "type": "line",
            "series": [
                {"name": name, "data": [{"label": label, "value": v} for label, v in zip(labels, values, strict=True)]}
                for name, (_, values) in zip(names, series, strict=False)
            ],
            "axis_config": {
                "categories": labels,
                "x_label": _clip(x_label, MAX_AXIS_LABEL),
                "y_label": _clip(y_label, MAX_AXIS_LABEL),
            },
        },
    }


def check(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """What a message's data blocks break of the documented limits; [] when nothing."""
    problems: list[str] = []
    charts = [b for b in blocks if b.get("type") == "data_visualization"]
    if len(charts) > MAX_VISUALIZATIONS:
        problems.append(f"{len(charts)} data_visualization blocks (at most {MAX_VISUALIZATIONS})")
    tables = [b for b in blocks if b.get("type") == "data_table"]
    total = 0
    for table in tables:
        problems += _check_table(table)
        total += sum(cell_chars(c) for row in table.get("rows", []) for c in row)
    if total > MAX_TABLE_CHARS:
        problems.append(f"{total} characters in the message's tables (at most {MAX_TABLE_CHARS})")
    for chart in charts:
        problems += _check_chart(chart)
    return problems


def _check_table(table: dict[str, Any]) -> list[str]:
    rows = table.get("rows", [])
    problems = [] if table.get("caption") else ["a data_table without a caption"]
    if not 2 <= len(rows) <= MAX_ROWS:
        problems.append(f"{len(rows)} rows (2 to {MAX_ROWS})")
    widths = {len(row) for row in rows}
    if len(widths) > 1 or not widths or not 1 <= widths.pop() <= MAX_COLUMNS:
        problems.append(f"rows of {sorted({len(r) for r in rows})} cells (all alike, 1 to {MAX_COLUMNS})")
    if rows and any(c.get("type") == "rich_text" for c in rows[0]):
        problems.append("rich_text in the header")
    for row in rows:
        for c in row:
            kind = c.get("type")
            if kind not in ("raw_text", "raw_number", "rich_text"):
                problems.append(f"a cell of type {kind!r}")
            elif kind != "rich_text" and not str(c.get("text", "")):
                problems.append("an empty text cell")
            elif kind == "raw_number" and not (isinstance(c.get("value"), int | float) and math.isfinite(c["value"])):
                problems.append(f"a raw_number without a finite value: {c.get('value')!r}")
    total = sum(cell_chars(c) for row in rows for c in row)
    if total > MAX_TABLE_CHARS:
        problems.append(f"{total} characters in a table (at most {MAX_TABLE_CHARS})")
    if not 1 <= table.get("page_size", 5) <= MAX_PAGE_SIZE:
        problems.append(f"page_size {table.get('page_size')} (1 to {MAX_PAGE_SIZE})")
    return problems


def _check_chart(block: dict[str, Any]) -> list[str]:
    problems = []
    if not 1 <= len(block.get("title", "")) <= MAX_TITLE:
        problems.append(f"a title of {len(block.get('title', ''))} characters (1 to {MAX_TITLE})")
    chart = block.get("chart", {})
    axis = chart.get("axis_config", {})
    categories = axis.get("categories", [])
    series = chart.get("series", [])
    if not 1 <= len(series) <= MAX_SERIES:
        problems.append(f"{len(series)} series (1 to {MAX_SERIES})")
    names = [s.get("name", "") for s in series]
    if len(set(names)) != len(names) or any(not 1 <= len(n) <= MAX_SERIES_NAME for n in names):
        problems.append(f"series names {names} (unique, 1 to {MAX_SERIES_NAME} characters)")
    if any(len(c) > MAX_CATEGORY for c in categories):
        problems.append(f"a category over {MAX_CATEGORY} characters")
    if any(len(axis.get(k, "")) > MAX_AXIS_LABEL for k in ("x_label", "y_label")):
        problems.append(f"an axis label over {MAX_AXIS_LABEL} characters")
    for s in series:
        if [p.get("label") for p in s.get("data", [])] != categories:
            problems.append(f"series {s.get('name')!r} does not have one point per category")
    return problems
