"""Words shared by every command: plurals, Slack mrkdwn as a type, and echoing what a user typed.

`Mrkdwn` is text that may go to Slack, as markupsafe's `Markup` is HTML that may go to a browser:
made only by escaping (`Mrkdwn.escape`) or from the code's own literals (`Mrkdwn("...")`), and every
operation that mixes it with a plain `str` escapes the `str`. The block builders, `Reply` and the
delivery escape whatever is not `Mrkdwn`, so a forgotten escape shows `&lt;!channel&gt;`, never pings.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, SupportsIndex

ZWSP = "\u200b"
# A backtick of outside text that touches another backtick: the zero-width space goes between them,
# so outside text can never make the ``` that opens or closes a code block (nor a longer run). A
# look-alike (U+02CB, U+FF40) would change what a reader copies out of a log line; a zero-width
# space only adds an invisible character, and the terminal drops it again (`unescape`).
_TOUCHING_BACKTICK = re.compile("`(?=`)")
_INSERTED_ZWSP = re.compile(f"{ZWSP}(?=`)|(?<=`){ZWSP}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def _unfence(text: str) -> str:
    """No two backticks of `text` touch, and none touches a backtick put before or after it."""
    text = _TOUCHING_BACKTICK.sub("`" + ZWSP, text)
    if text.startswith("`"):
        text = ZWSP + text
    if text.endswith("`"):
        text += ZWSP
    return text


class Mrkdwn(str):
    """Text safe to send to Slack as mrkdwn. `Mrkdwn("literal")` trusts its argument: only for the
    code's own words (a `*bold*`, an `<@U…>` the code checked, a fence the builders make);
    anything from outside goes through `Mrkdwn.escape`, `+`, `%`, `format` or `join`."""

    __slots__ = ()

    @classmethod
    def escape(cls, text: object) -> Mrkdwn:
        """Slack's three escapes (https://api.slack.com/reference/surfaces/formatting#escaping), and no
        backtick left touching another; a `Mrkdwn` comes back as it is."""
        if isinstance(text, Mrkdwn):
            return text
        raw = str(text)
        return cls(_unfence(raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")))

    def __add__(self, other: str) -> Mrkdwn:
        if not isinstance(other, str):
            return NotImplemented
        return Mrkdwn(str.__add__(self, Mrkdwn.escape(other)))

    def __radd__(self, other: str) -> Mrkdwn:
        if not isinstance(other, str):
            return NotImplemented
        return Mrkdwn(str.__add__(Mrkdwn.escape(other), self))

    def __mod__(self, args: Any) -> Mrkdwn:
        if isinstance(args, tuple):
            args = tuple(_escaped_arg(a) for a in args)
        elif isinstance(args, Mapping):
            args = {k: _escaped_arg(v) for k, v in args.items()}
        else:
            args = _escaped_arg(args)
        return Mrkdwn(str.__mod__(self, args))

    def format(self, *args: object, **kwargs: object) -> Mrkdwn:
        return Mrkdwn(_FORMATTER.vformat(self, args, kwargs))

    def join(self, parts: Iterable[str]) -> Mrkdwn:
        return Mrkdwn(str.join(self, (Mrkdwn.escape(p) for p in parts)))

    def splitlines(self, keepends: bool = False) -> list[Mrkdwn]:  # type: ignore[override]
        return [Mrkdwn(line) for line in str.splitlines(self, keepends)]

    def strip(self, chars: str | None = None) -> Mrkdwn:
        return Mrkdwn(str.strip(self, chars))

    def __mul__(self, count: SupportsIndex) -> Mrkdwn:
        return Mrkdwn(str.__mul__(self, count))

    def __repr__(self) -> str:
        return f"Mrkdwn({str.__repr__(self)})"


EMPTY = Mrkdwn("")


def _escaped_arg(value: object) -> object:
    """A %-argument: text is escaped, numbers stay numbers (so %d and %.1f work)."""
    return Mrkdwn.escape(value) if isinstance(value, str) or not isinstance(value, int | float) else value


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        formatted = format(value, format_spec)
        return formatted if isinstance(value, Mrkdwn) else Mrkdwn.escape(formatted)


_FORMATTER = _EscapingFormatter()


def escape_mrkdwn(text: str) -> Mrkdwn:
    """Outside text as mrkdwn: `Mrkdwn.escape`, kept under its old name."""
    return Mrkdwn.escape(text)


def unescape(text: str) -> str:
    """Mrkdwn back to what a reader sees, for a terminal: the three escapes undone, and the zero-width
    spaces `escape` put between backticks dropped."""
    text = _INSERTED_ZWSP.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fenced(lines: Iterable[str]) -> Mrkdwn:
    """Lines in one code block: the only way to make one (bot.slack.blocks.code_sections uses it).
    Whatever the lines hold, they cannot close the block early: even a `Mrkdwn` line's backticks
    are kept apart, and outside text is escaped first."""
    body = "\n".join(Mrkdwn.escape(line) for line in lines)
    return Mrkdwn("```" + _unfence(body) + "```")


def user_mention(user_id: str) -> Mrkdwn:
    """`<@U123>` for a Slack user id; anything that is not one is shown, escaped, not linked."""
    return Mrkdwn(f"<@{user_id}>") if _USER_ID.fullmatch(user_id) else Mrkdwn.escape(user_id)


def clip(text: Mrkdwn, limit: int) -> Mrkdwn:
    """At most `limit` characters, ending in "…" when cut; never inside an escape (`&am…`) or a
    `<…>` the code made, so the cut cannot show half of one."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    amp, semi = text.rfind("&", 0, cut), text.rfind(";", 0, cut)
    if amp > semi and cut - amp < len("&amp;"):
        cut = amp
    opened, closed = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if opened > closed:
        cut = opened
    return Mrkdwn(text[:cut] + "…")


def plural(count: int, noun: str) -> str:
    """`1 instance`, `3 instances`, `1,024 versions`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# What may be echoed between backticks: printable ASCII that neither formats nor links in mrkdwn.
ECHO_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset("`<>&*_~")


def shown(word: str, *, first: bool = False) -> Mrkdwn:
    """A word the user typed, safe to echo into Slack and a terminal: quoted, or described.

    The only way user text goes back out: nothing typed can mention (`<!channel>`), link or format.
    `first`: the description starts a sentence ("A word with …").
    """
    if word and len(word) <= 60 and set(word) <= ECHO_SAFE:
        return Mrkdwn(f"`{word}`")
    odd = next((c for c in word if c not in ECHO_SAFE), None)
    return Mrkdwn(f"{'A' if first else 'a'} {f'word with {char_name(odd)}' if odd else f'{len(word)}-character word'}")


def char_name(c: str) -> str:
    """`';' (U+003B SEMICOLON)`, or only the code point and name for what cannot be echoed."""
    code = f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip()
    return f"'{c}' ({code})" if c in ECHO_SAFE else code
