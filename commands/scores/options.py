"""[commands.scores] in the settings file (or, on Lambda, variables): read in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.command import CommandError
from bot.settings import Settings
from commands.scores import NAME
from commands.scores.history import GAME_NAME

KEY = "scores"
MIN_EVERY = 5.0  # seconds: the shortest interval between a game's polls (`--every`, `every_seconds`)


def _number(options: Mapping[str, Any], key: str, default: float | None, low: float, high: float) -> float | None:
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise CommandError(f"OPSBOT_CONFIG [commands.scores] {key}: expected a number from {low:g} to {high:g}")
    return float(value)


def _hosts(options: Mapping[str, Any], key: str) -> frozenset[str]:
    raw = options.get(key, [])
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise CommandError(f"OPSBOT_CONFIG [commands.scores] {key}: expected a list of host names")
    return frozenset(str(h).strip().lower().strip("[]") for h in items if str(h).strip())


@dataclass(frozen=True)
class ConfiguredGame:
    """A game the settings name (`[[commands.scores.games]]`): polled without a `/scores start`."""

    name: str
    url: str
    every: float


def _games(options: Mapping[str, Any]) -> tuple[ConfiguredGame, ...]:
    raw = options.get("games", [])
    where = "OPSBOT_CONFIG [[commands.scores.games]]"
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise CommandError(f"{where}: expected tables with name, url and every_seconds")
    found = []
    for item in raw:
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str) or not GAME_NAME.fullmatch(name):
            raise CommandError(f"{where} name: up to 40 letters, digits, `.`, `_` or `-`, got {name!r}")
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            raise CommandError(f"{where} url of {name}: expected an http(s) URL, got {url!r}")
        every = _number(item, "every_seconds", 30.0, MIN_EVERY, 3600) or 30.0
        found.append(ConfiguredGame(name, url, every))
    return tuple(found)


@dataclass(frozen=True)
class ScoresOptions:
    allow_http_hosts: frozenset[str] = frozenset()  # may be polled over plain http (and be private)
    allow_private_hosts: frozenset[str] = frozenset()  # may resolve to a private or loopback address
    tick_seconds: float = MIN_EVERY  # the smallest --every: the job ticks as often as any game may need
    timeout_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    period_seconds: float = 900.0  # "change over the last period" in the table
    channel: str | None = None  # where the poster posts charts
    post_every_seconds: float | None = None  # None: only on lead changes (when a channel is set)
    post_on_lead_change: bool = True
    live_table: bool = True  # between charts, keep one message in the channel edited with the table
    native_chart: bool = False  # /scores chart adds Slack's own line chart of the top 6 (data_visualization)
    games: tuple[ConfiguredGame, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoresOptions:
        options = settings.options_for(NAME)
        every_minutes = _number(options, "post_every_minutes", None, 1, 1440)
        return cls(
            allow_http_hosts=_hosts(options, "allow_http_hosts"),
            allow_private_hosts=_hosts(options, "allow_private_hosts"),
            tick_seconds=_number(options, "tick_seconds", MIN_EVERY, 1, 3600) or MIN_EVERY,
            timeout_seconds=_number(options, "timeout_seconds", 10.0, 0.1, 120) or 10.0,
            max_body_bytes=int(_number(options, "max_body_bytes", 1024 * 1024, 1024, 64 * 1024 * 1024) or 0),
            period_seconds=60 * (_number(options, "period_minutes", 15, 1, 1440) or 15),
            channel=str(options["channel"]) if options.get("channel") else None,
            post_every_seconds=every_minutes * 60 if every_minutes else None,
            post_on_lead_change=bool(options.get("post_on_lead_change", True)),
            live_table=bool(options.get("live_table", True)),
            native_chart=bool(options.get("native_chart", False)),
            games=_games(options),
        )


def poller_interval(settings: Settings) -> float | None:
    """The poller's tick: on when the settings have a [commands.scores] table (and `poller` is not false)."""
    if KEY not in settings.command_options or settings.options_for(NAME).get("poller") is False:
        return None
    try:
        return ScoresOptions.from_settings(settings).tick_seconds
    except CommandError:
        return None  # the command itself reports the bad setting; the job stays off


def kept_interval(every: float, tick: float | None) -> float:
    """The interval a game is polled at: the poller looks at each game once a tick, so a game is
    polled at the first tick `every` after its last poll, a whole number of ticks (at least one)."""
    if not tick:
        return every
    return max(1, math.ceil(every / tick - 1e-9)) * tick
