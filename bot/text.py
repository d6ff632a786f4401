"""Words shared by every command: plurals, escaping for Slack's mrkdwn, and echoing what a user typed."""

from __future__ import annotations

import unicodedata


def plural(count: int, noun: str) -> str:
    """`1 instance`, `3 instances`, `1,024 versions`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def escape_mrkdwn(text: str) -> str:
    """Slack's three escapes (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What may be echoed between backticks: printable ASCII that neither formats nor links in mrkdwn.
ECHO_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset("`<>&*_~")


def shown(word: str, *, first: bool = False) -> str:
    """A word the user typed, safe to echo into Slack and a terminal: quoted, or described.

    The only way user text goes back out: nothing typed can mention (`<!channel>`), link or format.
    `first`: the description starts a sentence ("A word with …").
    """
    if word and len(word) <= 60 and set(word) <= ECHO_SAFE:
        return f"`{word}`"
    odd = next((c for c in word if c not in ECHO_SAFE), None)
    return f"{'A' if first else 'a'} {f'word with {char_name(odd)}' if odd else f'{len(word)}-character word'}"


def char_name(c: str) -> str:
    """`';' (U+003B SEMICOLON)`, or only the code point and name for what cannot be echoed."""
    code = f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip()
    return f"'{c}' ({code})" if c in ECHO_SAFE else code
