"""The chart: a line per team over time, the top-list beside it, and a bump chart of ranks on request.

matplotlib is imported inside `draw`, never at import of the package: the Lambda handler's cold
start and the bot's start do not pay for it. A `Figure` is built directly (no pyplot: no global
figure manager, safe across the bot's worker threads) on the Agg canvas with fixed margins, which
is what makes it faster than `plt.subplots` + `tight_layout` (see bench/render_charts.py). The
legend sits in the figure below the axes, so it never hides a line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING

from commands.scores.ranking import Snapshot, lead_changes, rank_history, ranking_at, team_colour

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX, RANK_HEIGHT_PX, DPI = 1200, 675, 975, 100
GREEN, RED = "#2ca02c", "#d62728"
MAX_MARKERS = 12  # the latest lead changes drawn; more would hide the lines
LABEL_CHARS = 18


@dataclass(frozen=True)
class ChartSpec:
    top: int = 20
    since: float | None = None  # epoch seconds; None: the whole game
    rank: bool = False


def _x(at: float) -> float:
    return at / 86400.0  # matplotlib's date numbers: days since 1970-01-01 (its default epoch)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """A label as drawn: clipped, and with `$` escaped so matplotlib never reads it as mathtext."""
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return clipped.replace("$", r"\$")


TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(snapshot: Snapshot, since: float, most: int = 8) -> list[float]:
    """Round times across the history (every 1, 2, 5 … minutes or hours), at most `most` of them."""
    times = [at for at in snapshot.times if at >= since]
    if not times:
        return []
    first, last = times[0], times[-1]
    step = next((s for s in TICK_STEPS if (last - first) / s <= most), TICK_STEPS[-1])
    start = -(-first // step) * step
    return [_x(start + i * step) for i in range(int((last - start) // step) + 1)]


def draw(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator

    height = RANK_HEIGHT_PX if spec.rank else HEIGHT_PX
    fig = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ranked = ranking_at(snapshot.series, snapshot.as_of)[: spec.top]
    teams = [team for _, team, _ in ranked]
    since = spec.since or 0.0
    # Fixed rectangles (figure fractions) instead of a layout engine: the same picture every time, fast.
    legend_room = 0.05 + 0.035 * ((len(teams) + 4) // 5)
    legend_room *= HEIGHT_PX / height
    bottom = legend_room + 40 / height
    top_edge = 1 - 40 / height
    if spec.rank:
        split = bottom + (top_edge - bottom) * 0.36
        lines_ax = fig.add_axes((0.06, split + 0.04, 0.62, top_edge - split - 0.04))
        rank_ax = fig.add_axes((0.06, bottom, 0.62, split - bottom - 0.02), sharex=lines_ax)
    else:
        lines_ax = fig.add_axes((0.06, bottom, 0.62, top_edge - bottom))
    bars_ax = fig.add_axes((0.82, bottom, 0.16, top_edge - bottom))

    for team in teams:
        points = [(at, v) for at, v in snapshot.series[team] if at >= since]
        lines_ax.plot(
            [_x(at) for at, _ in points], [v for _, v in points], color=team_colour(team), lw=1.3, label=_short(team)
        )
    lines_ax.axhline(0, color="#999999", lw=0.6, zorder=0)
    lines_ax.grid(True, color="#eeeeee", lw=0.6)
    lines_ax.set_title(f"{snapshot.game}: profit by team", loc="left", fontsize=11)
    lines_ax.xaxis.set_major_locator(FixedLocator(time_ticks(snapshot, since)))
    lines_ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=tz))

    for change in [c for c in lead_changes(snapshot.series) if c.at >= since][-MAX_MARKERS:]:
        line = lines_ax.axvline(_x(change.at), color="#555555", ls="--", lw=0.8)
        line.set_gid("lead-change")
        lines_ax.annotate(
            f"{_short(change.leader)} leads",
            (_x(change.at), 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
            color="#555555",
        )
    for mark in [m for m in snapshot.marks if m.at >= since][-MAX_MARKERS:]:
        line = lines_ax.axvline(_x(mark.at), color="#9467bd", ls=":", lw=1.2)
        line.set_gid("mark")
        lines_ax.annotate(
            _short(mark.label, 60),
            (_x(mark.at), 0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="bottom",
            ha="left",
            color="#9467bd",
        )

    values = [value for _, _, value in ranked]
    bars = bars_ax.barh(range(len(teams)), values, color=[GREEN if v >= 0 else RED for v in values], height=0.7)
    for bar, team in zip(bars, teams, strict=True):
        bar.set_gid(team)
    bars_ax.set_yticks(range(len(teams)), [_short(t) for t in teams], fontsize=7)
    bars_ax.set_ylim(len(teams) - 0.5, -0.5)  # the leader at the top
    bars_ax.tick_params(axis="x", labelsize=7)
    bars_ax.set_title("now", loc="left", fontsize=11)
    bars_ax.axvline(0, color="#999999", lw=0.6)

    if spec.rank:
        for team, ranks in rank_history(snapshot.series, teams).items():
            kept = [(at, r) for at, r in ranks if at >= since]
            rank_ax.plot([_x(at) for at, _ in kept], [r for _, r in kept], color=team_colour(team), lw=1.3)
        rank_ax.set_ylim(len(snapshot.series) + 0.5, 0.5)
        rank_ax.set_ylabel("rank", fontsize=8)
        rank_ax.grid(True, color="#eeeeee", lw=0.6)
        lines_ax.tick_params(labelbottom=False)

    if teams:
        fig.legend(
            handles=lines_ax.get_lines()[: len(teams)],
            loc="lower left",
            bbox_to_anchor=(0.06, 0.01),
            ncol=5,
            fontsize=7,
            frameon=False,
        )
    return fig


def png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def render_chart(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> bytes:
    return png(draw(snapshot, tz, spec))
