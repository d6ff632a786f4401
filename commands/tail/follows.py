"""Which follows run, in the state store: a bounded number of slots, and the callers' stop requests.

A slot is taken with `Store.add`, so replicas sharing a store never run more follows than
`max_follows` between them; it expires shortly after its follow's end, so a process that died
mid-follow frees its slot by itself. `/tail stop` writes a stop request the follow reads between
reads of the log group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.command import CommandError
from bot.state import Store
from bot.text import plural

FOLLOWS = "tail-follows"  # "slot-N" -> a RunningFollow
STOPS = "tail-stops"  # follow id -> who asked it to stop
_GRACE_SECONDS = 120.0  # past its end a slot is free whatever happened to its follow


@dataclass(frozen=True)
class RunningFollow:
    follow_id: str
    user: str
    channel: str
    log_group: str
    until: float  # epoch seconds
    slot: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.follow_id,
            "user": self.user,
            "channel": self.channel,
            "group": self.log_group,
            "until": self.until,
        }

    @classmethod
    def from_json(cls, slot: str, data: dict[str, Any]) -> RunningFollow:
        return cls(
            str(data["id"]), str(data["user"]), str(data["channel"]), str(data["group"]), float(data["until"]), slot
        )


def running(store: Store) -> list[RunningFollow]:
    return [RunningFollow.from_json(key, stored.value) for key, stored in store.items(FOLLOWS)]


def take_slot(store: Store, limit: int, follow: RunningFollow) -> RunningFollow:
    """The follow in a free slot, or a refusal that says how to get one."""
    if limit < 1:
        raise CommandError("Following is turned off here (`max_follows = 0` in [commands.tail]).")
    for index in range(limit):
        slot = f"slot-{index}"
        if store.add(FOLLOWS, slot, follow.to_json(), expires_at=follow.until + _GRACE_SECONDS):
            return replace(follow, slot=slot)
    mine = [f for f in running(store) if f.user == follow.user]
    hint = " `/tail stop` ends yours." if mine else " Try again when one has ended."
    raise CommandError(f"{plural(limit, 'follow')} already running, the most this bot runs at once.{hint}")


def release(store: Store, follow: RunningFollow) -> None:
    """Free the follow's slot, unless it expired and another follow holds it now."""
    stored = store.get(FOLLOWS, follow.slot)
    if stored is not None and stored.value.get("id") == follow.follow_id:
        store.delete(FOLLOWS, follow.slot)
    store.delete(STOPS, follow.follow_id)


def ask_to_stop(store: Store, user: str) -> list[RunningFollow]:
    """Stop requests for every follow `user` started; the follows they were written for."""
    mine = [f for f in running(store) if f.user == user]
    for follow in mine:
        request_stop(store, follow, user)
    return mine


def request_stop(store: Store, follow: RunningFollow, by: str) -> None:
    store.put(STOPS, follow.follow_id, {"by": by}, expires_at=follow.until + _GRACE_SECONDS)


def stop_asked(store: Store, follow: RunningFollow) -> bool:
    return store.get(STOPS, follow.follow_id) is not None
