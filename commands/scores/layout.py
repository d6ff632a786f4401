"""Where the chart puts things: time and rank ticks, end labels spread apart. Pure arithmetic, no matplotlib."""

from __future__ import annotations

from collections.abc import Sequence

TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(times: Sequence[float], since: float, most: int = 8) -> list[float]:
    """Round times across the history (every 1, 2, 5 … minutes or hours), at most `most` of them."""
    kept = [at for at in times if at >= since]
    if not kept:
        return []
    first, last = kept[0], kept[-1]
    step = next((s for s in TICK_STEPS if (last - first) / s <= most), TICK_STEPS[-1])
    start = -(-first // step) * step
    return [start + i * step for i in range(int((last - start) // step) + 1)]


def rank_ticks(teams: int, most: int = 10) -> list[int]:
    """Whole ranks only: 1 and every 1, 5, 10, 20 … places (no 2 beside 1), at most about `most` ticks."""
    step = next(s for s in (1, 5, 10, 20, 50, 100, 200, 500, 1000) if teams / s <= most)
    return [1] + [rank for rank in range(step, teams + 1, step) if rank != 1]


def spread(wanted: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Positions as near `wanted` as can be with neighbours at least `gap` apart, within [low, high]
    (as long as they fit); in the order given. Up is larger, as in figure pixels."""
    order = sorted(range(len(wanted)), key=lambda i: -wanted[i])
    placed = [0.0] * len(wanted)
    ceiling = high
    for i in order:  # top down: each at most gap below the one above
        placed[i] = min(wanted[i], ceiling)
        ceiling = placed[i] - gap
    floor = low
    for i in reversed(order):  # bottom up: pushed back inside, each at least gap above the one below
        placed[i] = max(placed[i], floor)
        floor = placed[i] + gap
    return placed
