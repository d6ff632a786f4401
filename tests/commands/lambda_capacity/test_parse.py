"""/lambda-capacity's request parser: its defaults and flags, and a sentence for each bad request."""

from __future__ import annotations

import pytest

from bot.command import UsageError
from commands.lambda_capacity.parse import CapacityRequest, PruneRequest, parse


def test_parse_defaults_and_flags() -> None:
    assert parse("") == CapacityRequest()
    assert parse("--region eu-west-1 --top 5 --refresh") == CapacityRequest("eu-west-1", False, 5, True)
    assert parse("--all-regions") == CapacityRequest(all_regions=True)
    assert parse("prune", default_keep=4) == PruneRequest(keep=4)
    assert parse("prune orders-api --keep 2 --region eu-west-1") == PruneRequest("eu-west-1", 2, "orders-api")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
    assert parse(f"prune {arn}") == PruneRequest("eu-west-1", 3, "orders-api")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--top 0", "`--top` takes a whole number from 1 to 100, not `0`."),
        ("--top 101", "`--top` takes a whole number from 1 to 100, not `101`."),
        ("--top", "`--top` needs a whole number from 1 to 100."),
        ("--region mars", "`--region` takes an AWS region such as eu-west-1, not `mars`."),
        ("--region eu-west-1 --all-regions", "Use either `--region` or `--all-regions`, not both."),
        ("orders-api", "`orders-api` was not expected: a function name goes after `prune`."),
        ("prnue orders-api", "`prnue` was not expected: a function name goes after `prune`. Did you mean `prune`?"),
        ("--regoin eu-west-1", "`--regoin` is not an option here. Did you mean `--region`?"),
        ("--keep 2", "`--keep` is not an option here."),
        ("prune --all-regions", "`--all-regions` is not an option here."),
        ("prune --keep 0", "`--keep` takes a whole number from 1 to 100, not `0`."),
        ("prune a b", "`b` was not expected: prune takes at most one function name."),
        ("prune a/b", "prune takes a Lambda function name or ARN, not `a/b`."),
        ("prune <!channel>", "prune takes a Lambda function name or ARN, not a word with U+003C LESS-THAN SIGN."),
        (
            "prune arn:aws:lambda:xx-moon-1:123456789012:function:f",
            "That ARN names no AWS region botocore knows: `xx-moon-1`.",
        ),
        (
            "prune arn:aws:lambda:eu-west-1:123456789012:function:f:7",
            "prune takes a function, not one of its versions or aliases.",
        ),
        (
            "prune arn:aws:lambda:eu-west-1:123456789012:function:f --region us-east-1",
            "That function is in eu-west-1, not us-east-1.",
        ),
    ],
)
def test_bad_requests_are_explained(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    assert str(err.value) == message
