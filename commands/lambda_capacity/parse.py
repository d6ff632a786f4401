"""/lambda-capacity's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.args import ALL_REGIONS, REGION, TOP, Syntax, known_regions, number_flag, parse_args, split_verb, switch
from bot.command import UsageError
from bot.text import shown

_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):[0-9]{12}:function:(?P<function>[A-Za-z0-9_-]{1,64})(?P<qualifier>:[^:]+)?"
)

REFRESH, KEEP = switch("--refresh"), number_flag("--keep", 1, 100)
CAPACITY = Syntax(
    (REGION, ALL_REGIONS, TOP, REFRESH), extra_word="a function name goes after `prune`", verbs=("prune", "archive")
)
PRUNE = Syntax((REGION, KEEP), words=1, extra_word="prune takes at most one function name")
ARCHIVE = Syntax((REGION,), extra_word="archive takes only --region")


@dataclass(frozen=True)
class CapacityRequest:
    region: str | None = None  # None: the default region
    all_regions: bool = False
    top: int = 10
    refresh: bool = False


@dataclass(frozen=True)
class PruneRequest:
    region: str | None = None
    keep: int = 3
    function: str | None = None


@dataclass(frozen=True)
class ArchiveRequest:
    region: str | None = None


def parse(text: str, default_keep: int = 3) -> CapacityRequest | PruneRequest | ArchiveRequest:
    verb, rest = split_verb(text, "prune", "archive")
    if verb == "archive":
        return ArchiveRequest(parse_args(rest, ARCHIVE).get(REGION))
    if not verb:
        args = parse_args(text, CAPACITY)
        if args.has(REGION) and args.has(ALL_REGIONS):
            raise UsageError("Use either `--region` or `--all-regions`, not both.")
        return CapacityRequest(args.get(REGION), args.has(ALL_REGIONS), args.get(TOP, 10), args.has(REFRESH))
    args = parse_args(rest, PRUNE)
    region, keep = args.get(REGION), args.get(KEEP, default_keep)
    function = args.words[0] if args.words else None
    arn = _FUNCTION_ARN.fullmatch(function or "")
    if arn:  # mappings and aliases name functions by their short name; the ARN names the region
        if arn["qualifier"]:
            raise UsageError("prune takes a function, not one of its versions or aliases.")
        if arn["region"] not in known_regions():
            raise UsageError(f"That ARN names no AWS region botocore knows: {shown(arn['region'])}.")
        if region and region != arn["region"]:
            raise UsageError(f"That function is in {arn['region']}, not {region}.")
        region, function = arn["region"], arn["function"]
    elif function and not _FUNCTION.fullmatch(function):
        raise UsageError(f"prune takes a Lambda function name or ARN, not {shown(function)}.")
    return PruneRequest(region, keep, function)
