"""The game's history in a real SQLite store: each team's colour is given at its first sample and kept."""

from __future__ import annotations

from bot.state import Store
from commands.scores.history import load_snapshot, record_samples
from commands.scores.palette import OKABE_ITO, colour_for
from commands.scores.samples import ScoreSample


def test_a_team_gets_the_next_colour_at_its_first_sample_and_keeps_it_all_game(store: Store) -> None:
    record_samples(store, "gd", [ScoreSample(1.0, "Zeta", 5.0), ScoreSample(1.0, "Alpha", 1.0)])
    first = load_snapshot(store, "gd", 1.0, is_admin=True)
    assert first.colours == {"Zeta": OKABE_ITO[0], "Alpha": OKABE_ITO[1]}  # arrival order, not name order
    # later polls: the ranking turns over and a newcomer sorts first by name; nobody's colour moves
    record_samples(store, "gd", [ScoreSample(2.0, "Alpha", 50.0), ScoreSample(2.0, "Zeta", 0.0)])
    record_samples(store, "gd", [ScoreSample(3.0, "Aardvark", 99.0), ScoreSample(3.0, "Zeta", 1.0)])
    later = load_snapshot(store, "gd", 3.0, is_admin=True)
    assert later.colours == {"Zeta": OKABE_ITO[0], "Alpha": OKABE_ITO[1], "Aardvark": OKABE_ITO[2]}
    assert later.colour("Aardvark") == colour_for(2)
    assert record_samples(store, "other", [ScoreSample(1.0, "Aardvark", 1.0)]) == 1
    assert load_snapshot(store, "other", 1.0, is_admin=True).colours == {"Aardvark": OKABE_ITO[0]}  # per game


def test_a_history_from_before_colours_gets_them_by_place(store: Store) -> None:
    store.add("scores-teams/old", "B", {"first_seen": 1.0})
    store.add("scores-teams/old", "A", {"first_seen": 1.0, "colour": "not a colour"})
    store.add_sample("scores/old/A", 1.0, 1.0)
    store.add_sample("scores/old/B", 1.0, 2.0)
    snapshot = load_snapshot(store, "old", 1.0, is_admin=True)
    assert snapshot.colours == {}
    assert (snapshot.colour("A"), snapshot.colour("B")) == (colour_for(0), colour_for(1))
