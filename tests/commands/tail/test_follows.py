"""Follow slots: a bounded number across everything sharing the store, freed at the end, and stops."""

from __future__ import annotations

import time

import pytest

from bot.command import CommandError
from bot.state import Store
from commands.tail.follows import RunningFollow, ask_to_stop, release, running, stop_asked, take_slot


def follow(follow_id: str, user: str = "U1", until: float | None = None) -> RunningFollow:
    return RunningFollow(follow_id, user, "C1", f"/aws/lambda/{follow_id}", until or time.time() + 60)


def test_no_more_follows_than_the_limit_and_a_freed_slot_is_taken_again(store: Store) -> None:
    first = take_slot(store, 2, follow("a"))
    take_slot(store, 2, follow("b", user="U2"))

    with pytest.raises(CommandError, match=r"2 follows already running.*`/tail stop` ends yours"):
        take_slot(store, 2, follow("c"))
    with pytest.raises(CommandError, match="Try again when one has ended"):
        take_slot(store, 2, follow("d", user="U3"))

    release(store, first)
    assert take_slot(store, 2, follow("c")).slot == first.slot
    assert {f.follow_id for f in running(store)} == {"b", "c"}


def test_a_slot_whose_follow_died_frees_itself_after_its_end(store: Store) -> None:
    take_slot(store, 1, follow("dead", until=time.time() - 121))

    assert take_slot(store, 1, follow("next")).follow_id == "next"


def test_releasing_an_expired_slot_leaves_the_follow_now_in_it(store: Store) -> None:
    old = take_slot(store, 1, follow("old", until=time.time() - 121))
    new = take_slot(store, 1, follow("new"))

    release(store, old)

    assert [f.follow_id for f in running(store)] == [new.follow_id]


def test_max_follows_0_turns_following_off(store: Store) -> None:
    with pytest.raises(CommandError, match="Following is turned off"):
        take_slot(store, 0, follow("a"))


def test_stop_reaches_only_the_callers_follows(store: Store) -> None:
    mine = take_slot(store, 3, follow("a", user="U1"))
    theirs = take_slot(store, 3, follow("b", user="U2"))

    assert [f.follow_id for f in ask_to_stop(store, "U1")] == ["a"]
    assert stop_asked(store, mine) and not stop_asked(store, theirs)
    release(store, mine)
    assert not stop_asked(store, mine)
