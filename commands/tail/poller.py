"""The poller: the forwarder's routes read with FilterLogEvents inside `opsbot serve`, none lost.

Each route's log group has a `ResumeCursor` in the store. A tick re-reads from an overlap window
before the newest delivered event (CloudWatch delivers late, and several events share a
millisecond), drops the ids already delivered, posts the rest as one message and only then,
once the post is queued in the durable outbox, advances and saves the cursor. A restart reads
the saved cursor, so it neither repeats nor skips a line. A prefix route follows every group
under its prefix, each with its own cursor.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.aws import AWS_ERRORS, describe_aws_error
from bot.command import CommandContext, Job
from commands.tail.events import ResumeCursor
from commands.tail.invocations import group_invocations
from commands.tail.options import LogRoute, TailOptions, poller_interval
from commands.tail.query import read_events
from commands.tail.render import keep_at_level, log_reply

log = logging.getLogger(__name__)

CURSORS = "tail-cursors"
CURSOR_LEASE_SECONDS = 120.0  # longer than one poll of one group (a read, a post queued)
_MAX_GROUPS_PER_PREFIX = 50


def cursor_key(route: LogRoute, log_group: str) -> str:
    return f"{route.channel} {log_group}"


def load_cursor(ctx: CommandContext, key: str) -> ResumeCursor:
    stored = ctx.store.get(CURSORS, key)
    return ResumeCursor.from_json(stored.value) if stored else ResumeCursor()


def take_cursor(ctx: CommandContext, key: str) -> tuple[ResumeCursor, dict[str, Any]] | None:
    """The cursor, leased to this poll (compare-and-set); None while another replica's poll holds
    it, so two never post the same events. A poll that dies leaves the lease to run out."""
    now = ctx.now().timestamp()
    stored = ctx.store.get(CURSORS, key)
    value: dict[str, Any] = dict(stored.value) if stored else ResumeCursor().to_json()
    if stored is None and not ctx.store.add(CURSORS, key, value):
        return None
    if float(value.get("held_until") or 0) > now:
        return None
    leased = {**value, "held_until": now + CURSOR_LEASE_SECONDS}
    return (ResumeCursor.from_json(value), leased) if ctx.store.claim(CURSORS, key, value, leased) else None


def groups_of_route(logs: Any, route: LogRoute) -> list[str]:
    if route.log_group:
        return [route.log_group]
    names: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=route.prefix or None):
        names += [g["logGroupName"] for g in page.get("logGroups", ())]
        if len(names) >= _MAX_GROUPS_PER_PREFIX:
            log.warning("tail poller: %s has over %d groups; polling the first", route.name, _MAX_GROUPS_PER_PREFIX)
            return names[:_MAX_GROUPS_PER_PREFIX]
    return names


def poll_group(ctx: CommandContext, route: LogRoute, log_group: str, options: TailOptions) -> int:
    """One read of one group for one route; how many new events it posted."""
    assert ctx.post is not None
    key = cursor_key(route, log_group)
    taken = take_cursor(ctx, key)
    if taken is None:
        return 0
    cursor, leased = taken
    advanced = None
    try:
        now_ms = int(ctx.now().timestamp() * 1000)
        start = cursor.start_ms(now_ms - int(options.first_read_seconds * 1000))
        read = read_events(ctx.aws.client("logs"), log_group, start, filter_pattern=route.filter_pattern)
        fresh = cursor.fresh(read.events)
        if not fresh:
            return 0
        grouped = keep_at_level(group_invocations(fresh, filtered=bool(route.filter_pattern)), route.min_level)
        if grouped.invocations or grouped.orphans.lines:
            name = log_group.removeprefix("/aws/lambda/")
            ctx.post(route.channel, log_reply(name, grouped, ctx.settings.timezone, filename="logs.txt"))
        # Only now: the post is in the durable outbox (or nothing reached the route's level).
        advanced = cursor.advance(fresh).to_json()
        ctx.store.put(CURSORS, key, advanced)
        return len(fresh)
    finally:
        if advanced is None:  # nothing posted: the next poll (here or in a replica) may go at once
            ctx.store.claim(CURSORS, key, leased, cursor.to_json())


def run_tick(ctx: CommandContext) -> dict[str, int]:
    """Every route's groups once; a group that fails is logged and read again next tick."""
    options = TailOptions.from_settings(ctx.settings)
    posted: dict[str, int] = {}
    if ctx.post is None:
        log.warning("tail poller: no way to post (no Slack token); skipping the tick")
        return posted
    for route in options.routes:
        try:
            groups = groups_of_route(ctx.aws.client("logs"), route)
        except AWS_ERRORS as exc:
            log.warning("tail poller: cannot list %s: %s", route.name, describe_aws_error(exc))
            continue
        for log_group in groups:
            try:
                posted[cursor_key(route, log_group)] = poll_group(ctx, route, log_group, options)
            except AWS_ERRORS as exc:
                log.warning("tail poller: cannot read %s: %s", log_group, describe_aws_error(exc))
            except Exception:
                log.exception("tail poller: %s failed; it is read again next tick", log_group)
    return posted


def _run(ctx: CommandContext) -> None:
    run_tick(ctx)


JOB = Job("tail_poller", poller_interval, _run)
