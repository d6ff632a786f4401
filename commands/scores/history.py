"""Games and their history in the state store: samples as they arrive, so a restart loses nothing.

Layout: `scores-games` holds each tracked game (its URL and interval) by name; `scores-polls` each
game's poll bookkeeping; `scores-teams/<game>` the teams seen and their colours (an index: one key per team,
written once with `add`, so concurrent pollers never race on a list); a time series `scores/<game>/<team>`
per team; `scores-marks/<game>` the event markers; `scores-freeze` the freeze time per game.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.command import CommandError
from bot.state import Store
from commands.scores.palette import colour_for
from commands.scores.ranking import Mark, Snapshot, board_time, cut
from commands.scores.samples import ScoreSample

GAMES = "scores-games"
POLLS = "scores-polls"
FREEZES = "scores-freeze"
GAME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", re.ASCII)
DEFAULT_GAME = "gameday"
MAX_MARKS = 200
HEX_COLOUR = re.compile(r"#[0-9a-f]{6}", re.ASCII)


@dataclass(frozen=True)
class Game:
    name: str
    url: str
    every: float  # seconds between polls
    started_by: str = ""
    started_at: float = 0.0


@dataclass
class PollState:
    """What the poller remembers about one game between ticks."""

    last_at: float = 0.0  # when the last poll was tried
    last_ok: float = 0.0  # when one last stored samples
    polls: int = 0
    failures: int = 0
    last_error: str = ""
    failing_since: float = 0.0  # the first failed poll since the last good one; 0: the last poll was good
    skipped: int = 0  # rows skipped over the game's life
    leader: str = ""
    last_chart_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _teams_ns(game: str) -> str:
    return f"scores-teams/{game}"


def _marks_ns(game: str) -> str:
    return f"scores-marks/{game}"


def series_name(game: str, team: str) -> str:
    return f"scores/{game}/{team}"


def save_game(store: Store, game: Game) -> None:
    store.put(GAMES, game.name, asdict(game))


def remove_game(store: Store, name: str) -> bool:
    """Stop polling; the history stays (it can still be shown and exported)."""
    if store.get(GAMES, name) is None:
        return False
    store.delete(GAMES, name)
    return True


def games(store: Store) -> list[Game]:
    found = []
    for _, stored in store.items(GAMES):
        try:
            found.append(Game(**stored.value))
        except TypeError:
            continue  # a record from another version: ignored rather than crashing the poller
    return found


def known_games(store: Store) -> list[str]:
    """Games being polled, and games with a history (stopped ones too)."""
    names = {g.name for g in games(store)} | {name for name, _ in store.items(POLLS)}
    return sorted(names)


def pick_game(store: Store, name: str | None) -> str:
    names = known_games(store)
    if name:
        if name not in names:
            raise CommandError(f"No game is called `{name}`. {_listing(names)}")
        return name
    if len(names) == 1:
        return names[0]
    if not names:
        raise CommandError("No game is tracked yet. An admin starts one with `/scores start <url>`.")
    raise CommandError(f"Several games are tracked; name one. {_listing(names)}")


def _listing(names: list[str]) -> str:
    return "Games: " + ", ".join(f"`{n}`" for n in names) + "." if names else "No game is tracked yet."


def load_poll_state(store: Store, game: str) -> PollState:
    stored = store.get(POLLS, game)
    if stored is None:
        return PollState()
    try:
        return PollState(**stored.value)
    except TypeError:
        return PollState()


def record_samples(store: Store, game: str, samples: Iterable[ScoreSample]) -> int:
    """Store the samples; a team seen for the first time gets the next palette colour, kept all game."""
    known = len(store.items(_teams_ns(game)))
    count = 0
    for sample in samples:
        if store.add(_teams_ns(game), sample.team, {"first_seen": sample.at, "colour": colour_for(known)}):
            known += 1
        store.add_sample(series_name(game, sample.team), sample.at, sample.value)
        count += 1
    return count


def _colour(stored: Any) -> str:
    colour = stored.get("colour") if isinstance(stored, dict) else None
    return colour if isinstance(colour, str) and HEX_COLOUR.fullmatch(colour) else ""


def has_history(store: Store, game: str) -> bool:
    return bool(store.items(_teams_ns(game), limit=1))


def add_mark(store: Store, game: str, at: float, label: str) -> None:
    if len(store.items(_marks_ns(game), limit=MAX_MARKS)) >= MAX_MARKS:
        raise CommandError(f"`{game}` already has {MAX_MARKS} marks.")
    store.put(_marks_ns(game), f"{at:020.6f}", label)


def set_freeze(store: Store, game: str, at: float | None) -> None:
    if at is None:
        store.delete(FREEZES, game)
    else:
        store.put(FREEZES, game, at)


def freeze_time(store: Store, game: str) -> float | None:
    stored = store.get(FREEZES, game)
    return float(stored.value) if stored is not None else None


def load_snapshot(store: Store, game: str, now: float, is_admin: bool) -> Snapshot:
    """The board a user may see now: the history up to now, or up to the freeze for non-admins."""
    as_of, frozen = board_time(now, freeze_time(store, game), is_admin)
    teams = {team: _colour(stored.value) for team, stored in store.items(_teams_ns(game))}
    series = cut({team: store.samples(series_name(game, team)) for team in teams}, as_of)
    last = max((points[-1][0] for points in series.values()), default=as_of)
    marks = tuple(
        Mark(float(key), str(stored.value))
        for key, stored in store.items(_marks_ns(game), limit=MAX_MARKS)
        if float(key) <= as_of
    )
    colours = {team: colour for team, colour in teams.items() if colour}
    return Snapshot(game, min(as_of, last) if series else as_of, series, marks, frozen, colours)
