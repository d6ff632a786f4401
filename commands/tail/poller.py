"""The poller: the forwarder's routes read with FilterLogEvents inside `opsbot serve`, none lost.

Each route's log group has a `ResumeCursor` in the store. A tick re-reads from an overlap window
before the newest delivered event (CloudWatch delivers late, and several events share a
millisecond) and drops the ids already delivered. It then advances the cursor with a
compare-and-set on the one it read, and only the run that wins it queues the rest, as one message,
in the durable outbox (a post that cannot be queued puts the cursor back). A restart reads the
saved cursor, so it neither repeats nor skips a line, and two replicas never post a line twice.
A prefix route follows every group under its prefix, each with its own cursor.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.aws import AWS_ERRORS, describe_aws_error
from bot.command import CommandContext
from commands.tail.events import ResumeCursor
from commands.tail.invocations import group_invocations
from commands.tail.options import LogRoute, TailOptions
from commands.tail.query import read_events
from commands.tail.render import keep_at_level, log_reply

log = logging.getLogger(__name__)

CURSORS = "tail-cursors"
_MAX_GROUPS_PER_PREFIX = 50


def cursor_key(route: LogRoute, log_group: str) -> str:
    return f"{route.channel} {log_group}"


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
    read_as = ctx.store.for_update(CURSORS, key, ResumeCursor().to_json())
    if read_as is None:
        return 0
    cursor = ResumeCursor.from_json(read_as)
    now_ms = int(ctx.now().timestamp() * 1000)
    start = cursor.start_ms(now_ms - int(options.first_read_seconds * 1000))
    read = read_events(ctx.aws.client("logs"), log_group, start, filter_pattern=route.filter_pattern)
    fresh = cursor.fresh(read.events)
    if not fresh:
        return 0
    grouped = keep_at_level(group_invocations(fresh, filtered=bool(route.filter_pattern)), route.min_level)
    advanced = cursor.advance(fresh).to_json()
    # Compare-and-set on the cursor as read: another replica (or this one's run that lost its job
    # lease) may have posted these lines since; only the run whose write wins posts them.
    if not ctx.store.claim(CURSORS, key, read_as, advanced):
        log.info("tail poller: %s was read by another run meanwhile; not posting it again", log_group)
        return 0
    if grouped.invocations or grouped.orphans.lines:
        name = log_group.removeprefix("/aws/lambda/")
        try:
            ctx.post(route.channel, log_reply(name, grouped, ctx.settings.timezone, filename="logs.txt"))
        except BaseException:
            # Not queued: put the cursor back (unless another run moved it on) so the next tick posts them.
            ctx.store.claim(CURSORS, key, advanced, read_as)
            raise
    return len(fresh)


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
