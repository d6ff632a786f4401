"""Render /scores's chart beside a plain matplotlib rendering of the same picture (same data, same size),
over a curve of game sizes: 6, 20 and 50 teams x 480 samples (8 hours at one-minute polls) and 2,880
(24 hours at 30 s). Prints the median time of each, the ratio ours/plain, and the PNG sizes.

    python bench/render_charts.py [--runs 5] [--rank] [--png DIR]

`--rank` adds the bump chart to both; `--png DIR` also writes each of ours there, to look at.
The plain rendering is what one would write first: `plt.subplots` + `tight_layout` + `savefig`, with
the same lines, bars, bump chart and lead-change lines, ranks computed by re-ranking at every poll.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from commands.scores.chart import DPI, ChartSpec, figure_height, render_chart
from commands.scores.palette import colour_for
from commands.scores.ranking import Mark, Snapshot, ranking_at

SIZES = ((6, 480), (20, 480), (50, 480), (6, 2880), (20, 2880), (50, 2880))
START = 1_700_000_000.0
NAMES = ("Lambda Llamas", "Spot Instances", "Cloud Nine", "Null Pointers", "Root Cause", "Byte Me", "Kernel Panic")


def game(teams: int, samples: int) -> Snapshot:
    """A game where the lead changes hands: rates drift, so teams overtake one another."""
    rng = random.Random(teams * 7919 + samples)
    step = 8 * 3600 / samples if samples <= 480 else 24 * 3600 / samples
    series = {}
    for t in range(teams):
        value, points = 0.0, []
        rate = rng.uniform(-1, 8)
        for i in range(samples):
            if i % (samples // 6) == 0:
                rate = rng.uniform(-1, 8)
            value += rate + rng.gauss(0, 15)
            points.append((START + step * i, round(value, 2)))
        name = NAMES[t] if t < len(NAMES) else f"Team {t:02}"
        series[name] = tuple(points)
    end = START + step * (samples - 1)
    marks = (Mark(START + step * samples * 0.3, "load spike"), Mark(START + step * samples * 0.62, "AZ failure"))
    colours = {team: colour_for(i) for i, team in enumerate(series)}
    return Snapshot("bench", end, series, marks, colours=colours)


def plain(snapshot: Snapshot, rank: bool) -> bytes:
    """The same picture drawn the obvious way."""
    height = figure_height(ChartSpec(rank=rank), len(snapshot.series)) / DPI
    if rank:
        fig, ((lines, bars), (ranks, _)) = plt.subplots(2, 2, figsize=(16, height), dpi=DPI, width_ratios=(3, 1))
    else:
        fig, (lines, bars) = plt.subplots(1, 2, figsize=(16, height), dpi=DPI, width_ratios=(3, 1))
    times = snapshot.times
    ranked = ranking_at(snapshot.series, snapshot.as_of)
    for team, points in snapshot.series.items():
        lines.plot([at for at, _ in points], [v for _, v in points], label=team, color=snapshot.colour(team))
    leader = None
    for at in times:  # the lead changes, re-ranking at every poll
        now = ranking_at(snapshot.series, at)[0][1]
        if leader is not None and now != leader:
            lines.axvline(at, ls="--", color="grey")
            lines.annotate(f"{now} leads", (at, 1), xycoords=("data", "axes fraction"), rotation=90, fontsize=10)
        leader = now
    lines.legend(fontsize=10, ncol=2)
    if rank:
        for team in snapshot.series:
            at_ranks = [(at, r) for at in times for r, t, _ in ranking_at(snapshot.series, at) if t == team]
            ranks.plot([at for at, _ in at_ranks], [r for _, r in at_ranks], color=snapshot.colour(team))
    bars.barh(
        [t for _, t, _ in ranked][::-1],
        [v for _, _, v in ranked][::-1],
        color=["green" if v >= 0 else "red" for _, _, v in ranked][::-1],
    )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    plt.close(fig)
    return out.getvalue()


def measure(ours: Callable[[], bytes], theirs: Callable[[], bytes], runs: int) -> tuple[float, float, float, int, int]:
    """Median times of each and the median of the ratios of runs taken in turn: on a shared machine
    a burst of load then falls on both sides of a ratio, not on one."""
    pairs, sizes = [], (0, 0)
    for _ in range(runs):
        started = time.perf_counter()
        ours_size = len(ours())
        middle = time.perf_counter()
        sizes = (ours_size, len(theirs()))
        pairs.append((middle - started, time.perf_counter() - middle))
    ratio = statistics.median(a / b for a, b in pairs)
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs), ratio, *sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rank", action="store_true")
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    tz, spec = ZoneInfo("UTC"), ChartSpec(top=50, rank=args.rank)
    print(f"median of {args.runs} runs taken in turn, 1600 px wide{', with the bump chart' if args.rank else ''}")
    print(f"{'teams':>5} {'samples':>7} {'ours ms':>8} {'plain ms':>8} {'ratio':>6} {'ours KiB':>8} {'plain KiB':>9}")
    for teams, samples in SIZES:
        snapshot = game(teams, samples)
        render_chart(snapshot, tz, spec), plain(snapshot, args.rank)  # warm up: fonts, caches
        ours, theirs, ratio, ours_size, their_size = measure(
            lambda s=snapshot: render_chart(s, tz, spec),  # type: ignore[misc]
            lambda s=snapshot: plain(s, args.rank),  # type: ignore[misc]
            args.runs,
        )
        print(
            f"{teams:5} {samples:7} {ours * 1000:8.0f} {theirs * 1000:8.0f} {ratio:6.2f}"
            f" {ours_size / 1024:8.1f} {their_size / 1024:9.1f}"
        )
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            name = f"bench-{teams}x{samples}{'-rank' if args.rank else ''}.png"
            (args.png / name).write_bytes(render_chart(snapshot, tz, spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
