"""What every slash command's text means: one tokenizer, declared flags, typed values, one style of complaint.

Slack text is not shell: no quoting, it is whitespace-split and every word checked (a `phrase`
flag takes the words up to the next flag). A command
declares a `Syntax` (its flags and how many positional words it takes); `parse_args` returns the
words and the flags' checked values, or raises one `UsageError` that names the flag and echoes
the offending word only through `shown()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from typing import Any, Generic, TypeVar, overload

import botocore.exceptions
import botocore.session

from bot.command import UsageError
from bot.text import shown

T = TypeVar("T")
D = TypeVar("D")

_DASHES = ("\u2013", "\u2014")  # Slack and macOS turn a typed "--" into an en or em dash
_NOT_AN_OPTION = re.compile(r"-[0-9]*")  # "-1" is a (bad) number the command explains, not an option
# int() of thousands of digits is slow, and past 4,300 refused: no count here needs more digits.
_MAX_DIGITS = 12


class BadValue(ValueError):
    """A flag's value is wrong. A message, if any, is a sentence said after the flag's complaint."""


@dataclass(frozen=True)
class Flag(Generic[T]):
    name: str  # "--region", lower case
    takes: str = ""  # what the value is, for the complaint: "a whole number from 1 to 100"; "" for a switch
    check: Callable[[str], T] | None = None  # the value's type and range, raising BadValue; None: a switch
    # The value is every word up to the next `--flag` (a CloudWatch pattern such as `{ $.level = "ERROR" }`).
    phrase: bool = False

    def read(self, raw: str) -> T:
        """The checked value of `raw`, or the complaint every command words the same way."""
        assert self.check is not None, f"{self.name} is a switch"
        if not raw:
            raise UsageError(f"`{self.name}` needs {self.takes}.")
        try:
            return self.check(raw)
        except BadValue as bad:
            more = f" {bad}" if str(bad) else ""
            raise UsageError(f"`{self.name}` takes {self.takes}, not {shown(raw)}.{more}") from None


def switch(name: str) -> Flag[bool]:
    return Flag(name)


@dataclass(frozen=True)
class Syntax:
    """What a command (or one verb of it) accepts."""

    flags: tuple[Flag[Any], ...] = ()
    words: int = 0  # at most this many positional words
    extra_word: str = ""  # said after "`w` was not expected:" when there are more words
    # The command's verbs, when this syntax reads the text without one: a mistyped verb is an extra word.
    verbs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Args:
    words: tuple[str, ...]  # the positional words, as typed
    values: Mapping[str, object]  # flag name -> checked value (True for a switch)

    @overload
    def get(self, flag: Flag[T]) -> T | None: ...
    @overload
    def get(self, flag: Flag[T], default: D) -> T | D: ...
    def get(self, flag: Flag[T], default: object = None) -> object:
        return self.values.get(flag.name, default)

    def has(self, flag: Flag[Any]) -> bool:
        return flag.name in self.values


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.8) -> str:
    """` Did you mean `x`?` for the choice nearest a mistyped word, or "": the one place suggestions are made."""
    if not word or len(word) > 60:  # difflib is quadratic: a pasted paragraph is no typo
        return ""
    import difflib  # only for a mistyped word: a Lambda cold start never loads it

    nearest = difflib.get_close_matches(word.lower(), sorted(choices), n=1, cutoff=cutoff)
    return f" Did you mean `{nearest[0]}`?" if nearest else ""


def split_verb(text: str, *verbs: str) -> tuple[str, str]:
    """The verb the text starts with, lower case ("" if none of `verbs`), and the rest of the text."""
    first, *rest = text.split(maxsplit=1) or [""]
    if first.lower() in verbs:
        return first.lower(), "".join(rest)
    return "", text


def parse_args(text: str, syntax: Syntax) -> Args:
    """Flags anywhere, `--flag=value` or `--flag value`, names in any case; each flag at most once."""
    flags = {flag.name: flag for flag in syntax.flags}
    words: list[str] = []
    values: dict[str, object] = {}
    typed = [("--" + word[1:]) if word.startswith(_DASHES) else word for word in text.split()]
    at = 0
    while at < len(typed):
        word = typed[at]
        at += 1
        if not word.startswith("-") or _NOT_AN_OPTION.fullmatch(word):
            words.append(word)
            continue
        name, eq, value = word.partition("=")
        name = name.lower()
        flag = flags.get(name)
        if flag is None:
            raise UsageError(f"{shown(name, first=True)} is not an option here.{did_you_mean(name, flags)}")
        if name in values:
            raise UsageError(f"Give `{name}` once.")
        if flag.check is None and eq:
            raise UsageError(f"`{name}` takes no value.")
        if flag.check is None:
            values[name] = True
            continue
        parts = [value] if eq else []
        if not eq and at < len(typed) and not (flag.phrase and typed[at].startswith("--")):
            parts, at = [typed[at]], at + 1
        while flag.phrase and at < len(typed) and not typed[at].startswith("--"):
            parts, at = [*parts, typed[at]], at + 1
        values[name] = flag.read(" ".join(parts))
    if len(words) > syntax.words:
        extra = words[syntax.words]
        verb = "" if syntax.words else did_you_mean(extra, syntax.verbs)  # a verb comes first
        raise UsageError(f"{shown(extra, first=True)} was not expected: {syntax.extra_word}.{verb}")
    return Args(tuple(words), values)


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def check(word: str) -> int:
        if not (word.isascii() and word.isdigit()) or len(word) > _MAX_DIGITS or not low <= int(word) <= high:
            raise BadValue()  # isascii: str.isdigit() alone takes "²" and "５", which int() refuses or misreads
        return int(word)

    return check


def number_flag(name: str, low: int, high: int) -> Flag[int]:
    return Flag(name, f"a whole number from {low} to {high}", whole_number(low, high))


@cache
def known_regions() -> frozenset[str]:
    """Every region this botocore knows, in every partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc…)."""
    session = botocore.session.get_session()
    regions = {region for partition in session.get_data("endpoints")["partitions"] for region in partition["regions"]}
    try:  # newer botocore also lists regions here before their endpoints are
        partitions = session.get_data("partitions")["partitions"]
    except botocore.exceptions.DataNotFoundError:
        partitions = []
    for partition in partitions:  # regionRegex leaves out pseudo-regions such as aws-global
        pattern = re.compile(partition["regionRegex"])
        regions.update(region for region in partition["regions"] if pattern.match(region))
    return frozenset(regions)


def known_region(word: str) -> str:
    region = word.lower()
    if region in known_regions():
        return region
    raise BadValue(did_you_mean(region, known_regions(), cutoff=0.6).lstrip())


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
# What Slack sends for "@jane" when the manifest sets should_escape: <@U0123|jane>, or <@U0123> (newer clients).
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>")


def slack_user(text: str) -> str | None:
    """The user id in a mention as Slack sends it (`<@U0123|jane>`, `<@U0123>`) or a bare id; None otherwise."""
    found = _MENTION.fullmatch(text)
    if found:
        return found[1]
    return text if _USER_ID.fullmatch(text) else None


REGION = Flag("--region", "an AWS region such as eu-west-1", known_region)
ALL_REGIONS = switch("--all-regions")
TOP = number_flag("--top", 1, 100)

_AGO = re.compile(r"([0-9]{1,6})([smhd])", re.ASCII | re.IGNORECASE)  # ASCII: "ſ" folds to "s" otherwise
_UNITS = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_LOOKBACK = timedelta(days=3653)  # CloudWatch Logs keeps events at most ten years


def moment(word: str, tz: tzinfo, now: datetime) -> datetime:
    """`15m`, `30s`, `2h`, `1d` before `now`, or an ISO time; one without an offset is in `tz`."""
    ago = _AGO.fullmatch(word)
    if ago:
        span = int(ago[1]) * _UNITS[ago[2].lower()]
        if not span or span > MAX_LOOKBACK:
            raise BadValue("Give at most ten years." if span else "")
        return now - span
    if not word.isascii() or len(word) > 40:
        raise BadValue()
    try:
        when = datetime.fromisoformat(word)
    except ValueError:
        raise BadValue() from None
    when = when if when.tzinfo else when.replace(tzinfo=tz)
    if when > now:
        raise BadValue("That is in the future.")
    if now - when > MAX_LOOKBACK:
        raise BadValue("Give at most ten years.")
    return when


def since_flag(tz: tzinfo, now: datetime) -> Flag[datetime]:
    """`--since`: a moment read against the bot's time zone (OPSBOT_TIMEZONE) and the request's `now`."""
    return Flag("--since", "a time such as 15m, 2h, 1d or 2024-05-01T09:00", lambda word: moment(word, tz, now))
