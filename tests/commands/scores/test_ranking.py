"""Ranks, deltas, moves, lead changes, the freeze rule and team colours, from plain histories."""

from __future__ import annotations

from commands.scores.ranking import (
    LeadChange,
    Snapshot,
    board_time,
    cut,
    lead_changes,
    rank_history,
    ranking_at,
    standings,
    team_colour,
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


def test_a_team_keeps_its_colour_whatever_the_other_teams_or_their_order() -> None:
    names = [f"Team {i}" for i in range(30)]
    first = {team: team_colour(team) for team in names}
    assert {team: team_colour(team) for team in reversed(names[5:])} == {t: first[t] for t in names[5:]}
    assert len(set(first.values())) == len(names)
    assert all(len(c) == 7 and c.startswith("#") for c in first.values())


def test_tied_teams_are_listed_by_name_ignoring_case_whatever_order_they_were_stored_in() -> None:
    tied = {"Zed": ((0.0, 7.0),), "Beta": ((0.0, 7.0),), "alpha": ((0.0, 7.0),), "Top": ((0.0, 9.0),)}
    assert ranking_at(tied, 0.0) == [(1, "Top", 9.0), (2, "alpha", 7.0), (2, "Beta", 7.0), (2, "Zed", 7.0)]
