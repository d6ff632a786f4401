"""`/tail`: check the group and the window, read every page, group per invocation, render."""

from __future__ import annotations

from dataclasses import dataclass

from bot.command import CommandContext
from bot.reply import Reply
from bot.text import plural
from commands.tail.events import LogEvent
from commands.tail.invocations import group_invocations
from commands.tail.parse import TailRequest
from commands.tail.query import LogGroup, check_retention, find_log_group, read_events, region_of
from commands.tail.render import log_reply


@dataclass(frozen=True)
class Shown:
    """A /tail answer and what it was made of: where a follow carries on from."""

    reply: Reply
    group: LogGroup
    events: list[LogEvent]
    end_ms: int  # the read covered events up to here


def show_tail(request: TailRequest, ctx: CommandContext) -> Shown:
    logs = ctx.aws.client("logs", request.region)
    region = region_of(logs)
    now = ctx.now()
    group = find_log_group(logs, request.log_group, region)
    check_retention(group, request.since, now)
    ctx.progress(f"Reading {request.log_group}…")
    end_ms = int(now.timestamp() * 1000)
    read = read_events(
        logs,
        request.log_group,
        int(request.since.timestamp() * 1000),
        end_ms=end_ms,
        filter_pattern=request.filter_pattern,
        limit=request.limit,
    )
    grouped = group_invocations(read.events, filtered=bool(request.filter_pattern))
    tz = ctx.settings.timezone
    since = request.since.astimezone(tz)
    title = f"{request.function or request.log_group} since {since:%Y-%m-%d %H:%M:%S %Z}"
    if request.filter_pattern:
        title += " (filtered)"
    notes = []
    if read.truncated:
        notes.append(
            f"Stopped after {plural(request.limit, 'event')} (--limit); there are more: "
            "give a later --since or a higher --limit."
        )
    reply = log_reply(title, grouped, tz, notes, filename=f"tail-{(request.function or 'log-group')}.txt")
    return Shown(reply, group, read.events, end_ms)
