"""The chart: a line per team over time, the top-list beside it, and a bump chart of ranks on request.

Drawn for a room watching a projector: the leaders (at most `HIGHLIGHT`) in their stored colours and
labelled at their line ends with their value, the rest muted behind them and named by the top-list;
all text at least `MIN_POINTS` pt; lead changes and marks as markers in a strip above the lines,
their labels laid out (`layout.py`) so that no two texts overlap.

matplotlib is imported inside `draw`, never at import of the package: the Lambda handler's cold
start and the bot's start do not pay for it. A `Figure` is built directly (no pyplot: no global
figure manager, safe across the bot's worker threads) on the Agg canvas with fixed margins, which
is what makes it faster than `plt.subplots` + `tight_layout` (see bench/render_charts.py).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from commands.scores.layout import rank_ticks, spread, time_ticks
from commands.scores.palette import MUTED, distinct
from commands.scores.ranking import Snapshot, lead_changes, rank_history, ranking_at

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 100
RANK_PX = 380  # the bump chart's height, added below the lines
ROW_PX = 24  # a top-list row: 10 pt text is 14 px high at 100 dpi
GREEN, RED = "#2ca02c", "#d62728"
MAX_MARKERS = 12  # the latest lead changes (and marks) drawn; more would hide the lines
HIGHLIGHT = 10  # teams drawn in colour and labelled; the rest muted
LABEL_CHARS = 18
MIN_POINTS = 10  # the smallest text, readable from the back of a room
TITLE_POINTS, LANES = 14, 3
# Pixel layout: title, marker strip, plot, axis labels; the end labels between the lines and the top-list.
TOP_PX, STRIP_PX, BOTTOM_PX = 44, 3 * 20 + 8, 64
LEFT, LINES_RIGHT, BARS_LEFT, RIGHT = 0.065, 0.60, 0.875, 0.93  # right of the bars: their values
END_LABEL_PX, NAME_PX = 235, 150  # the widest end label (name and value) and top-list name


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


def _fitted(renderer: RendererAgg, name: str, max_px: float, bold: bool = False, suffix: str = "") -> str:
    """`_short(name)` + suffix, the name clipped further until all is at most `max_px` wide at
    `MIN_POINTS` (names of Ws)."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=MIN_POINTS, weight="bold" if bold else "normal")
    text = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"

    def width(candidate: str) -> float:
        return float(renderer.get_text_width_height_descent(candidate + suffix, prop, ismath=False)[0])

    em_px = MIN_POINTS * DPI / 72
    if len(text + suffix) * em_px * 1.2 > max_px and width(text) > max_px:  # measured only when it may not fit
        text = text.removesuffix("…")
        while len(text) > 1 and width(text + "…") > max_px:
            text = text[:-1]
        text = text.rstrip() + "…"
    return text.replace("$", r"\$") + suffix


def _columns(points: Sequence[tuple[float, float]], since: float) -> tuple[Any, Any]:
    """The points at or after `since` as two arrays, times as matplotlib's date numbers."""
    import numpy as np

    table = np.asarray(points, dtype=float).reshape(-1, 2)
    kept = table[table[:, 0] >= since]
    return kept[:, 0] / 86400.0, kept[:, 1]


def amount_format(values: list[float]) -> str:
    """One format for a column of amounts: two decimals for all when any has cents, else none."""
    return ",.2f" if any(v != int(v) for v in values) else ",.0f"


def figure_height(spec: ChartSpec, teams: int) -> int:
    """Taller when the top-list needs it, so its rows stay `ROW_PX` apart."""
    plot = max(HEIGHT_PX - TOP_PX - STRIP_PX - BOTTOM_PX, teams * ROW_PX)
    return TOP_PX + STRIP_PX + plot + BOTTOM_PX + (RANK_PX if spec.rank else 0)


def draw(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, StrMethodFormatter

    ranked = ranking_at(snapshot.series, snapshot.as_of)[: spec.top]
    teams = [team for _, team, _ in ranked]
    colours = dict(zip(teams, distinct([snapshot.colour(t) for t in teams[:HIGHLIGHT]]), strict=False))
    height = figure_height(spec, len(teams))
    fig = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    since = spec.since or 0.0

    def frac(px: float) -> float:
        return px / height

    plot_top = 1 - frac(TOP_PX + STRIP_PX)
    bottom = frac(BOTTOM_PX)
    lines_bottom = bottom + frac(RANK_PX) if spec.rank else bottom
    lines_ax = fig.add_axes((LEFT, lines_bottom, LINES_RIGHT - LEFT, plot_top - lines_bottom))
    strip_ax = fig.add_axes((LEFT, plot_top, LINES_RIGHT - LEFT, frac(STRIP_PX)), sharex=lines_ax)
    strip_ax.set_axis_off()
    bars_ax = fig.add_axes((BARS_LEFT, bottom, RIGHT - BARS_LEFT, plot_top - bottom))
    when = datetime.fromtimestamp(snapshot.as_of, tz)
    fig.text(LEFT, 1 - frac(12), f"{_short(snapshot.game, 40)}: profit by team", fontsize=TITLE_POINTS, va="top")

    for team in reversed(teams):  # the leader drawn last, on top
        at, value = _columns(snapshot.series[team], since)
        lines_ax.plot(at, value, label=_short(team), **_line_style(team, colours))
    lines_ax.axhline(0, color="#999999", lw=0.6, zorder=0)
    lines_ax.grid(True, color="#eeeeee", lw=0.6)
    ticks = time_ticks(snapshot.times, since)
    lines_ax.xaxis.set_major_locator(FixedLocator([_x(t) for t in ticks]))
    lines_ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=tz))
    lines_ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # as the labels and the top-list write them
    lines_ax.set_ylabel("Profit", fontsize=MIN_POINTS + 1)
    lines_ax.tick_params(labelsize=MIN_POINTS)
    time_label = f"Time ({when.tzname()})"
    _end_labels(lines_ax, snapshot, teams, colours, since)

    if spec.rank:
        rank_ax = fig.add_axes((LEFT, bottom, LINES_RIGHT - LEFT, frac(RANK_PX - 24)), sharex=lines_ax)
        for team, ranks in reversed(rank_history(snapshot.series, teams).items()):
            at, rank = _columns(ranks, since)
            rank_ax.plot(at, rank, **_line_style(team, colours))
        ranked_teams = len(snapshot.series)
        rank_ax.set_ylim(ranked_teams + 0.5, 0.5)
        rank_ax.yaxis.set_major_locator(FixedLocator(rank_ticks(ranked_teams)))
        rank_ax.set_ylabel("Rank", fontsize=MIN_POINTS + 1)
        rank_ax.tick_params(labelsize=MIN_POINTS)
        rank_ax.grid(True, color="#eeeeee", lw=0.6)
        rank_ax.set_xlabel(time_label, fontsize=MIN_POINTS + 1)
        lines_ax.tick_params(labelbottom=False)
    else:
        lines_ax.set_xlabel(time_label, fontsize=MIN_POINTS + 1)

    _markers(fig, strip_ax, [*fig.axes[3:4], lines_ax], snapshot, since)
    _top_list(bars_ax, ranked, colours)
    return fig


def _end_labels(ax: Axes, snapshot: Snapshot, drawn: list[str], colours: dict[str, str], since: float) -> None:
    """Each highlighted team's name and value beside its line's end, spread apart so none overlap,
    with a thin line from the end to its label."""
    from matplotlib.lines import Line2D

    values = [v for team in drawn for at, v in snapshot.series[team] if at >= since]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    pad = (high - low) * 0.04 or 1.0
    ax.set_ylim(low - pad, high + pad)  # fixed now, so the ends' pixel heights are final
    shown = [(t, snapshot.series[t][-1][1]) for t in drawn if t in colours and snapshot.series[t][-1][0] >= since]
    if not shown:
        return
    fig = ax.get_figure()
    assert fig is not None
    box, height = ax.get_window_extent(), fig.bbox.height
    wanted = [ax.transData.transform((0, v))[1] for _, v in shown]
    placed = spread(wanted, gap=17.0, low=box.y0 + 7, high=box.y1 - 7)
    fmt = amount_format([v for _, v in shown])
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for (team, value), end, y in zip(shown, wanted, placed, strict=True):
        label = _fitted(renderer, team, END_LABEL_PX, bold=True, suffix=f"  {value:{fmt}}")
        fig.text(
            LINES_RIGHT + 0.012,
            y / height,
            label,
            fontsize=MIN_POINTS,
            color=colours[team],
            fontweight="bold",
            va="center",
            gid="end-label",
        )
        fig.add_artist(
            Line2D((LINES_RIGHT, LINES_RIGHT + 0.01), (end / height, y / height), color=colours[team], lw=0.8)
        )


def _markers(fig: Figure, strip: Axes, below: list[Axes], snapshot: Snapshot, since: float) -> None:
    """Lead changes (▼ grey) and marks (◆ purple) in the strip above the lines, each label in the first
    of `LANES` lanes where it overlaps nothing; marks (a person's words) are placed first, then the
    latest lead changes. A label that fits nowhere
    is left out, its marker kept; a labelled one gets a dotted line down through the plots `below`
    (lines for all would turn a neck-and-neck stretch into a black band)."""
    events = [
        (c.at, f"{_short(c.leader)} leads", "#555555", "v") for c in lead_changes(snapshot.series) if c.at >= since
    ]
    events = events[-MAX_MARKERS:]
    events += [(m.at, _short(m.label, 40), "#7b3fb0", "D") for m in snapshot.marks if m.at >= since][-MAX_MARKERS:]
    if not events:
        return
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    strip.set_ylim(0, LANES + 0.4)
    frame = strip.get_window_extent()
    for shape in ("v", "D"):
        kind = [(at, colour) for at, _, colour, marker in events if marker == shape]
        strip.scatter([_x(at) for at, _ in kind], [0.2] * len(kind), c=[c for _, c in kind], marker=shape, s=30)
    taken: list[Bbox] = []
    for at, label, colour, _ in sorted(events, key=lambda e: (e[3] != "D", -e[0])):  # marks, then the latest
        for lane in range(LANES):
            text = strip.text(_x(at), lane + 0.8, label, fontsize=MIN_POINTS, color=colour, va="center", ha="left")
            extent = text.get_window_extent(renderer)
            if extent.x1 > frame.x1:
                text.set_horizontalalignment("right")
                extent = text.get_window_extent(renderer)
            if extent.x0 >= frame.x0 and not any(extent.overlaps(other) for other in taken):
                taken.append(extent)
                for ax in below:
                    ax.axvline(_x(at), color=colour, ls=":", lw=1.0, zorder=1).set_gid("event")
                break
            text.remove()


def _top_list(ax: Axes, ranked: list[tuple[int, str, float]], colours: dict[str, str]) -> None:
    """The standings now: a bar per team, green or red by sign, its value on it, its colour beside its name."""
    from matplotlib.transforms import blended_transform_factory

    values = [value for _, _, value in ranked]
    teams = [team for _, team, _ in ranked]
    bars = ax.barh(range(len(teams)), values, color=[GREEN if v >= 0 else RED for v in values], height=0.7)
    for bar, team in zip(bars, teams, strict=True):
        bar.set_gid(team)
    fmt = amount_format(values)
    renderer = ax.get_figure().canvas.get_renderer()  # type: ignore[union-attr]
    swatch_at = blended_transform_factory(ax.transAxes, ax.transData)
    px = 1 / ((RIGHT - BARS_LEFT) * WIDTH_PX)  # a pixel, in the axes' width
    # A column of values right of the bars, not at each bar's end: a negative bar's value would run
    # into the names, and a long bar's out of the frame.
    for row, value in enumerate(values):
        ax.text(1 + 6 * px, row, f"{value:{fmt}}", transform=swatch_at, fontsize=MIN_POINTS, ha="left", va="center")
    for row, team in enumerate(teams):  # texts, not tick labels: a Tick is five artists, and costs as much
        name = _fitted(renderer, team, NAME_PX)
        ax.text(-24 * px, row, name, transform=swatch_at, fontsize=MIN_POINTS, ha="right", va="center", gid="name")
    ax.scatter(
        [-12 * px] * len(teams),
        range(len(teams)),
        c=[colours.get(t, MUTED) for t in teams],
        marker="s",
        s=90,
        transform=swatch_at,
        clip_on=False,
    )
    low, high = min([*values, 0.0]), max([*values, 0.0])
    span = (high - low) or 1.0
    ax.set_xlim(low - 0.02 * span, high + 0.02 * span)
    ax.set_ylim(max(len(teams), 8) - 0.5, -0.5)  # the leader at the top; a few teams keep their rows' height
    ax.set_title("Now", loc="left", fontsize=MIN_POINTS + 2)
    ax.axvline(0, color="#999999", lw=0.6)
    ax.xaxis.set_visible(False)  # the values are beside the bars
    ax.yaxis.set_visible(False)


def png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # zlib level 3, not PIL's 6: a quarter less time for the same size on a chart's flat colours (bench)
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return out.getvalue()


def _line_style(team: str, colours: dict[str, str]) -> dict[str, Any]:
    """A highlighted team's line in its colour, thick and on top; the others thin and muted."""
    highlighted = team in colours
    return {"color": colours.get(team, MUTED), "lw": 2.2 if highlighted else 1.0, "zorder": 3 if highlighted else 2}


def render_chart(snapshot: Snapshot, tz: tzinfo, spec: ChartSpec) -> bytes:
    return png(draw(snapshot, tz, spec))
