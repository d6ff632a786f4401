"""Log posts queued behind each other in one channel (or thread) become one message and one file.

A burst of log batches to one channel would otherwise take one paced slot per batch (a message
and its file each): Slack's ~1 message a second per channel is the bottleneck, not the batches.
So whatever is already queued when a slot comes up goes out together: the newest post's message
(its newest invocations) with a note, and one file holding every line of the earlier posts, then
what of the newest did not fit its message, in the order they were queued. Read file then message,
as a single post reads: every line once, and a stream's order holds.

A post is mergeable when its body carries `merge` (what `SlackDelivery` writes for a `Reply` with
`log`): {"title", "text" (every line, plain), "filename"}; the overflow file queued right behind
it carries `merge_part`: an earlier post's is dropped (its post's text holds those lines), the
newest's ends the merged file.
Pure: records in, records out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from bot.slack.blocks import MAX_BLOCKS, context
from bot.text import Mrkdwn

Record = dict[str, Any]
# A merged file stays well inside what the outbox and the queue hold once compressed (log text
# compresses ~10x), and what a reader opens; the rest of a long backlog is the next run.
MAX_MERGED_TEXT = 2_000_000


def mergeable(record: Record) -> bool:
    return record.get("kind") == "post" and "merge" in record.get("body", {})


def _place(record: Record) -> tuple[str, str]:
    return record.get("channel", ""), str(record["body"].get("thread_key") or "")


def run_length(records: Sequence[Record]) -> int:
    """How many records from the first one form one merged post: the first mergeable post, the
    posts and overflow files right behind it for the same place, up to MAX_MERGED_TEXT of lines.
    1 when there is nothing to merge it with."""
    if not records or not mergeable(records[0]):
        return 1
    place, size, end, posts = _place(records[0]), 0, 0, 0
    for i, record in enumerate(records):
        if record.get("kind") == "upload" and record["body"].get("merge_part") and i > 0:
            end = i + 1
            continue
        if not mergeable(record) or _place(record) != place:
            break
        size += len(record["body"]["merge"]["text"])
        if posts and size > MAX_MERGED_TEXT:
            break
        posts, end = posts + 1, i + 1
    return end if posts > 1 else 1


def merge(records: Sequence[Record]) -> list[Record]:
    """A run (see `run_length`) as one post and one upload, or the records as they are."""
    posts = [r for r in records if mergeable(r)]
    if len(posts) < 2:
        return list(records)
    newest = posts[-1]
    info = newest["body"]["merge"]
    overflow = [r for r in records[records.index(newest) :] if r.get("kind") == "upload"]
    text = "\n\n".join([*(p["body"]["merge"]["text"] for p in posts[:-1]), *(_content(upload) for upload in overflow)])
    filename = str(info["filename"])
    note = context(
        Mrkdwn("_{} log posts queued for this channel at once, merged: the earlier lines are in {}._").format(
            len(posts), filename
        )
    )
    blocks = list(newest["body"].get("blocks", []))[: MAX_BLOCKS - 1]
    body = {
        **newest["body"],
        "text": f"{newest['body'].get('text', '')} (and {len(posts) - 1} earlier posts, in {Mrkdwn.escape(filename)})",
        "blocks": [*blocks, note],
        # Every line, so that this post merged again later loses none of what its message shows.
        "merge": {
            "title": info["title"],
            "text": "\n\n".join(p["body"]["merge"]["text"] for p in posts),
            "filename": filename,
        },
    }
    upload = {
        "filename": filename,
        "title": f"{info['title']}: {len(posts)} posts",
        "content": base64.b64encode(text.encode()).decode(),
        "thread_key": newest["body"].get("thread_key", ""),
        "merge_part": True,
    }
    first = records[0]
    shared = {
        "queued_at": min(r["queued_at"] for r in records),
        "deadline": max(r["deadline"] for r in records),
        "attempts": 0,
        "next_at": 0.0,
    }
    return [
        {**first, **shared, "kind": "post", "body": body, "merged": len(posts)},
        {**first, **shared, "kind": "upload", "body": upload, "merged": len(posts)},
    ]


def _content(upload: Record) -> str:
    return base64.b64decode(upload["body"]["content"]).decode(errors="replace")
