"""/lambda-capacity's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.command import UsageError
from commands.lambda_capacity.options import NAME

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_FUNCTION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:([A-Za-z0-9_-]{1,64})(:[^:]+)?$")


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


def _int_between(flag: str, raw: str | None, low: int, high: int) -> int:
    if raw is None or not raw.isdigit() or not low <= int(raw) <= high:
        raise UsageError(f"{flag} takes a whole number from {low} to {high}, got {raw or 'nothing'}.")
    return int(raw)


def _region(raw: str | None) -> str:
    if raw is None or not _REGION.match(raw):
        raise UsageError(f"--region takes an AWS region such as eu-west-1, got {raw or 'nothing'}.")
    return raw


def parse(text: str, default_keep: int = 3) -> CapacityRequest | PruneRequest:
    words = text.split()
    prune = bool(words) and words[0].lower() == "prune"
    if prune:
        words = words[1:]
    region: str | None = None
    all_regions = refresh = False
    top, keep = 10, default_keep
    positional: list[str] = []
    it = iter(words)
    for word in it:
        if word == "--region":
            region = _region(next(it, None))
        elif word == "--all-regions" and not prune:
            all_regions = True
        elif word == "--top" and not prune:
            top = _int_between("--top", next(it, None), 1, 100)
        elif word == "--refresh" and not prune:
            refresh = True
        elif word == "--keep" and prune:
            keep = _int_between("--keep", next(it, None), 1, 100)
        elif word.startswith("-"):
            raise UsageError(f"Unknown option {word}{' for prune' if prune else ''}.")
        else:
            positional.append(word)
    if region and all_regions:
        raise UsageError("Use either --region or --all-regions, not both.")
    if not prune:
        if positional:
            raise UsageError(f"Unexpected {positional[0]!r}: did you mean `{NAME} prune {positional[0]}`?")
        return CapacityRequest(region, all_regions, top, refresh)
    if len(positional) > 1:
        raise UsageError("prune takes at most one function name.")
    function = positional[0] if positional else None
    arn = _FUNCTION_ARN.match(function or "")
    if arn:  # mappings and aliases name functions by their short name; the ARN names the region
        if arn.group(3):
            raise UsageError("prune takes a function, not one of its versions or aliases.")
        if region and region != arn.group(1):
            raise UsageError(f"That function is in {arn.group(1)}, not {region}.")
        region, function = arn.group(1), arn.group(2)
    elif function and not _FUNCTION.match(function):
        raise UsageError(f"{function!r} is not a Lambda function name or ARN.")
    return PruneRequest(region, keep, function)
