"""The chart read back from matplotlib's artists and the decoded PNG, not by eye."""

from __future__ import annotations

import struct
import subprocess
import sys
from zoneinfo import ZoneInfo

from matplotlib.colors import to_hex

from commands.scores.chart import DPI, GREEN, HEIGHT_PX, RANK_HEIGHT_PX, RED, WIDTH_PX, ChartSpec, draw, png
from commands.scores.ranking import Mark, Snapshot, team_colour

TZ = ZoneInfo("Europe/Berlin")
SERIES = {
    "Alpha": tuple((60.0 * i, 100.0 - 10 * i) for i in range(10)),
    "Beta": tuple((60.0 * i, 20.0 * i) for i in range(10)),
    "Gamma": tuple((60.0 * i, -5.0 * i) for i in range(10)),
    "Delta $$": tuple((60.0 * i, 1.0 * i) for i in range(10)),
}
SNAPSHOT = Snapshot("gd", 540.0, SERIES, marks=(Mark(300.0, "load spike"),))


def _size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_one_line_per_team_in_its_own_colour() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    lines_ax = fig.axes[0]
    teams = {line.get_label(): line for line in lines_ax.get_lines() if not line.get_label().startswith("_")}
    assert set(teams) == {"Alpha", "Beta", "Gamma", r"Delta \$\$"}
    assert to_hex(teams["Beta"].get_color()) == team_colour("Beta")
    assert list(teams["Alpha"].get_ydata()) == [v for _, v in SERIES["Alpha"]]


def test_the_top_list_is_in_rank_order_green_or_red_by_sign() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    bars_ax = fig.axes[1]
    bars = sorted(bars_ax.patches, key=lambda bar: bar.get_y())  # the y axis is inverted: first is the top
    assert [bar.get_gid() for bar in bars] == ["Beta", "Alpha", "Delta $$", "Gamma"]
    assert [bar.get_width() for bar in bars] == [180.0, 10.0, 9.0, -45.0]
    assert [to_hex(bar.get_facecolor()) for bar in bars] == [GREEN, GREEN, GREEN, RED]
    assert bars_ax.get_ylim()[0] > bars_ax.get_ylim()[1]


def test_top_n_keeps_the_leaders_only() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(top=2))
    assert [b.get_gid() for b in sorted(fig.axes[1].patches, key=lambda b: b.get_y())] == ["Beta", "Alpha"]
    assert len([ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]) == 2


def test_lead_changes_and_marks_are_on_the_time_axis() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    gids = [line.get_gid() for line in fig.axes[0].get_lines()]
    assert gids.count("mark") == 1 and gids.count("lead-change") == 1  # Beta overtakes Alpha at 5 min
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "load spike" in texts and "Beta leads" in texts


def test_the_legend_sits_outside_every_axes() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(rank=True))
    fig.canvas.draw()
    (legend,) = fig.legends
    box = legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent())


def test_the_png_has_the_chart_size() -> None:
    assert _size(png(draw(SNAPSHOT, TZ, ChartSpec()))) == (WIDTH_PX, HEIGHT_PX)
    assert _size(png(draw(SNAPSHOT, TZ, ChartSpec(rank=True)))) == (WIDTH_PX, RANK_HEIGHT_PX)
    assert DPI == 100


def test_the_bump_chart_draws_ranks_best_at_the_top() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(rank=True))
    rank_ax = fig.axes[1]
    beta = next(line for line in rank_ax.get_lines() if to_hex(line.get_color()) == team_colour("Beta"))
    ranks = list(beta.get_ydata())
    assert (ranks[0], ranks[-1]) == (2, 1)
    assert rank_ax.get_ylim()[0] > rank_ax.get_ylim()[1]


def test_since_drops_older_points() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(since=300.0))
    alpha = next(line for line in fig.axes[0].get_lines() if line.get_label() == "Alpha")
    assert len(alpha.get_xdata()) == 5


def test_importing_the_lambda_handler_and_the_commands_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.lambda_handler, commands, commands.scores, commands.scores.poller; "
        "print([m for m in sys.modules if m.startswith('matplotlib')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
