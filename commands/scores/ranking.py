"""The board from a stored history: ranks, deltas, lead changes, the freeze rule, team colours. Pure.

Everything a table or a chart shows is computed from one `Snapshot` (the history up to `as_of`), so
the table and the chart of a reply can never disagree.
"""

from __future__ import annotations

import bisect
import colorsys
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


def leaders(series: Mapping[str, Points]) -> list[tuple[float, str]]:
    """The leader after each poll. On a tie for first the leader so far keeps the lead."""
    out: list[tuple[float, str]] = []
    times = sorted({at for points in series.values() for at, _ in points})
    for at in times:
        ranked = ranking_at(series, at)
        top = [team for rank, team, _ in ranked if rank == 1]
        if not top:
            continue
        current = out[-1][1] if out else None
        out.append((at, current if current in top else top[0]))
    return out


def lead_changes(series: Mapping[str, Points]) -> list[LeadChange]:
    changes = []
    history = leaders(series)
    for (_, before), (at, after) in itertools.pairwise(history):
        if after != before:
            changes.append(LeadChange(at, after, before))
    return changes


def rank_history(series: Mapping[str, Points], teams: Sequence[str]) -> dict[str, list[tuple[float, int]]]:
    """Each team's rank after every poll, for a bump chart."""
    out: dict[str, list[tuple[float, int]]] = {team: [] for team in teams}
    for at in sorted({at for points in series.values() for at, _ in points}):
        for rank, team, _ in ranking_at(series, at):
            if team in out:
                out[team].append((at, rank))
    return out


def team_colour(team: str) -> str:
    """A colour that depends on the name alone, so a team keeps it whatever the order or the other teams."""
    digest = hashlib.sha256(team.encode()).digest()
    hue = int.from_bytes(digest[:4], "big") / 2**32
    lightness = (0.36, 0.46, 0.56)[digest[4] % 3]
    saturation = (0.65, 0.85)[digest[5] % 2]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
