"""The chart read back from matplotlib's artists, the renderer's text boxes and the decoded PNG, not by eye."""

from __future__ import annotations

import itertools
import random
import struct
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text

from commands.scores.chart import (
    DPI,
    GREEN,
    HEIGHT_PX,
    HIGHLIGHT,
    MIN_POINTS,
    RANK_PX,
    RED,
    WIDTH_PX,
    ChartSpec,
    draw,
    png,
)
from commands.scores.palette import MIN_DELTA_E, MUTED, colour_for, delta_e, lab
from commands.scores.ranking import Mark, Snapshot

TZ = ZoneInfo("Europe/Berlin")
SERIES = {
    "Alpha": tuple((60.0 * i, 100.0 - 10 * i) for i in range(10)),
    "Beta": tuple((60.0 * i, 20.0 * i) for i in range(10)),
    "Gamma": tuple((60.0 * i, -5.0 * i) for i in range(10)),
    "Delta $$": tuple((60.0 * i, 1.0 * i) for i in range(10)),
}
COLOURS = {"Alpha": colour_for(1), "Beta": colour_for(0), "Gamma": colour_for(2), "Delta $$": colour_for(3)}
SNAPSHOT = Snapshot("gd", 540.0, SERIES, marks=(Mark(300.0, "load spike"),), colours=COLOURS)


def game(teams: int, samples: int = 480, seed: int = 1) -> Snapshot:
    """A game whose lead changes hands often, long names included, with two marks."""
    rng = random.Random(seed)
    series = {}
    for t in range(teams):
        value, points, rate = 0.0, [], rng.uniform(-1, 8)
        for i in range(samples):
            if i % 80 == 0:
                rate = rng.uniform(-1, 8)
            value += rate + rng.gauss(0, 15)
            points.append((1_700_000_000 + 60.0 * i, round(value, 2)))
        series[f"Team {t:02} " + "W" * (t % 4) * 5] = tuple(points)
    end = 1_700_000_000 + 60.0 * (samples - 1)
    marks = (Mark(1_700_000_000 + 60.0 * 100, "load spike in eu-west-1"), Mark(1_700_000_000 + 60.0 * 104, "AZ gone"))
    return Snapshot("big", end, series, marks, colours={t: colour_for(i) for i, t in enumerate(series)})


def _size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _texts(fig: Figure) -> list[Text]:
    """Every text the renderer draws: the figure's and the axes' texts, titles, axis labels, and the tick
    labels of the ticks inside the view (an axis keeps label objects for ticks it does not draw)."""
    fig.canvas.draw()
    found: list[Text] = list(fig.texts)
    for ax in fig.axes:
        found += [*ax.texts, ax.title, ax._left_title, ax._right_title]  # type: ignore[attr-defined]
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_visible() and ax.axison:
                found += [axis.label, axis.offsetText]
                for tick in axis._update_ticks():  # the ticks drawn
                    found += [tick.label1, tick.label2]
    return [t for t in found if t.get_visible() and t.get_text().strip()]


def _team_lines(fig: Figure) -> dict[str, object]:
    return {line.get_label(): line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")}


def test_one_line_per_team_in_its_stored_colour() -> None:
    teams = _team_lines(draw(SNAPSHOT, TZ, ChartSpec()))
    assert set(teams) == {"Alpha", "Beta", "Gamma", r"Delta \$\$"}
    assert to_hex(teams["Beta"].get_color()) == COLOURS["Beta"]  # type: ignore[attr-defined]
    assert to_hex(teams["Alpha"].get_color()) == COLOURS["Alpha"]  # type: ignore[attr-defined]
    assert list(teams["Alpha"].get_ydata()) == [v for _, v in SERIES["Alpha"]]  # type: ignore[attr-defined]


def test_past_ten_teams_the_rest_are_muted_and_the_drawn_colours_stay_apart() -> None:
    snapshot = game(50)
    fig = draw(snapshot, TZ, ChartSpec(top=50))
    colours = [to_hex(line.get_color()) for line in _team_lines(fig).values()]  # type: ignore[attr-defined]
    vivid = [c for c in colours if c != MUTED]
    assert len(vivid) == HIGHLIGHT and colours.count(MUTED) == 40
    assert min(delta_e(lab(a), lab(b)) for a, b in itertools.combinations(vivid, 2)) >= MIN_DELTA_E


def test_the_top_list_is_in_rank_order_green_or_red_with_values_and_colour_swatches() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    bars_ax = fig.axes[2]
    bars = sorted(bars_ax.patches, key=lambda bar: bar.get_y())  # the y axis is inverted: first is the top
    assert [bar.get_gid() for bar in bars] == ["Beta", "Alpha", "Delta $$", "Gamma"]
    assert [bar.get_width() for bar in bars] == [180.0, 10.0, 9.0, -45.0]
    assert [to_hex(bar.get_facecolor()) for bar in bars] == [GREEN, GREEN, GREEN, RED]
    assert [t.get_text() for t in bars_ax.texts if t.get_gid() == "name"] == ["Beta", "Alpha", r"Delta \$\$", "Gamma"]
    assert [t.get_text() for t in bars_ax.texts if not t.get_gid()] == ["180", "10", "9", "-45"]  # one format
    (swatches,) = bars_ax.collections
    order = ("Beta", "Alpha", "Delta $$", "Gamma")
    assert [to_hex(c) for c in swatches.get_facecolors()] == [COLOURS[t] for t in order]
    assert bars_ax.get_ylim()[0] > bars_ax.get_ylim()[1]


def test_the_leaders_are_labelled_at_their_line_ends_with_their_value() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    ends = [t for t in fig.texts if t.get_gid() == "end-label"]
    labels = {t.get_text(): to_hex(t.get_color()) for t in ends}
    beta = next(t for t in ends if t.get_text().startswith("Beta"))
    beta_end = fig.axes[0].transData.transform((0, 180.0))[1]
    assert abs(beta.get_position()[1] * fig.bbox.height - beta_end) < 10  # beside its line's end
    assert labels == {
        "Beta  180": COLOURS["Beta"],
        "Alpha  10": COLOURS["Alpha"],
        r"Delta \$\$  9": COLOURS["Delta $$"],
        "Gamma  -45": COLOURS["Gamma"],
    }


def test_top_n_keeps_the_leaders_only() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(top=2))
    assert [b.get_gid() for b in sorted(fig.axes[2].patches, key=lambda b: b.get_y())] == ["Beta", "Alpha"]
    assert len(_team_lines(fig)) == 2


def test_lead_changes_and_marks_are_markers_with_labels_above_the_lines() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    lines_ax, strip = fig.axes[0], fig.axes[1]
    assert [line.get_gid() for line in lines_ax.get_lines()].count("event") == 2  # Beta overtakes Alpha; a mark
    assert sorted(t.get_text() for t in strip.texts) == ["Beta leads", "load spike"]
    assert strip.get_window_extent().y0 >= lines_ax.get_window_extent().y1 - 1


def test_the_axes_are_labelled_and_the_time_axis_names_its_time_zone() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec())
    assert fig.axes[0].get_ylabel() == "Profit"
    assert fig.axes[0].get_xlabel() == "Time (CET)"  # 540 s after the epoch: winter in Berlin
    rank_fig = draw(SNAPSHOT, TZ, ChartSpec(rank=True))
    assert rank_fig.axes[3].get_xlabel() == "Time (CET)" and rank_fig.axes[3].get_ylabel() == "Rank"


def _with_losses(snapshot: Snapshot) -> Snapshot:
    """Every third team deep below zero, as after the demo's load spike."""
    series = {
        team: tuple((at, v - 3000.0 * (i % 3 == 2)) for at, v in points)
        for i, (team, points) in enumerate(snapshot.series.items())
    }
    return Snapshot(snapshot.game, snapshot.as_of, series, snapshot.marks, colours=snapshot.colours)


@pytest.mark.parametrize("teams", [6, 20, 50])
@pytest.mark.parametrize("rank", [False, True])
@pytest.mark.parametrize("losses", [False, True])
def test_no_two_texts_overlap_none_leaves_the_picture_and_all_are_readable(
    teams: int, rank: bool, losses: bool
) -> None:
    fig = draw(_with_losses(game(teams)) if losses else game(teams), TZ, ChartSpec(top=50, rank=rank))
    texts = _texts(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    assert len([t for t in fig.axes[1].texts]) >= 3  # lead changes and marks are labelled, not all dropped
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, text
    assert min(t.get_fontsize() for t in texts) >= MIN_POINTS
    frame = fig.axes[2].get_window_extent(renderer)
    values = [t.get_window_extent(renderer) for t in fig.axes[2].texts if not t.get_gid()]
    assert values and all(frame.x1 <= box.x0 for box in values)  # a column right of the bars, whatever the sign


@pytest.mark.parametrize("teams", [6, 20, 50])
def test_the_bump_chart_ticks_whole_ranks_best_at_the_top(teams: int) -> None:
    fig = draw(game(teams), TZ, ChartSpec(top=50, rank=True))
    rank_ax = fig.axes[3]
    ticks = list(rank_ax.get_yticks())
    assert ticks[0] == 1 and all(t == int(t) for t in ticks) and max(ticks) <= teams
    assert [t.get_text() for t in rank_ax.get_yticklabels()] == [str(int(t)) for t in ticks]
    assert rank_ax.get_ylim()[0] > rank_ax.get_ylim()[1]


def test_the_bump_chart_draws_each_teams_rank() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(rank=True))
    beta = next(line for line in fig.axes[3].get_lines() if to_hex(line.get_color()) == COLOURS["Beta"])
    ranks = list(beta.get_ydata())
    assert (ranks[0], ranks[-1]) == (2, 1)


def test_the_png_has_the_chart_size() -> None:
    assert _size(png(draw(SNAPSHOT, TZ, ChartSpec()))) == (WIDTH_PX, HEIGHT_PX)
    assert _size(png(draw(SNAPSHOT, TZ, ChartSpec(rank=True)))) == (WIDTH_PX, HEIGHT_PX + RANK_PX)
    width, height = _size(png(draw(game(50, 30), TZ, ChartSpec(top=50))))
    assert width == WIDTH_PX and height > HEIGHT_PX  # 50 rows in the top-list need room
    assert DPI == 100


def test_since_drops_older_points() -> None:
    fig = draw(SNAPSHOT, TZ, ChartSpec(since=300.0))
    assert len(_team_lines(fig)["Alpha"].get_xdata()) == 5  # type: ignore[attr-defined]


def test_importing_the_lambda_handler_and_the_commands_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.lambda_handler, commands, commands.scores, commands.scores.poller; "
        "print([m for m in sys.modules if m.startswith('matplotlib')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_marks_are_labelled_before_lead_changes_crowd_them_out() -> None:
    snapshot = game(20)
    strip = draw(snapshot, TZ, ChartSpec(top=50)).axes[1]
    assert {"load spike in eu-west-1", "AZ gone"} <= {t.get_text() for t in strip.texts}
