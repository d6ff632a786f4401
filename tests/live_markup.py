"""The one check every escaping test makes on what reaches Slack: nothing from outside is live.

Slack turns `<!channel>`, `<!here>`, `<@U…>`, `<#C…>`, `<!subteam^…>` and `<url|label>` into pings and
links wherever mrkdwn is read, and a ``` anywhere opens or closes a code block. Escaped text has no
`<` at all, so any `<` in a payload is live markup; the only ones allowed are those a test names (the
caller's own `<@U…>`, which the code writes on purpose). A fence the code makes is exactly three
backticks at the start or end of a line, and they pair up in every text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

FENCE_RUN = re.compile("`{3,}")

# What the property tests send: every kind of live markup, fences, Slack's escapes, bidi and
# zero-width characters, non-ASCII, and the piece that makes a string 10 kB.
HOSTILE_PIECES = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C0123>",
    "<!subteam^S1>",
    "<https://evil.example|label>",
    "<mailto:a@evil.example|mail>",
    "```",
    "`",
    "&",
    "&lt;",
    "<",
    ">",
    "*bold*",
    "\u202e",
    "\u200b",
    "Ünïcødé 日本語 🚀",
    "x" * 10_000,
)


def strings(value: Any) -> Iterator[str]:
    """Every string in a payload, at any depth (keys too: a stand-in records what it was sent)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def live_markup(text: str, allowed: Iterable[str] = ()) -> str | None:
    """What is wrong with one text Slack will read, or None."""
    rest = text
    for ok in allowed:
        rest = rest.replace(ok, "")
    if "<" in rest:
        at = rest.index("<")
        return f"live markup {rest[at : at + 40]!r}"
    runs = list(FENCE_RUN.finditer(text))
    if any(run.group() != "```" for run in runs):
        return "a run of more than three backticks"
    if len(runs) % 2:
        return "an unbalanced ``` fence"
    for run in runs:
        at_start = run.start() == 0 or text[run.start() - 1] == "\n"
        at_end = run.end() == len(text) or text[run.end()] == "\n"
        if not (at_start or at_end):
            return f"a ``` inside a line: {text[max(0, run.start() - 20) : run.end() + 20]!r}"
    return None


def assert_inert(payloads: Any, allowed: Iterable[str] = ()) -> None:
    """Every string of `payloads` (a Reply's parts, the stand-in's recorded calls) is inert."""
    allowed = tuple(allowed)
    for text in strings(payloads):
        wrong = live_markup(text, allowed)
        assert wrong is None, f"{wrong} in {text[:300]!r}"


def reply_payload(reply: Any) -> list[Any]:
    """The parts of a Reply that become the Slack payload: text, blocks, attachments, file titles."""
    return [reply.text, reply.blocks, reply.attachments, [f.title for f in reply.files]]
