"""Render 20 teams x 480 samples (an 8-hour game at one-minute resolution) with /scores's chart and with
a straightforward matplotlib rendering of the same data at the same size; print median time and PNG size.

    python bench/render_charts.py [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from commands.scores.chart import DPI, HEIGHT_PX, WIDTH_PX, ChartSpec, render_chart
from commands.scores.ranking import Snapshot, ranking_at, team_colour

TEAMS, SAMPLES = 20, 480


def game() -> Snapshot:
    rng = random.Random(1)
    series = {}
    for t in range(TEAMS):
        value, points = 0.0, []
        rate = rng.uniform(-2, 10)
        for i in range(SAMPLES):
            value += rate + rng.gauss(0, 15)
            points.append((1_700_000_000 + 60.0 * i, round(value, 2)))
        series[f"Team {t:02}"] = tuple(points)
    return Snapshot("bench", 1_700_000_000 + 60.0 * (SAMPLES - 1), series)


def straightforward(snapshot: Snapshot) -> bytes:
    fig, (lines, bars) = plt.subplots(1, 2, figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, width_ratios=(3, 1))
    for team, points in snapshot.series.items():
        lines.plot([at for at, _ in points], [v for _, v in points], label=team, color=team_colour(team))
    lines.legend(fontsize=7, ncol=2)
    ranked = ranking_at(snapshot.series, snapshot.as_of)
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


def measure(render: object, runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(render())  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    snapshot, tz = game(), ZoneInfo("UTC")
    render_chart(snapshot, tz, ChartSpec()), straightforward(snapshot)  # warm up: fonts, caches
    ours = measure(lambda: render_chart(snapshot, tz, ChartSpec()), runs)
    plain = measure(lambda: straightforward(snapshot), runs)
    print(f"{TEAMS} teams x {SAMPLES} samples, {WIDTH_PX}x{HEIGHT_PX} px, median of {runs} runs")
    print(f"  /scores chart            {ours[0] * 1000:7.0f} ms  {ours[1] / 1024:7.1f} KiB")
    print(f"  plt.subplots+tight_layout {plain[0] * 1000:6.0f} ms  {plain[1] / 1024:7.1f} KiB")
    ok = ours[0] < plain[0] and ours[1] <= plain[1]
    print("  ours is faster and no larger" if ok else "  ours is NOT faster and no larger")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
