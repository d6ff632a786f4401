"""Rendered text lines packed into Slack-sized chunks, fences balanced, nothing silently cut.

A section's text holds at most 3,000 characters, a message 50 blocks, and Slack refuses messages
much over ~13k characters in all (undocumented). So lines are packed greedily by measured
length; a chunk that ends inside a code fence is closed and the next one reopens it, so every
chunk renders on its own; only a line longer than a whole chunk is split mid-line, and its
pieces end with `CONTINUED`. What does not fit in one message is returned as `overflow`, for a
thread reply or a file upload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.text import Mrkdwn

FENCE = "```"
CONTINUED = "↩"  # ends each piece of a line split because it alone exceeds a chunk
SECTION_BUDGET = 3_000
MAX_CHUNKS = 50  # blocks in a message
MESSAGE_BUDGET = 12_000  # safely under the ~13k characters Slack accepts in one message

_REOPEN = FENCE + "\n"
_CLOSE = "\n" + FENCE
_MIN_BUDGET = len(_REOPEN) + len(_CLOSE) + len(CONTINUED) + len(FENCE)


@dataclass(frozen=True)
class Chunk:
    body: tuple[str, ...]  # the lines as given (or pieces of one, ending in CONTINUED)
    reopens_fence: bool  # starts inside a fence opened in an earlier chunk
    closes_fence: bool  # ends inside a fence, closed here and reopened in the next chunk

    @property
    def text(self) -> Mrkdwn:
        # The lines are mrkdwn the caller escaped; a cut keeps its fences as they were.
        text = (_REOPEN if self.reopens_fence else "") + "\n".join(self.body) + (_CLOSE if self.closes_fence else "")
        return Mrkdwn(text)


@dataclass(frozen=True)
class Packed:
    chunks: list[Chunk]  # the first message's
    overflow: list[Chunk]  # the rest, in order: for the thread or a file; empty when all fit

    @property
    def texts(self) -> list[str]:
        return [chunk.text for chunk in self.chunks]


def pack_lines(
    lines: Sequence[str],
    *,
    budget: int = SECTION_BUDGET,
    max_chunks: int = MAX_CHUNKS,
    message_budget: int = MESSAGE_BUDGET,
) -> Packed:
    """`lines` as chunks of at most `budget` characters; the first message's, then the overflow."""
    chunks = chunk_lines(lines, budget=budget)
    count, total = 0, 0
    for chunk in chunks:
        size = len(chunk.text)
        if count == max_chunks or (count and total + size > message_budget):
            break
        count, total = count + 1, total + size
    return Packed(chunks[:count], chunks[count:])


def chunk_lines(lines: Sequence[str], *, budget: int = SECTION_BUDGET) -> list[Chunk]:
    """Every line in order, in chunks whose `text` is at most `budget` characters."""
    if budget < _MIN_BUDGET:
        raise ValueError(f"budget must be at least {_MIN_BUDGET} characters")
    chunks: list[Chunk] = []
    body: list[str] = []
    size = 0  # len("\n".join(body))
    reopens = inside = False  # fence state at the chunk's start, and after its last line

    def flush() -> None:
        nonlocal body, size, reopens
        chunks.append(Chunk(tuple(body), reopens, inside))
        body, size, reopens = [], 0, inside

    # A line still to place, from an offset: cutting a 1 MB line into pieces then copies and counts
    # each piece once, not the rest of the line again at every cut.
    pending = [(line, 0) for line in reversed(lines)]
    while pending:
        line, start = pending.pop()
        grown = size + (1 if body else 0) + len(line) - start
        if grown <= budget:
            rest = line[start:] if start else line
            after = inside ^ _toggles(rest)
            if grown + _overhead(reopens, after) <= budget:
                body.append(rest)
                size, inside = grown, after
                continue
        if body:
            flush()
            pending.append((line, start))
            continue
        # Alone it does not fit: cut it, and shorter again if the piece ends inside a fence
        # that must then be closed. No cut reaches past `budget`, so only that much is looked at.
        window = line[start : start + budget]
        cut = _safe_cut(window, budget - _overhead(reopens, False) - len(CONTINUED))
        if inside ^ _toggles(window[:cut]):
            cut = _safe_cut(window, budget - _overhead(reopens, True) - len(CONTINUED))
        piece = window[:cut]
        body.append(piece + CONTINUED)
        inside ^= _toggles(piece)
        flush()
        pending.append((line, start + cut))
    if body:
        flush()
    return chunks


def _toggles(text: str) -> bool:
    # Slack's mrkdwn opens or closes a code block at each ``` wherever it stands.
    return text.count(FENCE) % 2 == 1


def _overhead(reopens: bool, ends_inside: bool) -> int:
    return (len(_REOPEN) if reopens else 0) + (len(_CLOSE) if ends_inside else 0)


def _safe_cut(line: str, limit: int) -> int:
    """A cut at most `limit` that keeps the count of ``` in the two halves what it was whole."""
    if limit >= len(line):
        return len(line)
    start = limit
    while start > 0 and line[start - 1] == "`":
        start -= 1
    if start == limit or line[limit] != "`":
        return limit
    # Inside a run of backticks: cut at a multiple of three from the run's start.
    return start + (limit - start) // 3 * 3 or limit
