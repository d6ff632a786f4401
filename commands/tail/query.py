"""The AWS reads behind /tail and the poller: a log group's retention, then FilterLogEvents, all pages.

Checks that need AWS's answer live here (the group exists, `--since` is within its retention);
client errors otherwise propagate to bot.aws's one translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.command import CommandError
from bot.text import shown
from commands.tail.events import LogEvent, SeenIds, log_events


@dataclass(frozen=True)
class LogGroup:
    name: str
    retention_days: int | None  # None: kept forever
    arn: str = ""  # without the trailing `:*`, as StartLiveTail takes it


@dataclass(frozen=True)
class LogRead:
    events: list[LogEvent]
    truncated: bool  # stopped at the limit; there may be more


def find_log_group(logs: Any, name: str, region: str) -> LogGroup:
    """The group called exactly `name`; one sentence naming it (and the region) when there is none."""
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    for page in pages:
        for group in page.get("logGroups", ()):
            if group.get("logGroupName") == name:
                arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
                return LogGroup(name, group.get("retentionInDays"), arn)
        break  # the exact name sorts first among those it prefixes
    raise CommandError(f"There is no log group {shown(name)} in {region}.")


def check_retention(group: LogGroup, since: datetime, now: datetime) -> None:
    if group.retention_days is None:
        return
    if now - since > timedelta(days=group.retention_days):
        raise CommandError(
            f"That is before what the log group keeps: its retention is {group.retention_days} days; "
            "give a later `--since`."
        )


def read_events(
    logs: Any,
    log_group: str,
    start_ms: int,
    *,
    end_ms: int | None = None,
    filter_pattern: str | None = None,
    limit: int | None = None,
    seen: SeenIds | None = None,
) -> LogRead:
    """Every event from `start_ms` (all pages), or the first `limit` of them."""
    events = list(
        log_events(
            logs.filter_log_events,
            log_group=log_group,
            start_ms=start_ms,
            end_ms=end_ms,
            filter_pattern=filter_pattern,
            limit=limit + 1 if limit else None,
            seen=seen,
        )
    )
    truncated = limit is not None and len(events) > limit
    return LogRead(events[:limit] if limit else events, truncated)


def region_of(logs: Any) -> str:
    return str(logs.meta.region_name)
