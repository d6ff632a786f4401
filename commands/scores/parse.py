"""/scores's words: which verb, which game, which flags; every bad word a UsageError."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.args import BadValue, Flag, Syntax, number_flag, parse_args, since_flag, split_verb, switch
from bot.command import UsageError
from bot.text import ECHO_SAFE, shown
from commands.scores.history import GAME_NAME
from commands.scores.options import MIN_EVERY

_SPAN = re.compile(r"([0-9]{1,5})([smh])", re.ASCII | re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600}
_LINK = re.compile(r"<([^<>|]+)(\|[^<>]*)?>")  # Slack sends a pasted URL as <url> or <url|label>
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
MAX_LABEL = 60


def game_name(word: str) -> str:
    if not GAME_NAME.fullmatch(word):
        raise BadValue("A game name is up to 40 letters, digits, `.`, `_` or `-`.")
    return word


def span(low: float, high: float) -> Flag[float]:
    def check(word: str) -> float:
        found = _SPAN.fullmatch(word)
        seconds = int(found[1]) * _UNIT[found[2].lower()] if found else -1
        if not low <= seconds <= high:
            raise BadValue()
        return float(seconds)

    return Flag("--every", f"a time from {low:g}s to {high / 60:g}m such as 30s or 2m", check)


EVERY = span(MIN_EVERY, 3600)
NAME_FLAG = Flag("--name", "a game name", game_name)
GAME_FLAG = Flag("--game", "a game name", game_name)
ALL = switch("--all")
RANK = switch("--rank")
TOP = number_flag("--top", 1, 50)


@dataclass(frozen=True)
class ShowBoard:
    game: str | None
    all: bool = False


@dataclass(frozen=True)
class DrawChart:
    game: str | None
    since: datetime | None = None
    top: int = 20
    rank: bool = False


@dataclass(frozen=True)
class StartPolling:
    url: str
    every: float
    name: str | None


@dataclass(frozen=True)
class StopPolling:
    game: str | None


@dataclass(frozen=True)
class AddMark:
    label: str
    game: str | None


@dataclass(frozen=True)
class ExportHistory:
    game: str | None


@dataclass(frozen=True)
class ArchiveGame:
    game: str | None


@dataclass(frozen=True)
class SetFreeze:
    at: datetime | None  # None: lift the freeze
    game: str | None


ScoresRequest = ShowBoard | DrawChart | StartPolling | StopPolling | AddMark | ExportHistory | ArchiveGame | SetFreeze


def _one_game(words: tuple[str, ...]) -> str | None:
    if words and not GAME_NAME.fullmatch(words[0]):
        raise UsageError(f"{shown(words[0], first=True)} is not a game name (up to 40 letters, digits, . _ -).")
    return words[0] if words else None


def parse(text: str, tz: tzinfo, now: datetime) -> ScoresRequest:
    verb, rest = split_verb(text, "chart", "start", "stop", "mark", "export", "archive", "freeze")
    if verb == "chart":
        since = since_flag(tz, now)
        args = parse_args(rest, Syntax((since, TOP, RANK), words=1, extra_word="chart takes at most one game"))
        return DrawChart(_one_game(args.words), args.get(since), args.get(TOP, 20), args.has(RANK))
    if verb == "start":
        args = parse_args(rest, Syntax((EVERY, NAME_FLAG), words=1, extra_word="start takes one URL"))
        if not args.words:
            raise UsageError("`/scores start` needs the scoreboard's URL.")
        return StartPolling(scoreboard_url(args.words[0]), args.get(EVERY, 30.0), args.get(NAME_FLAG))
    if verb in ("stop", "export", "archive"):
        args = parse_args(rest, Syntax(words=1, extra_word=f"{verb} takes at most one game"))
        game = _one_game(args.words)
        return StopPolling(game) if verb == "stop" else ExportHistory(game) if verb == "export" else ArchiveGame(game)
    if verb == "mark":
        args = parse_args(rest, Syntax((GAME_FLAG,), words=20, extra_word="a mark is a few words"))
        return AddMark(mark_label(" ".join(args.words)), args.get(GAME_FLAG))
    if verb == "freeze":
        args = parse_args(rest, Syntax((GAME_FLAG,), words=2, extra_word="freeze takes one time"))
        if not args.words:
            raise UsageError("`/scores freeze` needs a time: `18:00`, `in 30m`, an ISO time, or `off`.")
        return SetFreeze(freeze_moment(" ".join(args.words), tz, now), args.get(GAME_FLAG))
    args = parse_args(text, Syntax((ALL,), words=1, extra_word="give at most one game"))
    return ShowBoard(_one_game(args.words), args.has(ALL))


def scoreboard_url(word: str) -> str:
    link = _LINK.fullmatch(word)
    url = link[1] if link else word
    if len(url) > 500 or not url.isascii() or not re.match(r"(?i)https?://[^/?#\s]+", url):
        raise UsageError(f"{shown(word, first=True)} is not an http(s) URL.")
    return url


def mark_label(words: str) -> str:
    label = words.strip().strip("\"'“”‘’").strip()
    if not label:
        raise UsageError('`/scores mark` needs a few words, e.g. `/scores mark "load spike"`.')
    if len(label) > MAX_LABEL or not set(label) <= ECHO_SAFE | {" "}:
        raise UsageError(f"A mark is at most {MAX_LABEL} characters of plain text, without `` ` < > & * _ ~ ``.")
    return label


def freeze_moment(words: str, tz: tzinfo, now: datetime) -> datetime | None:
    """`off`, `now`, `in 30m` (or `+30m`), `18:00` (today, in the bot's time zone) or an ISO time."""
    lowered = words.lower()
    if lowered == "off":
        return None
    if lowered == "now":
        return now
    ahead = _SPAN.fullmatch(lowered.removeprefix("in ").removeprefix("+").strip())
    if ahead and (lowered.startswith(("in ", "+"))):
        return now + timedelta(seconds=int(ahead[1]) * _UNIT[ahead[2]])
    clock = _CLOCK.fullmatch(lowered)
    if clock and int(clock[1]) < 24 and int(clock[2]) < 60:
        local = now.astimezone(tz)
        return local.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
    if words.isascii() and len(words) <= 40:
        try:
            when = datetime.fromisoformat(words)
        except ValueError:
            pass
        else:
            return when if when.tzinfo else when.replace(tzinfo=tz)
    raise UsageError(f"`/scores freeze` takes `18:00`, `in 30m`, an ISO time or `off`, not {shown(words)}.")
