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
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")


def _apart(text: str) -> str:
    """No two backticks of `text` touch."""
    return _TOUCHING_BACKTICK.sub("`" + ZWSP, text)


def _unfence(text: str) -> str:
    """No two backticks of `text` touch, and none touches a backtick put before or after it."""
    return _joined([("`", False), (_apart(text), True), ("`", False)])[1:-1]


def _joined(pieces: Iterable[tuple[str, bool]]) -> str:
    """The pieces end to end; where a piece from outside (True) meets another with a backtick on each
    side, a zero-width space between them, so no two pieces make a ``` together."""
    out: list[str] = []
    last, last_outside = "", False
    for text, outside in pieces:
        if text and last.endswith("`") and text.startswith("`") and (outside or last_outside):
            out.append(ZWSP)
        if text:
            out.append(text)
            last, last_outside = text, outside
    return "".join(out)


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
        return cls(_apart(raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")))

    def __add__(self, other: str) -> Mrkdwn:
        if not isinstance(other, str):
            return NotImplemented
        return Mrkdwn(_joined([(self, False), _piece(other)]))

    def __radd__(self, other: str) -> Mrkdwn:
        if not isinstance(other, str):
            return NotImplemented
        return Mrkdwn(_joined([_piece(other), (self, False)]))

    def __mod__(self, args: Any) -> Mrkdwn:
        if isinstance(args, tuple):
            args = tuple(_escaped_arg(a) for a in args)
        elif isinstance(args, Mapping):
            args = {k: _escaped_arg(v) for k, v in args.items()}
        else:
            args = _escaped_arg(args)
        return Mrkdwn(str.__mod__(self, args))

    def format(self, *args: object, **kwargs: object) -> Mrkdwn:
        """str.format with every argument that is not `Mrkdwn` escaped after its format spec is applied
        (so `{:>8}` and `{:,}` work), and kept from making a ``` with the template's backticks."""
        pieces: list[tuple[str, bool]] = []
        auto = 0
        for literal, field, spec, conversion in _FORMATTER.parse(self):
            pieces.append((literal, False))
            if field is None:
                continue
            if field == "":
                field, auto = str(auto), auto + 1
            value, _ = _FORMATTER.get_field(field, args, kwargs)
            value = _FORMATTER.convert_field(value, conversion)
            text = format(value, spec or "")
            pieces.append((text, False) if isinstance(value, Mrkdwn) else _piece(text))
        return Mrkdwn(_joined(pieces))

    def join(self, parts: Iterable[str]) -> Mrkdwn:
        pieces: list[tuple[str, bool]] = []
        for i, part in enumerate(parts):
            pieces += [(self, False), _piece(part)] if i else [_piece(part)]
        return Mrkdwn(_joined(pieces))

    def splitlines(self, keepends: bool = False) -> list[Mrkdwn]:  # type: ignore[override]
        return [Mrkdwn(line) for line in str.splitlines(self, keepends)]

    def strip(self, chars: str | None = None) -> Mrkdwn:
        return Mrkdwn(str.strip(self, chars))

    def __mul__(self, count: SupportsIndex) -> Mrkdwn:
        return Mrkdwn(str.__mul__(self, count))

    def __repr__(self) -> str:
        return f"Mrkdwn({str.__repr__(self)})"


EMPTY = Mrkdwn("")


def _piece(text: str) -> tuple[str, bool]:
    """A piece to join: a `Mrkdwn` as it is, anything else escaped and marked as from outside."""
    return (text, False) if isinstance(text, Mrkdwn) else (Mrkdwn.escape(text), True)


def _escaped_arg(value: object) -> object:
    """A %-argument: text is escaped (and kept off the template's backticks), numbers stay numbers."""
    if isinstance(value, int | float) and not isinstance(value, str):
        return value
    if isinstance(value, Mrkdwn):
        return value
    text = Mrkdwn.escape(value)
    return Mrkdwn(ZWSP * text.startswith("`") + text + ZWSP * text.endswith("`"))


_FORMATTER = string.Formatter()


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


def channel_mention(channel_id: str) -> Mrkdwn:
    """`<#C123>` for a Slack channel id; anything that is not one is shown, escaped, not linked."""
    return Mrkdwn(f"<#{channel_id}>") if _CHANNEL_ID.fullmatch(channel_id) else Mrkdwn.escape(channel_id)


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
