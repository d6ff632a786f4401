"""/tail's words: a function or log group, the shared flags, and `stop`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.args import REGION, BadValue, Flag, Syntax, number_flag, parse_args, since_flag, split_verb
from bot.command import UsageError
from bot.text import shown

DEFAULT_SINCE = timedelta(minutes=15)
DEFAULT_LIMIT = 2_000
MAX_LIMIT = 10_000
MAX_FOLLOW = timedelta(minutes=30)

# CloudWatch's own rules: a log group name is 1-512 of these; a Lambda function name 1-64.
LOG_GROUP = re.compile(r"[A-Za-z0-9._/#-]{1,512}")
_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FOLLOW = re.compile(r"([0-9]{1,4})([sm])", re.ASCII | re.IGNORECASE)
_MAX_PATTERN = 1024


def _pattern(word: str) -> str:
    if len(word) > _MAX_PATTERN:
        raise BadValue(f"CloudWatch takes at most {_MAX_PATTERN} characters.")
    return word


def _follow(word: str) -> timedelta:
    found = _FOLLOW.fullmatch(word)
    if not found:
        raise BadValue()
    span = timedelta(seconds=int(found[1]) * (60 if found[2].lower() == "m" else 1))
    if not timedelta(seconds=10) <= span <= MAX_FOLLOW:
        raise BadValue("Give 10s to 30m.")
    return span


FILTER = Flag("--filter", "a CloudWatch Logs filter pattern, such as ERROR", _pattern, phrase=True)
LIMIT = number_flag("--limit", 1, MAX_LIMIT)
FOLLOW = Flag("--follow", "a time such as 90s or 5m", _follow)


@dataclass(frozen=True)
class TailRequest:
    log_group: str
    since: datetime
    filter_pattern: str | None = None
    limit: int = DEFAULT_LIMIT
    region: str | None = None
    follow: timedelta | None = None

    @property
    def function(self) -> str | None:
        """The Lambda function the log group belongs to, if it is one's."""
        name = self.log_group.removeprefix("/aws/lambda/")
        return name if name != self.log_group else None


@dataclass(frozen=True)
class StopFollows:
    pass


def log_group_of(word: str) -> str:
    """A bare function name means its Lambda log group; anything with a slash is a log group."""
    if "/" in word:
        if not LOG_GROUP.fullmatch(word):
            raise UsageError(f"{shown(word, first=True)} is not a CloudWatch Logs group name.")
        return word
    if not _FUNCTION.fullmatch(word):
        raise UsageError(f"{shown(word, first=True)} is not a Lambda function name (or a log group with a `/`).")
    return f"/aws/lambda/{word}"


def parse(text: str, tz: tzinfo, now: datetime) -> TailRequest | StopFollows:
    verb, rest = split_verb(text, "stop")
    if verb == "stop":
        parse_args(rest, Syntax(extra_word="`stop` takes nothing more"))
        return StopFollows()
    since = since_flag(tz, now)
    syntax = Syntax((since, FILTER, LIMIT, FOLLOW, REGION), words=1, extra_word="give one function or log group")
    args = parse_args(text, syntax)
    if not args.words:
        raise UsageError("Name a Lambda function or a log group.")
    return TailRequest(
        log_group=log_group_of(args.words[0]),
        since=args.get(since, now - DEFAULT_SINCE),
        filter_pattern=args.get(FILTER),
        limit=args.get(LIMIT, DEFAULT_LIMIT),
        region=args.get(REGION),
        follow=args.get(FOLLOW),
    )
