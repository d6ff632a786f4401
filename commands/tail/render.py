"""Invocations as a Slack message: one block group per invocation, newest kept, the rest in a file.

Each invocation is an attachment of its own, for Slack's colour bar: green for ok, red for
error, timeout or out of memory, grey while unfinished; its status also leads its header as an
emoji, for clients that draw no bar. Lines are escaped for mrkdwn (a log line that
says `<!channel>` pings nobody) and packed by measured size with `pack`; the message keeps the
newest invocations that fit under Slack's limits and the older ones go into a text file, so
nothing is cut without saying where it went.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.reply import Attachment, LogText, Reply
from bot.slack.blocks import MAX_BLOCKS, MAX_BLOCKS_JSON, context, section
from bot.text import Mrkdwn, plural
from commands.tail.invocations import Grouped, Invocation, LogLine, Orphans, Status
from commands.tail.options import level_rank
from commands.tail.pack import FENCE, chunk_lines
from commands.tail.render_text import GREY, render_invocation, render_orphans, status_colour

STATUS_EMOJI = {
    Status.OK: ":large_green_circle:",
    Status.ERROR: ":red_circle:",
    Status.TIMEOUT: ":red_circle:",
    Status.OUT_OF_MEMORY: ":red_circle:",
    Status.UNFINISHED: ":white_circle:",
    Status.UNREPORTED: ":white_circle:",
}
ORPHAN_EMOJI = ":white_circle:"
# Room for the heading, the notes and delivery's late note, beside the invocations.
_RESERVED_BLOCKS = 4
_RESERVED_JSON = 1_500


@dataclass(frozen=True)
class Group:
    """One invocation (or the orphans) as the lines a reader sees, and in plain text for the file."""

    lines: list[Mrkdwn]
    plain: list[str]
    colour: str  # the attachment's colour bar


def groups_of(grouped: Grouped, tz: ZoneInfo) -> list[Group]:
    """Oldest first; lines outside any invocation last."""
    out = [
        _group(STATUS_EMOJI[inv.status], render_invocation(inv, tz), status_colour(inv.status))
        for inv in grouped.invocations
    ]
    orphans = render_orphans(grouped.orphans)
    if orphans:
        out.append(_group(ORPHAN_EMOJI, orphans, GREY))
    return out


def _group(emoji: str, lines: list[str], colour: str) -> Group:
    """The log's lines escaped; the fences render_text put around them are the only ones."""
    head, *body = lines
    escaped = [Mrkdwn(FENCE) if line == FENCE else Mrkdwn.escape(line) for line in body]
    return Group([Mrkdwn(emoji + " ") + head, *escaped], lines, colour)


def _blocks(group: Group) -> list[dict[str, Any]]:
    return [section(chunk.text) for chunk in chunk_lines(group.lines)]


def _bar(colour: str, blocks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One group as an attachment: its blocks beside the status's colour bar."""
    return {"color": colour, "blocks": list(blocks)}


def _size(blocks: Sequence[dict[str, Any]], colour: str = GREY) -> int:
    return len(json.dumps(_bar(colour, blocks))) + 2


def log_reply(
    title: str, grouped: Grouped, tz: ZoneInfo, notes: Sequence[str] = (), filename: str = "tail.txt"
) -> Reply:
    """A message within Slack's limits holding the newest groups; earlier ones in `filename`."""
    groups = groups_of(grouped, tz)
    count = len(grouped.invocations)
    summary = f"{title}: {plural(count, 'invocation')}"
    if grouped.orphans.lines:
        summary += f", {plural(len(grouped.orphans.lines), 'line')} outside any invocation"
    kept: list[dict[str, Any]] = []  # attachments, one per group
    room, budget = MAX_BLOCKS - _RESERVED_BLOCKS, MAX_BLOCKS_JSON - _RESERVED_JSON
    # Orphans sort last, so the newest groups are at the end: keep from there back.
    partial = False
    for group in reversed(groups):
        blocks = _blocks(group)
        if len(blocks) > room or _size(blocks, group.colour) > budget:
            if not kept:  # the newest alone is too big: its start here, all of it in the file
                kept.insert(0, _bar(group.colour, _first_blocks(blocks, room, budget)))
                partial = True
            break
        kept.insert(0, _bar(group.colour, blocks))
        room, budget = room - len(blocks), budget - _size(blocks, group.colour)
    left_out = groups[: len(groups) - len(kept) + (1 if partial else 0)]
    heading = [section(Mrkdwn("*{}*").format(summary))]
    tail_notes = [context(Mrkdwn("_{}_").format(note)) for note in notes]
    files: tuple[Attachment, ...] = ()
    if left_out:
        content = "\n\n".join("\n".join(line for line in g.plain if line != FENCE) for g in left_out)
        title_of_file = Mrkdwn("{}: the earlier {}").format(title, len(left_out))
        files = (Attachment(filename, content.encode(), title=title_of_file),)
        what = "The newest invocation continues" if partial else f"{plural(len(left_out), 'earlier group')} did not fit"
        tail_notes.append(context(Mrkdwn("_{}: see {}._").format(what, filename)))
    if not groups:
        tail_notes.insert(0, context(Mrkdwn("_No log events in that time._")))
    every_line = "\n\n".join([summary, *("\n".join(line for line in g.plain if line != FENCE) for g in groups)])
    log = LogText(title, every_line, filename)
    return Reply(text=Mrkdwn.escape(summary), blocks=[*heading, *tail_notes], attachments=kept, files=files, log=log)


def _first_blocks(blocks: list[dict[str, Any]], room: int, budget: int) -> list[dict[str, Any]]:
    taken: list[dict[str, Any]] = []
    for block in blocks:
        if len(taken) == room or _size([*taken, block]) > budget:
            break
        taken.append(block)
    return taken


def keep_at_level(grouped: Grouped, min_level: str | None) -> Grouped:
    """Only invocations that failed or logged at `min_level` or above (and such orphan lines)."""
    if not min_level:
        return grouped
    floor = level_rank(min_level)

    def loud(inv: Invocation) -> bool:
        failed = inv.status in (Status.ERROR, Status.TIMEOUT, Status.OUT_OF_MEMORY)
        return failed or any(_loud(line, floor) for line in inv.lines)

    orphans = [line for line in grouped.orphans.lines if _loud(line, floor)]
    return Grouped([inv for inv in grouped.invocations if loud(inv)], Orphans(orphans))


def _loud(line: LogLine, floor: int) -> bool:
    return line.is_error or (line.level is not None and level_rank(line.level) >= floor)
