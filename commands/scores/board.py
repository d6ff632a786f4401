"""Replies built from one stored `Snapshot`: the ranking table, the chart with its table, the CSV.

A renderer reads what it is given; it never touches the store, the network or Slack.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo

from bot.reply import Attachment, Reply
from bot.slack.blocks import Cell, aligned, context, header, table
from bot.text import EMPTY, Mrkdwn, fenced, plural
from commands.scores.chart import ChartSpec, render_chart
from commands.scores.options import ScoresOptions
from commands.scores.ranking import Snapshot, Standing, standings

DEFAULT_TOP = 20
HEADINGS = tuple(map(Mrkdwn, ("#", "Team", "Profit", "Change", "Move")))


def _money(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _money(value) if value else "0"


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
    return Mrkdwn("As of {}; change and move over the last {:g} min{}.").format(
        _when(snapshot.as_of, tz), period / 60, frozen
    )


def board_rows(snapshot: Snapshot, period: float, top: int | None) -> list[tuple[Mrkdwn | Cell, ...]]:
    """The heading, then a row per team; a team's name is the scoreboard's, so it is escaped."""
    rows: list[tuple[Mrkdwn | Cell, ...]] = [HEADINGS]
    for s in standings(snapshot, period)[:top]:
        change = Cell(Mrkdwn(_signed(s.change)), emoji=_mark(s.change)) if s.change is not None else Mrkdwn("–")
        value = Cell(Mrkdwn(_money(s.value)), emoji=_mark(s.value))
        rows.append((Mrkdwn(str(s.rank)), Mrkdwn.escape(s.team), value, change, Mrkdwn(_movement(s))))
    return rows


def board_reply(snapshot: Snapshot, tz: tzinfo, options: ScoresOptions, show_all: bool = False) -> Reply:
    teams = len(snapshot.series)
    if not teams:
        return Reply(Mrkdwn("No scores for `{}` yet: the first poll has not stored any.").format(snapshot.game))
    rows = board_rows(snapshot, options.period_seconds, None if show_all else DEFAULT_TOP)
    shown_teams = len(rows) - 1
    more = Mrkdwn(" Top {} of {}; `--all` shows every one.").format(shown_teams, plural(teams, "team"))
    note = caption(snapshot, tz, options.period_seconds) + (more if shown_teams < teams else Mrkdwn(""))
    lines = aligned(rows, right={0, 2, 3})
    text = Mrkdwn("*{}*\n{}\n{}").format(snapshot.game, fenced(lines), note)
    title = Mrkdwn("{}: the ranking").format(snapshot.game)
    blocks = [header(title), *table(rows, right={0, 2, 3}), context(note)]
    return Reply(text, blocks=blocks)


def chart_reply(
    snapshot: Snapshot, tz: tzinfo, options: ScoresOptions, spec: ChartSpec | None = None, note: Mrkdwn = EMPTY
) -> Reply:
    """The chart and the table, both from this one snapshot."""
    spec = spec or ChartSpec()
    board = board_reply(snapshot, tz, options)
    if not snapshot.series:
        return board
    image = render_chart(snapshot, tz, spec)
    stamp = datetime.fromtimestamp(snapshot.as_of, tz).strftime("%Y%m%d-%H%M%S")
    title = Mrkdwn("{} at {}").format(snapshot.game, _when(snapshot.as_of, tz))
    attachment = Attachment(f"scores-{snapshot.game}-{stamp}.png", image, title)
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
