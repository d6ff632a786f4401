"""CTFd's scoreboard API, read into history: a late start still charts the game from its first solve. Pure.

CTFd (CTFd/api/v1/scoreboard.py) answers `/api/v1/scoreboard` with `{"success": true, "data": [{"pos",
"account_id", "name", "score", ...}]}` (the rows `samples.read_payload` reads on every poll) and
`/api/v1/scoreboard/top/<count>` with `{"success": true, "data": {"1": {"id", "name", "score",
"solves": [{"challenge_id", "value", "date"}, ...]}, ...}}`, each account's solves and awards
(`challenge_id` null) with ISO dates, sorted. The running sum of an account's solves at each date is
its score then: the samples a poller would have stored had it been there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from commands.scores.samples import MAX_TEAMS, PayloadError, Reading, ScoreSample, SkippedRow, number, team_name

BACKFILL_TEAMS = 50  # accounts asked of /top/: more than a chart highlights, few enough for CTFd to answer fast
MAX_SOLVES = 5000  # per account; beyond it the endpoint is broken, not a game
_SCOREBOARD = re.compile(r"(?P<base>.*/api/v1/scoreboard)(?:/top/\d{1,6})?/?", re.ASCII)


def top_url(url: str) -> str | None:
    """The `/top/<count>` URL of a CTFd scoreboard URL (either shape), None for any other endpoint."""
    parts = urlsplit(url)
    found = _SCOREBOARD.fullmatch(parts.path)
    if found is None:
        return None
    return urlunsplit(parts._replace(path=f"{found['base']}/top/{BACKFILL_TEAMS}", query="", fragment=""))


def _epoch(raw: Any) -> float | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # CTFd's dates are UTC


def top_accounts(payload: Any) -> list[Any] | None:
    """The accounts of a `/top/<count>` answer, best first; None when it is not that shape."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not all(isinstance(k, str) and k.isdigit() and len(k) < 7 for k in data):
        return None
    return [data[k] for k in sorted(data, key=int)]


def read_top(payload: Any, before: float) -> Reading:
    """Each account's score after each of its solves before `before` (the first poll's time)."""
    accounts = top_accounts(payload)
    if accounts is None:
        raise PayloadError("the answer is not CTFd's /api/v1/scoreboard/top shape")
    samples: list[ScoreSample] = []
    skipped: list[SkippedRow] = []
    seen: set[str] = set()
    for index, account in enumerate(accounts[:MAX_TEAMS]):
        name = team_name(account.get("name")) if isinstance(account, dict) else None
        solves = account.get("solves") if isinstance(account, dict) else None
        if name is None or not isinstance(solves, list) or name in seen:
            skipped.append(SkippedRow(index, "no name, no solves, or a name listed twice"))
            continue
        seen.add(name)
        dated = []
        for solve in solves[:MAX_SOLVES]:
            value = number(solve.get("value")) if isinstance(solve, dict) else None
            at = _epoch(solve.get("date")) if isinstance(solve, dict) else None
            if value is None or at is None:
                skipped.append(SkippedRow(index, f"a solve of {name!r} without a value or a date"))
            elif at < before:
                dated.append((at, value))
        dated.sort(key=lambda solve: solve[0])
        total = 0.0
        for i, (at, value) in enumerate(dated):
            total += value
            if i + 1 == len(dated) or dated[i + 1][0] != at:  # one sample per time: after all its solves
                samples.append(ScoreSample(round(at, 3), name, total))
    return Reading(tuple(samples), tuple(skipped))
