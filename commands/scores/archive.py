"""`/scores archive [GAME]` (admins): commit the game's history CSV, its final charts and a Markdown
summary to `[remote.git]` through bot.remote.archive, all from one stored snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from bot.command import CommandContext, CommandError
from bot.remote.archive import archive_files
from bot.reply import Reply
from bot.slack.blocks import Cell, section
from commands.scores.board import board_rows, caption, chart_reply, export_reply
from commands.scores.chart import ChartSpec
from commands.scores.options import ScoresOptions
from commands.scores.ranking import Snapshot


def summary_markdown(snapshot: Snapshot, tz: tzinfo, options: ScoresOptions) -> str:
    """The final ranking as a Markdown table (every team), with the snapshot's caption."""
    rows = board_rows(snapshot, options.period_seconds, None)
    cells = [[_markdown_cell(cell) for cell in row] for row in rows]
    lines = [f"# {snapshot.game}: the final ranking", "", caption(snapshot, tz, options.period_seconds), ""]
    lines += ["| " + " | ".join(cells[0]) + " |", "|---:|---|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines) + "\n"


def _markdown_cell(cell: str | Cell) -> str:
    """A table cell's text, with a pipe or a line break (a team name is the scoreboard's) kept inside it."""
    text = cell.text if isinstance(cell, Cell) else cell
    return " ".join(text.replace("|", "\\|").split())


def archive_game(snapshot: Snapshot, ctx: CommandContext, options: ScoresOptions) -> Reply:
    """Admins only: the caller checks, before the game is even looked up."""
    if not snapshot.series:
        raise CommandError(f"`{snapshot.game}` has no scores yet: nothing to archive.")
    tz = ctx.settings.timezone
    stamp = datetime.fromtimestamp(snapshot.as_of, UTC).strftime("%Y-%m-%dT%H%M%SZ")
    base = f"scores/{snapshot.game}/{stamp}"
    charts = {
        f"{base}/profit.png": chart_reply(snapshot, tz, options).files[0].content,
        f"{base}/rank.png": chart_reply(snapshot, tz, options, ChartSpec(rank=True)).files[0].content,
    }
    files = {
        f"{base}/history.csv": export_reply(snapshot, tz).files[0].content,
        **charts,
        f"{base}/summary.md": summary_markdown(snapshot, tz, options).encode(),
    }
    done = archive_files(ctx, files, f"Scoreboard {snapshot.game} as of {stamp}")
    retried = " (the branch had moved; rebuilt on its new head)" if done.retried else ""
    text = (
        f"Archived `{snapshot.game}` (history, charts, summary) under `{base}/`: "
        f"commit `{done.commit_id}` on `{done.branch}`{retried}."
    )
    return Reply(text=text, blocks=[section(text)])
