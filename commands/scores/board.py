"""Replies built from one stored `Snapshot`: the ranking table, the chart with its table, the CSV.

A renderer reads what it is given; it never touches the store, the network or Slack.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, tzinfo
from typing import Any

from bot.reply import Attachment, Reply
from bot.slack.blocks import Cell, aligned, context, header, table
from bot.slack.data_blocks import data_table, line_chart, raw_number
from bot.text import EMPTY, Mrkdwn, fenced, plural
from commands.scores.chart import ChartSpec, render_chart
from commands.scores.history import PollState
from commands.scores.options import ScoresOptions
from commands.scores.ranking import Snapshot, Standing, baseline, ranking_at, standings, value_at

DEFAULT_TOP = 20
HEADINGS = tuple(map(Mrkdwn, ("#", "Team", "Profit", "Change", "Move")))


def places(values: list[float]) -> int:
    """Decimals for a column of amounts: two for all when any has cents, so the column lines up."""
    return 2 if any(v != int(v) for v in values) else 0


def _money(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _signed(value: float, decimals: int) -> str:
    return ("+" if value > 0 else "") + _money(value, decimals)


def _mark(value: float) -> str:
    return "large_green_circle" if value >= 0 else "red_circle"


def _movement(standing: Standing) -> str:
    if standing.movement is None:
        return "new"
    if standing.movement > 0:
        return f"▲{standing.movement}"
    return f"▼{-standing.movement}" if standing.movement < 0 else "–"


def _when(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def caption(snapshot: Snapshot, tz: tzinfo, period: float) -> Mrkdwn:
    frozen = Mrkdwn(" — *frozen*: the board as at the freeze" if snapshot.frozen else "")
    since = baseline(snapshot, period)
    if since is None:
        measured = "the first poll: change and move start with the next"
    elif since == snapshot.as_of - period:
        measured = f"change and move over the last {period / 60:g} min"
    else:
        clock = datetime.fromtimestamp(since, tz).strftime("%H:%M:%S")
        measured = f"change and move since the previous poll ({clock}) until the history spans {period / 60:g} min"
    return Mrkdwn("As of {}; {}{}.").format(_when(snapshot.as_of, tz), measured, frozen)


MAX_ERROR_CHARS = 200


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{max(seconds, 0):.0f} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def poll_trouble(state: PollState, now: float, tz: tzinfo) -> Mrkdwn:
    """Why the board is stale, when it is: the last poll's error (the endpoint's words, escaped and
    bounded) and how long polls have failed; "" while polls succeed."""
    if not state.last_error:
        return EMPTY
    error = state.last_error if len(state.last_error) <= MAX_ERROR_CHARS else state.last_error[:MAX_ERROR_CHARS] + "…"
    since = state.failing_since or state.last_at
    last = datetime.fromtimestamp(state.last_at, tz).strftime("%H:%M:%S")
    return Mrkdwn("Polls have failed for {} ({} in all); the last, at {}: {}.").format(
        _span(now - since), plural(state.failures, "failure"), last, error
    )


def board_rows(snapshot: Snapshot, period: float, top: int | None) -> list[tuple[Mrkdwn | Cell, ...]]:
    return _rows(standings(snapshot, period)[:top])


def _rows(shown: list[Standing]) -> list[tuple[Mrkdwn | Cell, ...]]:
    """The heading, then a row per team; a team's name is the scoreboard's, so it is escaped."""
    value_places, change_places = _column_places(shown)
    rows: list[tuple[Mrkdwn | Cell, ...]] = [HEADINGS]
    for s in shown:
        change = (
            Cell(Mrkdwn(_signed(s.change, change_places)), emoji=_mark(s.change))
            if s.change is not None
            else Mrkdwn("–")
        )
        value = Cell(Mrkdwn(_money(s.value, value_places)), emoji=_mark(s.value))
        rows.append((Mrkdwn(str(s.rank)), Mrkdwn.escape(s.team), value, change, Mrkdwn(_movement(s))))
    return rows


def _column_places(shown: list[Standing]) -> tuple[int, int]:
    return places([s.value for s in shown]), places([s.change for s in shown if s.change is not None])


def ranking_table(game: str, shown: list[Standing]) -> dict[str, Any]:
    """The ranking as a data_table: sortable (ranks and amounts are numbers), paged by 20."""
    value_places, change_places = _column_places(shown)
    dot = {"large_green_circle": "🟢", "red_circle": "🔴"}
    rows: list[list[Any]] = []
    for s in shown:
        value = raw_number(s.value, f"{dot[_mark(s.value)]} {_money(s.value, value_places)}")
        change = (
            raw_number(s.change, f"{dot[_mark(s.change)]} {_signed(s.change, change_places)}")
            if s.change is not None
            else "–"
        )
        rows.append([raw_number(s.rank, str(s.rank)), s.team, value, change, _movement(s)])
    return data_table(f"{game}: the ranking", HEADINGS, rows, page_size=DEFAULT_TOP)


def board_reply(
    snapshot: Snapshot, tz: tzinfo, options: ScoresOptions, show_all: bool = False, trouble: Mrkdwn = EMPTY
) -> Reply:
    """The ranking; `trouble` (from `poll_trouble`) says why it may be stale."""
    teams = len(snapshot.series)
    if not teams:
        why = trouble or Mrkdwn("The first poll has not stored any.")
        return Reply(Mrkdwn("No scores for `{}` yet. {}").format(snapshot.game, why))
    shown = standings(snapshot, options.period_seconds)[: None if show_all else DEFAULT_TOP]
    rows = _rows(shown)
    shown_teams = len(rows) - 1
    more = Mrkdwn(" Top {} of {}; `--all` shows every one.").format(shown_teams, plural(teams, "team"))
    warning = Mrkdwn("\n:warning: ") + trouble if trouble else EMPTY
    note = caption(snapshot, tz, options.period_seconds) + (more if shown_teams < teams else EMPTY) + warning
    lines = aligned(rows, right={0, 2, 3})
    text = Mrkdwn("*{}*\n{}\n{}").format(snapshot.game, fenced(lines), note)
    title = header(Mrkdwn("{}: the ranking").format(snapshot.game))
    # A data_table where Slack has it (sortable, paged, every team); today's table block where it has not.
    blocks = [title, ranking_table(snapshot.game, shown), context(note)]
    return Reply(text, blocks=blocks, fallback_blocks=[title, *table(rows, right={0, 2, 3}), context(note)])


NATIVE_TEAMS, NATIVE_POINTS = 6, 12


def top_chart(snapshot: Snapshot, tz: tzinfo, since: float | None) -> dict[str, Any]:
    """The leaders' profit over time as Slack's own line chart: the top 6 (its most series), at up to
    12 poll times spread over the history (a team not yet on the board counts 0)."""
    times = [at for at in snapshot.times if since is None or at >= since]
    step = max(1, math.ceil(len(times) / NATIVE_POINTS))
    picked = times[::-1][::step][::-1]  # the last poll always among them
    top = [team for _, team, _ in ranking_at(snapshot.series, snapshot.as_of)[:NATIVE_TEAMS]]
    series = [(team, [value_at(snapshot.series[team], at) or 0.0 for at in picked]) for team in top]
    labels = [datetime.fromtimestamp(at, tz).strftime("%H:%M") for at in picked]
    zone = datetime.fromtimestamp(snapshot.as_of, tz).tzname()
    return line_chart(f"{snapshot.game}: profit of the top {len(top)}", labels, series, f"Time ({zone})", "Profit")


def chart_image(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> Attachment:
    image = render_chart(snapshot, tz, spec)
    stamp = datetime.fromtimestamp(snapshot.as_of, tz).strftime("%Y%m%d-%H%M%S")
    title = Mrkdwn("{} at {}").format(snapshot.game, _when(snapshot.as_of, tz))
    return Attachment(f"scores-{snapshot.game}-{stamp}.png", image, title)


def chart_alone(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> Reply:
    """The chart as a message of its own, posted after the table of the same snapshot."""
    attachment = chart_image(snapshot, tz, spec)
    return Reply(Mrkdwn("The chart of `{}`: {}.").format(snapshot.game, attachment.title), files=(attachment,))


def chart_reply(
    snapshot: Snapshot, tz: tzinfo, options: ScoresOptions, spec: ChartSpec | None = None, note: Mrkdwn = EMPTY
) -> Reply:
    """The chart and the table in one message, both from this one snapshot."""
    spec = spec or ChartSpec()
    board = board_reply(snapshot, tz, options)
    if not snapshot.series:
        return board
    attachment = chart_image(snapshot, tz, spec)
    lead = [context(note)] if note else []
    return Reply(note + "\n" + board.text if note else board.text, blocks=lead + board.blocks, files=(attachment,))


def _csv_safe(text: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula; a quote in front keeps it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_reply(snapshot: Snapshot, tz: tzinfo) -> Reply:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["game", "time", "epoch_seconds", "team", "value"])
    rows = sorted((at, team, value) for team, points in snapshot.series.items() for at, value in points)
    for at, team, value in rows:
        writer.writerow(
            [snapshot.game, datetime.fromtimestamp(at, tz).isoformat(), f"{at:.3f}", _csv_safe(team), repr(value)]
        )
    name = f"scores-{snapshot.game}.csv"
    text = Mrkdwn("The history of `{}`: {} of {}.").format(
        snapshot.game, plural(len(rows), "sample"), plural(len(snapshot.series), "team")
    )
    return Reply(text, files=(Attachment(name, out.getvalue().encode(), Mrkdwn.escape(name)),))
