"""[commands.tail] in the settings file (or, on Lambda, variables): the forwarder's routes and limits.

```toml
[commands.tail]
poll_every_seconds = 30          # the poller inside `opsbot serve`; absent: off
max_follows = 3                  # `/tail --follow`s running at once, across replicas; 0: off
follow_poll_seconds = 3          # how often a follow without Live Tail reads FilterLogEvents

[[commands.tail.routes]]
log_group = "/aws/lambda/orders"  # or log_group_prefix = "/aws/lambda/"
channel = "C0LOGS1234"
filter = "ERROR"                  # optional: a CloudWatch filter pattern
min_level = "WARN"                # optional: only invocations that failed or logged at this level or above
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.command import CommandError
from bot.settings import Settings
from commands.tail import NAME

KEY = "tail"
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")


def level_rank(level: str | None) -> int:
    """TRACE 0 … FATAL 5; an unknown or missing level ranks as INFO."""
    name = _ALIASES.get((level or "").upper(), (level or "").upper())
    return LEVELS.index(name) if name in LEVELS else LEVELS.index("INFO")


@dataclass(frozen=True)
class LogRoute:
    """Where one log group's (or a prefix's) events go."""

    channel: str
    log_group: str = ""  # exact name; or
    prefix: str = ""  # every group whose name starts with this ("" with no log_group: every group)
    filter_pattern: str | None = None
    min_level: str | None = None

    def matches(self, log_group: str) -> bool:
        return log_group == self.log_group if self.log_group else log_group.startswith(self.prefix)

    @property
    def name(self) -> str:
        return self.log_group or f"{self.prefix}*"


def _fail(what: str) -> CommandError:
    return CommandError(f"OPSBOT_CONFIG [commands.tail] {what}")


def _route(index: int, raw: Any) -> LogRoute:
    where = f"routes[{index}]"
    if not isinstance(raw, Mapping):
        raise _fail(f"{where}: expected a table")
    channel = raw.get("channel")
    if not isinstance(channel, str) or not _CHANNEL.match(channel):
        raise _fail(f"{where}.channel: expected a Slack channel id such as C0LOGS1234")
    group, prefix = raw.get("log_group", ""), raw.get("log_group_prefix", "")
    if not isinstance(group, str) or not isinstance(prefix, str) or (group and prefix):
        raise _fail(f"{where}: give log_group or log_group_prefix (a string), not both")
    pattern = raw.get("filter")
    if pattern is not None and not isinstance(pattern, str):
        raise _fail(f"{where}.filter: expected a CloudWatch filter pattern")
    level = raw.get("min_level")
    if level is not None and (not isinstance(level, str) or _ALIASES.get(level.upper(), level.upper()) not in LEVELS):
        raise _fail(f"{where}.min_level: expected one of {', '.join(LEVELS)}")
    return LogRoute(channel, group, prefix, pattern or None, level.upper() if level else None)


def _number(options: Mapping[str, Any], key: str, default: float | None, low: float, high: float) -> float | None:
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(f"{key}: expected a number from {low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True)
class TailOptions:
    routes: tuple[LogRoute, ...] = ()
    poll_every_seconds: float | None = None
    max_follows: int = 3
    follow_poll_seconds: float = 3.0  # a follow without Live Tail reads FilterLogEvents this often
    # The poller's first read of a route starts this far back; later reads resume at the cursor.
    first_read_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TailOptions:
        options = settings.options_for(NAME)
        raw_routes = options.get("routes", [])
        if isinstance(raw_routes, str):  # on Lambda: OPSBOT_TAIL_ROUTES holds them as JSON
            try:
                raw_routes = json.loads(raw_routes)
            except ValueError:
                raise _fail("routes: expected a JSON list of routes") from None
        if not isinstance(raw_routes, list):
            raise _fail("routes: expected a list of [[commands.tail.routes]] tables")
        routes = [_route(i, raw) for i, raw in enumerate(raw_routes)]
        if options.get("channel"):  # OPSBOT_TAIL_CHANNEL: every subscribed group to one channel
            routes.append(_route(len(routes), {"channel": options["channel"], "log_group_prefix": ""}))
        return cls(
            routes=tuple(routes),
            poll_every_seconds=_number(options, "poll_every_seconds", None, 5, 3600),
            max_follows=int(_number(options, "max_follows", 3, 0, 50) or 0),
            follow_poll_seconds=_number(options, "follow_poll_seconds", 3, 0.2, 60) or 3.0,
            first_read_seconds=_number(options, "first_read_seconds", 300, 0, 86400) or 0.0,
        )

    def route_for(self, log_group: str) -> LogRoute | None:
        """The first route that matches: exact names are written first in a sensible file."""
        return next((r for r in self.routes if r.matches(log_group)), None)


def poller_interval(settings: Settings) -> float | None:
    try:
        options = TailOptions.from_settings(settings)
    except CommandError:
        return None  # /tail itself reports the bad setting; the job stays off
    return options.poll_every_seconds if options.routes else None
