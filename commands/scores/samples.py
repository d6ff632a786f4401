"""What a scoreboard endpoint answers, read tolerantly into `ScoreSample`s: pure, no I/O.

Real endpoints differ: a list of rows, or an object wrapping one (`{"scores": [...]}`); keys in any
case (`Team`/`team`/`name`, `Profit`/`score`/`points`); numbers as strings. A row that cannot be read
is a `SkippedRow` with a reason, never a crash and never a guessed point: a team listed twice in one
answer is skipped entirely, because either value could be the wrong one.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

TEAM_KEYS = ("team", "teamname", "team_name", "name")
VALUE_KEYS = ("profit", "score", "points")
# Where an object wraps its list; any other single list value is taken too.
WRAPPER_KEYS = ("scores", "teams", "standings", "leaderboard", "results", "data", "items")
MAX_TEAMS = 500
MAX_TEAM_NAME = 80
MAX_ABS_VALUE = 1e15  # beyond this a "profit" is a broken endpoint, not a score
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)


class PayloadError(ValueError):
    """The whole answer is unreadable (not JSON, no list of rows): a failed poll, nothing stored."""


@dataclass(frozen=True)
class ScoreSample:
    at: float  # epoch seconds of the poll
    team: str
    value: float


@dataclass(frozen=True)
class SkippedRow:
    index: int  # position in the endpoint's list
    reason: str


@dataclass(frozen=True)
class Reading:
    samples: tuple[ScoreSample, ...]
    skipped: tuple[SkippedRow, ...]


def json_body(body: bytes) -> Any:
    """The JSON in an HTTP body; PayloadError when it is not JSON at all."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadError("the answer is not JSON") from None


def read_body(body: bytes, at: float) -> Reading:
    """The samples in an HTTP body; PayloadError when it is not JSON at all."""
    return read_payload(json_body(body), at)


def read_payload(payload: Any, at: float) -> Reading:
    rows = _rows(payload, depth=0)
    if rows is None:
        raise PayloadError("the answer holds no list of scores")
    read: list[tuple[int, str, float]] = []
    skipped: list[SkippedRow] = []
    for index, row in enumerate(rows):
        if index >= MAX_TEAMS:
            skipped.append(SkippedRow(index, f"beyond the first {MAX_TEAMS} rows"))
            continue
        result = _row(row)
        if isinstance(result, str):
            skipped.append(SkippedRow(index, result))
        else:
            read.append((index, *result))
    counts = Counter(team for _, team, _ in read)
    samples = []
    for index, team, value in read:
        if counts[team] > 1:
            skipped.append(SkippedRow(index, f"team {team!r} is listed {counts[team]} times"))
        else:
            samples.append(ScoreSample(at, team, value))
    return Reading(tuple(samples), tuple(sorted(skipped, key=lambda s: s.index)))


def _rows(payload: Any, depth: int) -> list[Any] | None:
    if isinstance(payload, list):
        return payload
    if not isinstance(payload, dict) or depth > 2:
        return None
    numbered = [payload[k] for k in sorted(payload, key=_position)] if all(map(_position, payload)) else []
    if numbered:  # positions as keys ({"1": {...}, "2": {...}}), as CTFd's /api/v1/scoreboard/top answers
        return numbered
    by_key = {str(k).lower(): v for k, v in payload.items()}
    for key in WRAPPER_KEYS:
        if key in by_key:
            found = _rows(by_key[key], depth + 1)
            if found is not None:
                return found
    lists = [v for v in payload.values() if isinstance(v, list)]
    if len(lists) == 1:
        return lists[0]
    objects = [v for v in payload.values() if isinstance(v, dict)]
    if len(objects) == 1:
        return _rows(objects[0], depth + 1)
    return None


def _position(key: Any) -> int:
    return int(key) if isinstance(key, str) and key.isdigit() and len(key) < 7 else 0


def _row(row: Any) -> tuple[str, float] | str:
    """(team, value), or why the row is skipped."""
    if not isinstance(row, dict):
        return f"a {type(row).__name__}, not an object"
    fields = {str(k).lower(): v for k, v in row.items()}
    team_key = next((k for k in TEAM_KEYS if k in fields), None)
    if team_key is None:
        return "no team name (team, name)"
    value_key = next((k for k in VALUE_KEYS if k in fields), None)
    if value_key is None:
        return "no score (profit, score, points)"
    team = team_name(fields[team_key])
    if team is None:
        return "the team name is empty or not text"
    value = number(fields[value_key])
    if value is None:
        return f"the {value_key} of {team!r} is not a number"
    return team, value


def team_name(raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    text = " ".join("".join(c for c in str(raw) if c.isprintable()).split())
    if not text:
        return None
    return text if len(text) <= MAX_TEAM_NAME else text[: MAX_TEAM_NAME - 1] + "…"


def number(raw: Any) -> float | None:
    """A finite number, or a string that is one ("1,234.5", " -12 "); None otherwise."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw) if not isinstance(raw, int) or abs(raw) < 10**16 else math.inf
    elif isinstance(raw, str) and len(raw) <= 40:
        text = raw.strip().replace(",", "").replace("_", "")
        if not _NUMBER.fullmatch(text):
            return None
        value = float(text)
    else:
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_ABS_VALUE else None
