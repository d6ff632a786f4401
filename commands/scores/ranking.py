"""The board from a stored history: ranks, deltas, lead changes, the freeze rule. Pure.

Everything a table or a chart shows is computed from one `Snapshot` (the history up to `as_of`), so
the table and the chart of a reply can never disagree.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.scores.palette import colour_for

Points = tuple[tuple[float, float], ...]  # (at, value), oldest first


@dataclass(frozen=True)
class Mark:
    at: float
    label: str


@dataclass(frozen=True)
class Snapshot:
    game: str
    as_of: float  # the board as at this moment (the last poll, or the freeze)
    series: Mapping[str, Points]  # team -> its samples at or before as_of
    marks: tuple[Mark, ...] = ()
    frozen: bool = False
    colours: Mapping[str, str] = field(default_factory=dict)  # as stored with the game

    def colour(self, team: str) -> str:
        """The team's stored colour; for a history kept before colours were, one by its place in the series."""
        stored = self.colours.get(team)
        return stored if stored else colour_for(list(self.series).index(team) if team in self.series else 0)

    @property
    def times(self) -> list[float]:
        """Every poll time in the history, oldest first."""
        return sorted({at for points in self.series.values() for at, _ in points})


@dataclass(frozen=True)
class Standing:
    rank: int
    team: str
    value: float
    change: float | None  # since one period ago; None: no score then
    movement: int | None  # places gained (+) or lost (-) since one period ago; None: not ranked then


@dataclass(frozen=True)
class LeadChange:
    at: float
    leader: str
    previous: str


def cut(series: Mapping[str, Sequence[tuple[float, float]]], as_of: float) -> dict[str, Points]:
    """The history as it stood at `as_of`: later samples dropped, teams without any left out."""
    kept = {}
    for team, points in series.items():
        end = bisect.bisect_right([at for at, _ in points], as_of)
        if end:
            kept[team] = tuple(points[:end])
    return kept


def board_time(now: float, freeze_at: float | None, is_admin: bool) -> tuple[float, bool]:
    """When the board a user sees stands, and whether it is frozen: after the freeze, everyone but
    admins sees it as it was at the freeze, as contests do."""
    if freeze_at is not None and now >= freeze_at and not is_admin:
        return freeze_at, True
    return now, False


def value_at(points: Points, at: float) -> float | None:
    i = bisect.bisect_right(points, (at, float("inf")))
    return points[i - 1][1] if i else None


def ranking_at(series: Mapping[str, Points], at: float) -> list[tuple[int, str, float]]:
    """(rank, team, value), best first; equal values share a rank (1, 2, 2, 4), ties listed by name."""
    values = [(team, v) for team, points in series.items() if (v := value_at(points, at)) is not None]
    values.sort(key=lambda tv: (-tv[1], tv[0].casefold(), tv[0]))
    ranked: list[tuple[int, str, float]] = []
    for i, (team, value) in enumerate(values):
        rank = ranked[-1][0] if ranked and ranked[-1][2] == value else i + 1
        ranked.append((rank, team, value))
    return ranked


def baseline(snapshot: Snapshot, period: float) -> float | None:
    """When change and move are measured from: a period back once the history reaches that far; until
    then the previous poll (a period back there is nothing, and every team would read "new"); None
    at the first poll."""
    times = snapshot.times
    then_at = snapshot.as_of - period
    if times and times[0] <= then_at:
        return then_at
    earlier = bisect.bisect_left(times, snapshot.as_of)
    return times[earlier - 1] if earlier else None


def standings(snapshot: Snapshot, period: float) -> list[Standing]:
    now = ranking_at(snapshot.series, snapshot.as_of)
    then_at = baseline(snapshot, period)
    then = [] if then_at is None else ranking_at(snapshot.series, then_at)
    before = {team: (rank, value) for rank, team, value in then}
    rows = []
    for rank, team, value in now:
        old = before.get(team)
        rows.append(
            Standing(rank, team, value, None if old is None else value - old[1], None if old is None else old[0] - rank)
        )
    return rows


def _grid(series: Mapping[str, Points]) -> tuple[list[float], list[str], Any]:
    """The history as a matrix: a row per poll time (oldest first), a column per team (in the ranking's
    tie order), each cell the team's value as it stood then (its last sample at or before), NaN before
    its first. numpy, imported here: the chart needs it and has it (matplotlib's), the poller does not."""
    import numpy as np

    teams = sorted(series, key=lambda team: (team.casefold(), team))
    columns = [np.asarray(series[team], dtype=float).reshape(-1, 2) for team in teams]
    times = np.unique(np.concatenate([c[:, 0] for c in columns])) if columns else np.empty(0)
    grid = np.full((len(times), len(teams)), -1, dtype=np.int64)  # the row of the sample that stands
    values = np.full((len(times), len(teams)), np.nan)
    for j, column in enumerate(columns):
        last = np.append(column[1:, 0] != column[:-1, 0], True)  # of samples at one time, the last counts
        rows = np.searchsorted(times, column[last, 0])
        grid[rows, j] = rows
        values[rows, j] = column[last, 1]
    np.maximum.accumulate(grid, axis=0, out=grid)  # carry each value forward to the next sample
    standing = np.where(grid >= 0, values[np.maximum(grid, 0), np.arange(len(teams))], np.nan)
    return times.tolist(), teams, standing


def leaders(series: Mapping[str, Points]) -> list[tuple[float, str]]:
    """The leader after each poll. On a tie for first the leader so far keeps the lead.

    The first place at every poll from one matrix (`_grid`) instead of ranking every team at every
    poll time: the same answer as `ranking_at` gives, a few times faster."""
    import numpy as np

    times, teams, standing = _grid(series)
    if not times:
        return []
    top = standing == np.nanmax(standing, axis=1)[:, None]  # NaN is never equal: teams not yet on the board
    first = top.argmax(axis=1).tolist()  # columns are in tie order: the first of the tied
    out: list[tuple[float, str]] = []
    leader = -1
    for row, at in enumerate(times):
        if leader < 0 or not top[row, leader]:
            leader = first[row]
        out.append((at, teams[leader]))
    return out


def lead_changes(series: Mapping[str, Points]) -> list[LeadChange]:
    changes = []
    history = leaders(series)
    for (_, before), (at, after) in itertools.pairwise(history):
        if after != before:
            changes.append(LeadChange(at, after, before))
    return changes


def rank_history(series: Mapping[str, Points], teams: Sequence[str]) -> dict[str, list[tuple[float, int]]]:
    """Each team's rank after every poll, for a bump chart: every rank at once from one matrix (`_grid`),
    shared ranks as in `ranking_at` (a rank is the first place of the run of equal values it is in)."""
    import numpy as np

    out: dict[str, list[tuple[float, int]]] = {team: [] for team in teams}
    times, columns, standing = _grid(series)
    if not times:
        return out
    order = np.argsort(-standing, axis=1, kind="stable")  # best first, NaN (not on the board) last
    ordered = np.take_along_axis(standing, order, axis=1)
    new_run = np.ones(ordered.shape, dtype=bool)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    starts = np.where(new_run, np.arange(len(columns)), 0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.maximum.accumulate(starts, axis=1) + 1, axis=1)
    at = np.asarray(times)
    index = {team: j for j, team in enumerate(columns)}
    for team in out:
        if team in index:
            on_board = ~np.isnan(standing[:, index[team]])
            out[team] = list(zip(at[on_board].tolist(), ranks[on_board, index[team]].tolist(), strict=True))
    return out
