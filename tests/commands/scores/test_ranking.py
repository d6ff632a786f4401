"""Ranks, deltas, moves, lead changes and the freeze rule, from plain histories."""

from __future__ import annotations

import random

import pytest

from commands.scores.ranking import (
    LeadChange,
    Snapshot,
    baseline,
    board_time,
    cut,
    lead_changes,
    leaders,
    rank_history,
    ranking_at,
    standings,
)

HISTORY = {
    "A": ((0.0, 10.0), (60.0, 20.0), (120.0, 25.0)),
    "B": ((0.0, 5.0), (60.0, 30.0), (120.0, 40.0)),
    "C": ((60.0, -5.0), (120.0, 25.0)),
}


def test_ranking_is_by_value_with_shared_ranks_and_ties_by_name() -> None:
    assert ranking_at(HISTORY, 120.0) == [(1, "B", 40.0), (2, "A", 25.0), (2, "C", 25.0)]
    assert ranking_at(HISTORY, 0.0) == [(1, "A", 10.0), (2, "B", 5.0)]
    assert ranking_at(HISTORY, -1.0) == []


def test_standings_give_the_change_and_move_over_the_period() -> None:
    rows = standings(Snapshot("g", 120.0, HISTORY), period=120.0)
    assert [(r.rank, r.team, r.value, r.change, r.movement) for r in rows] == [
        (1, "B", 40.0, 35.0, 1),
        (2, "A", 25.0, 15.0, -1),
        (2, "C", 25.0, None, None),  # not on the board a period ago: new
    ]
    assert standings(Snapshot("g", 120.0, HISTORY), period=60.0)[2].change == 30.0


def test_moves_are_since_the_previous_poll_until_the_history_spans_the_period() -> None:
    assert baseline(Snapshot("g", 120.0, HISTORY), period=900.0) == 60.0
    rows = standings(Snapshot("g", 120.0, HISTORY), period=900.0)
    assert [(r.team, r.change, r.movement) for r in rows] == [("B", 10.0, 0), ("A", 5.0, 0), ("C", 30.0, 1)]
    assert baseline(Snapshot("g", 0.0, cut(HISTORY, 0.0)), period=900.0) is None  # the first poll
    assert [r.movement for r in standings(Snapshot("g", 0.0, cut(HISTORY, 0.0)), period=900.0)] == [None, None]
    assert baseline(Snapshot("g", 120.0, HISTORY), period=100.0) == 20.0  # the history reaches back: a period


def test_lead_changes_name_who_took_the_lead_from_whom() -> None:
    assert lead_changes(HISTORY) == [LeadChange(60.0, "B", "A")]


def test_a_tie_for_first_does_not_flap_the_lead() -> None:
    tied = {"A": ((0.0, 10.0), (60.0, 20.0), (120.0, 30.0)), "B": ((0.0, 5.0), (60.0, 20.0), (120.0, 31.0))}
    assert lead_changes(tied) == [LeadChange(120.0, "B", "A")]
    zed_first = {"Z": ((0.0, 10.0), (60.0, 20.0)), "A": ((0.0, 5.0), (60.0, 20.0))}
    assert lead_changes(zed_first) == []  # A ties Z at 60 s, and sorts first by name, but Z keeps the lead


def test_cut_drops_what_came_after() -> None:
    assert cut(HISTORY, 60.0) == {"A": HISTORY["A"][:2], "B": HISTORY["B"][:2], "C": HISTORY["C"][:1]}
    assert cut(HISTORY, -1.0) == {}


def test_after_the_freeze_only_admins_see_the_board_move() -> None:
    assert board_time(now=100.0, freeze_at=50.0, is_admin=False) == (50.0, True)
    assert board_time(now=100.0, freeze_at=50.0, is_admin=True) == (100.0, False)
    assert board_time(now=40.0, freeze_at=50.0, is_admin=False) == (40.0, False)
    assert board_time(now=50.0, freeze_at=50.0, is_admin=False) == (50.0, True)
    assert board_time(now=100.0, freeze_at=None, is_admin=False) == (100.0, False)


def test_rank_history_follows_each_team() -> None:
    assert rank_history(HISTORY, ["A", "C"]) == {"A": [(0.0, 1), (60.0, 2), (120.0, 2)], "C": [(60.0, 3), (120.0, 2)]}


def test_tied_teams_are_listed_by_name_ignoring_case_whatever_order_they_were_stored_in() -> None:
    tied = {"Zed": ((0.0, 7.0),), "Beta": ((0.0, 7.0),), "alpha": ((0.0, 7.0),), "Top": ((0.0, 9.0),)}
    assert ranking_at(tied, 0.0) == [(1, "Top", 9.0), (2, "alpha", 7.0), (2, "Beta", 7.0), (2, "Zed", 7.0)]


def _leaders_by_reranking(series: dict[str, tuple[tuple[float, float], ...]]) -> list[tuple[float, str]]:
    """The former `leaders`: everyone re-ranked at every poll time. The one-pass version must agree."""
    out: list[tuple[float, str]] = []
    for at in sorted({at for points in series.values() for at, _ in points}):
        top = [team for rank, team, _ in ranking_at(series, at) if rank == 1]
        current = out[-1][1] if out else None
        out.append((at, current if current in top else top[0]))
    return out


def _ranks_by_reranking(series: dict[str, tuple[tuple[float, float], ...]], teams: list[str]) -> dict:
    out: dict[str, list[tuple[float, int]]] = {team: [] for team in teams}
    for at in sorted({at for points in series.values() for at, _ in points}):
        for rank, team, _ in ranking_at(series, at):
            if team in out:
                out[team].append((at, rank))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_the_one_pass_leaders_and_ranks_equal_reranking_at_every_poll(seed: int) -> None:
    rng = random.Random(seed)
    names = ["a", "B", "b", "Zed", "zed", "Ω", "Team 1", "team 1"][: rng.randint(1, 8)]
    series = {}
    for team in names:  # few values and shared times: ties, late joiners, a value going back down
        times = sorted(rng.sample(range(30), rng.randint(1, 20)))
        series[team] = tuple((float(at), float(rng.choice([-1, 0, 1, 2, 2, 3]))) for at in times)
    assert leaders(series) == _leaders_by_reranking(series)
    some = rng.sample(names, rng.randint(0, len(names)))
    assert rank_history(series, some) == _ranks_by_reranking(series, some)


def test_of_two_samples_at_one_time_the_last_counts_as_in_ranking_at() -> None:
    series = {"A": ((0.0, 1.0), (1.0, 5.0), (1.0, 2.0)), "B": ((1.0, 3.0),), "C": ((0.0, -0.0), (1.0, 0.0))}
    assert leaders(series) == _leaders_by_reranking(series) == [(0.0, "A"), (1.0, "B")]
    assert rank_history(series, ["A", "C"]) == _ranks_by_reranking(series, ["A", "C"])
    assert leaders({}) == [] and rank_history({}, ["A"]) == {"A": []}


def test_lead_changes_of_a_long_game_equal_reranking() -> None:
    rng = random.Random(7)
    series = {}
    for t in range(20):
        value, points = 0.0, []
        for i in range(600):
            value += rng.gauss(1, 10)
            points.append((30.0 * i, round(value)))
        series[f"T{t}"] = tuple(points)
    assert leaders(series) == _leaders_by_reranking(series)
    assert rank_history(series, ["T0", "T19"]) == _ranks_by_reranking(series, ["T0", "T19"])
