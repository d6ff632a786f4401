"""The board from a stored history: ranks, deltas, lead changes, the freeze rule. Pure.

Everything a table or a chart shows is computed from one `Snapshot` (the history up to `as_of`), so
the table and the chart of a reply can never disagree.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


def standings(snapshot: Snapshot, period: float) -> list[Standing]:
    now = ranking_at(snapshot.series, snapshot.as_of)
    then_at = snapshot.as_of - period
    before = {team: (rank, value) for rank, team, value in ranking_at(snapshot.series, then_at)}
    rows = []
    for rank, team, value in now:
        old = before.get(team)
        rows.append(
            Standing(rank, team, value, None if old is None else value - old[1], None if old is None else old[0] - rank)
        )
    return rows


def _updates(series: Mapping[str, Points]) -> list[tuple[float, list[tuple[str, float]]]]:
    """Every poll time, oldest first, with the (team, value) samples taken at it, a team's in their stored
    order (so its last at a time counts, as in `value_at`): one pass over the samples, one sort of the times."""
    by_time: dict[float, list[tuple[str, float]]] = {}
    for team, points in series.items():
        for at, value in points:
            found = by_time.get(at)
            if found is None:
                by_time[at] = [(team, value)]
            else:
                found.append((team, value))
    return sorted(by_time.items())


def leaders(series: Mapping[str, Points]) -> list[tuple[float, str]]:
    """The leader after each poll. On a tie for first the leader so far keeps the lead.

    One pass over the samples with a heap of (value, name), an entry pushed when a team's value
    changes and dropped when it surfaces stale, instead of ranking every team at every poll time:
    the same answer as `ranking_at` gives."""
    out: list[tuple[float, str]] = []
    current: dict[str, float] = {}
    names = {team: team.casefold() for team in series}
    heap: list[tuple[float, str, str]] = []
    leader = ""
    for at, samples in _updates(series):
        changed = []
        for team, value in samples:
            if current.get(team) != value:
                current[team] = value
                changed.append(team)
        for team in changed:  # an entry whose value is current is never popped: no need to push it again
            heapq.heappush(heap, (-current[team], names[team], team))
        while current[heap[0][2]] != -heap[0][0]:
            heapq.heappop(heap)
        if not leader or current[leader] != -heap[0][0]:
            leader = heap[0][2]
        out.append((at, leader))
    return out


def lead_changes(series: Mapping[str, Points]) -> list[LeadChange]:
    changes = []
    history = leaders(series)
    for (_, before), (at, after) in itertools.pairwise(history):
        if after != before:
            changes.append(LeadChange(at, after, before))
    return changes


def rank_history(series: Mapping[str, Points], teams: Sequence[str]) -> dict[str, list[tuple[float, int]]]:
    """Each team's rank after every poll, for a bump chart: one pass, the values kept sorted, a rank
    being one more than the number of values above it (shared ranks as in `ranking_at`)."""
    out: dict[str, list[tuple[float, int]]] = {team: [] for team in teams}
    current: dict[str, float] = {}
    ordered: list[float] = []
    for at, samples in _updates(series):
        for team, value in samples:
            if team in current:
                del ordered[bisect.bisect_left(ordered, current[team])]
            current[team] = value
            bisect.insort(ordered, value)
        for team, ranks in out.items():
            if team in current:
                ranks.append((at, len(ordered) - bisect.bisect_right(ordered, current[team]) + 1))
    return out
