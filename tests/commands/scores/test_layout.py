"""Ticks and the spreading of end labels: plain numbers in, plain numbers out."""

from __future__ import annotations

import itertools

from commands.scores.layout import rank_ticks, spread, time_ticks


def test_rank_ticks_are_whole_ranks_from_one() -> None:
    assert rank_ticks(6) == [1, 2, 3, 4, 5, 6]
    assert rank_ticks(20) == [1, 5, 10, 15, 20]
    assert rank_ticks(50) == [1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert rank_ticks(500)[:3] == [1, 50, 100] and len(rank_ticks(500)) <= 11


def test_time_ticks_are_round_and_few() -> None:
    ticks = time_ticks([3600.0 * 10 + 17 + 60 * i for i in range(480)], 0.0)
    assert ticks[0] == 3600.0 * 11 and all(b - a == 3600.0 for a, b in itertools.pairwise(ticks))
    assert time_ticks([1.0, 2.0], since=5.0) == []


def test_spread_keeps_labels_apart_inside_the_range_and_near_where_wanted() -> None:
    wanted = [500.0, 505.0, 502.0, 100.0, 10.0, 12.0]
    placed = spread(wanted, gap=17.0, low=0.0, high=1000.0)
    ordered = sorted(placed)
    assert all(b - a >= 17.0 - 1e-9 for a, b in itertools.pairwise(ordered))
    assert all(0.0 <= y <= 1000.0 for y in placed)
    assert placed[3] == 100.0  # a label with room stays where its line ends
    assert sorted(range(6), key=lambda i: placed[i]) == sorted(range(6), key=lambda i: wanted[i])  # order kept
    assert spread([990.0, 995.0], gap=17.0, low=0.0, high=1000.0) == [978.0, 995.0]
