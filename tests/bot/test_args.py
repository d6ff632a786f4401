"""The shared parser: one tokenizer, declared flags, one region check, one style of complaint. Pure and fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import botocore.loaders
import pytest

from bot.args import (
    ALL_REGIONS,
    REGION,
    TOP,
    Args,
    BadValue,
    Flag,
    Syntax,
    known_regions,
    moment,
    number_flag,
    parse_args,
    since_flag,
    split_verb,
    switch,
)
from bot.command import UsageError

KEEP = number_flag("--keep", 1, 100)
SYNTAX = Syntax((REGION, ALL_REGIONS, TOP, KEEP), words=1, extra_word="one name at most")
NOW = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)  # the day Berlin moves to summer time
BERLIN = ZoneInfo("Europe/Berlin")


def refused(text: str, syntax: Syntax = SYNTAX) -> str:
    with pytest.raises(UsageError) as error:
        parse_args(text, syntax)
    return str(error.value)


def listed_by_botocore() -> dict[str, set[str]]:
    """Partition -> regions, read straight from botocore's data files."""
    loader = botocore.loaders.Loader()
    regions = {p["partition"]: set(p["regions"]) for p in loader.load_data("endpoints")["partitions"]}
    for partition in loader.load_data("partitions")["partitions"]:
        regions.setdefault(partition["id"], set()).update(r for r in partition["regions"] if not r.endswith("-global"))
    return regions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Args((), {})),
        ("web --region eu-west-1", Args(("web",), {"--region": "eu-west-1"})),
        ("--region=eu-west-1 web", Args(("web",), {"--region": "eu-west-1"})),
        ("--REGION EU-WEST-1", Args((), {"--region": "eu-west-1"})),
        ("\u2014region eu-west-1 \u2013top=5", Args((), {"--region": "eu-west-1", "--top": 5})),
        ("--all-regions --top 100 --keep=1", Args((), {"--all-regions": True, "--top": 100, "--keep": 1})),
        ("  -1\u00a0 ", Args(("-1",), {})),  # a negative number is the command's to explain
        ("--top 007", Args((), {"--top": 7})),
    ],
)
def test_reads_words_and_flags_as_slack_sends_them(text: str, expected: Args) -> None:
    assert parse_args(text, SYNTAX) == expected


def test_typed_values_and_defaults() -> None:
    args = parse_args("--top 5", SYNTAX)
    assert (args.get(TOP), args.get(KEEP), args.get(KEEP, 3), args.has(TOP), args.has(ALL_REGIONS)) == (
        5,
        None,
        3,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--frob", "`--frob` is not an option here."),
        ("-rf", "`-rf` is not an option here."),
        ("--FROB=1", "`--frob` is not an option here."),
        ("--<!channel>", "A word with U+003C LESS-THAN SIGN is not an option here."),
        ("--top 1 --TOP=2", "Give `--top` once."),
        ("--all-regions --all-regions", "Give `--all-regions` once."),
        ("--all-regions=yes", "`--all-regions` takes no value."),
        ("--top", "`--top` needs a whole number from 1 to 100."),
        ("--top=", "`--top` needs a whole number from 1 to 100."),
        ("--top x", "`--top` takes a whole number from 1 to 100, not `x`."),
        ("--top 0", "`--top` takes a whole number from 1 to 100, not `0`."),
        ("--top 101", "`--top` takes a whole number from 1 to 100, not `101`."),
        ("--top -5", "`--top` takes a whole number from 1 to 100, not `-5`."),
        ("--top 1e3", "`--top` takes a whole number from 1 to 100, not `1e3`."),
        ("--top \u00b2", "`--top` takes a whole number from 1 to 100, not a word with U+00B2 SUPERSCRIPT TWO."),
        ("--top \uff15", "`--top` takes a whole number from 1 to 100, not a word with U+FF15 FULLWIDTH DIGIT FIVE."),
        (
            "--keep \u0663",
            "`--keep` takes a whole number from 1 to 100, not a word with U+0663 ARABIC-INDIC DIGIT THREE.",
        ),
        # Past 4,300 digits int() raises; long before that it is slow.
        pytest.param(
            "--top " + "9" * 5000,
            "`--top` takes a whole number from 1 to 100, not a 5000-character word.",
            id="5000-digits",
        ),
        ("--top 0000000000001", "`--top` takes a whole number from 1 to 100, not `0000000000001`."),
        ("--region mars", "`--region` takes an AWS region such as eu-west-1, not `mars`."),
        (
            "--region <!channel>",
            "`--region` takes an AWS region such as eu-west-1, not a word with U+003C LESS-THAN SIGN.",
        ),
        ("a b", "`b` was not expected: one name at most."),
        ("a <http://x|link>", "A word with U+003C LESS-THAN SIGN was not expected: one name at most."),
    ],
)
def test_refuses_bad_flags_in_one_style(text: str, message: str) -> None:
    assert refused(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--regoin eu-west-1", "`--regoin` is not an option here. Did you mean `--region`?"),
        ("--All-Region", "`--all-region` is not an option here. Did you mean `--all-regions`?"),
        ("--ttop 3", "`--ttop` is not an option here. Did you mean `--top`?"),
    ],
)
def test_a_mistyped_flag_suggests_the_nearest_one(text: str, message: str) -> None:
    assert refused(text) == message


def test_a_mistyped_verb_suggests_the_nearest_one() -> None:
    syntax = Syntax((TOP,), extra_word="the verb comes first", verbs=("prune", "archive"))
    assert refused("prnue --top 3", syntax) == "`prnue` was not expected: the verb comes first. Did you mean `prune`?"
    assert refused("orders", syntax) == "`orders` was not expected: the verb comes first."


def test_an_unknown_region_suggests_the_nearest_known_one() -> None:
    assert refused("--region eu-wset-1") == (
        "`--region` takes an AWS region such as eu-west-1, not `eu-wset-1`. Did you mean `eu-west-1`?"
    )


def test_knows_exactly_the_regions_botocore_lists_in_every_partition() -> None:
    listed = listed_by_botocore()
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} <= set(listed)
    assert known_regions() == frozenset().union(*listed.values())
    assert "aws-global" not in known_regions()  # a pseudo-region: no place to look for anything


@pytest.mark.parametrize("region", ["us-isob-east-1", "ap-southeast-10", "eusc-de-east-1", "cn-north-1"])
def test_a_region_passes_exactly_when_botocore_lists_it(region: str) -> None:
    if any(region in regions for regions in listed_by_botocore().values()):
        assert parse_args(f"--region {region.upper()}", SYNTAX).get(REGION) == region
    else:
        assert refused(f"--region {region}").startswith(
            f"`--region` takes an AWS region such as eu-west-1, not `{region}`."
        )


def test_split_verb_finds_the_verb_in_any_case_and_keeps_the_rest_as_typed() -> None:
    assert split_verb("  PRUNE  f --keep 2", "prune") == ("prune", "f --keep 2")
    assert split_verb("revoke <@U1|a b>", "revoke") == ("revoke", "<@U1|a b>")
    assert split_verb("pruned f", "prune") == ("", "pruned f")
    assert split_verb("", "prune") == ("", "")


# -- --since: a pure function of the text, the bot's time zone and now


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("30s", NOW - timedelta(seconds=30)),
        ("15m", NOW - timedelta(minutes=15)),
        ("2H", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("3653d", NOW - timedelta(days=3653)),
        ("2025-03-30T09:30:00+00:00", datetime(2025, 3, 30, 9, 30, tzinfo=UTC)),
        ("2025-03-30T09:30Z", datetime(2025, 3, 30, 9, 30, tzinfo=UTC)),
        # No offset: the bot's time zone, on either side of the change to summer time.
        ("2025-03-30T01:30", datetime(2025, 3, 30, 0, 30, tzinfo=UTC)),
        ("2025-03-30T03:30", datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),
        ("2025-03-29", datetime(2025, 3, 28, 23, 0, tzinfo=UTC)),
    ],
)
def test_since_reads_a_duration_or_an_iso_time(word: str, expected: datetime) -> None:
    assert moment(word, BERLIN, NOW) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("0m", "not `0m`."),
        ("15x", "not `15x`."),
        ("1.5h", "not `1.5h`."),
        ("3654d", "not `3654d`. Give at most ten years."),
        ("999999d", "not `999999d`. Give at most ten years."),
        ("9999999d", "not `9999999d`."),
        ("2014-01-01", "not `2014-01-01`. Give at most ten years."),
        ("2025-03-30T14:01", "not `2025-03-30T14:01`. That is in the future."),
        ("\uff11\uff15m", "not a word with U+FF11 FULLWIDTH DIGIT ONE."),
        ("15\u017f", "not a word with U+017F LATIN SMALL LETTER LONG S."),  # folds to "s" without re.ASCII
        ("yesterday", "not `yesterday`."),
    ],
)
def test_since_refuses_what_is_not_a_time_in_range(word: str, message: str) -> None:
    said = refused(f"--since {word}", Syntax((since_flag(BERLIN, NOW),)))
    assert said.startswith("`--since` takes a time such as 15m, 2h, 1d or 2024-05-01T09:00, not ")
    assert said.endswith(message)


def test_since_flag_returns_an_aware_datetime() -> None:
    since = since_flag(BERLIN, NOW)
    assert parse_args("--since=15m", Syntax((since,))).get(since) == NOW - timedelta(minutes=15)
    with pytest.raises(BadValue):
        moment("", BERLIN, NOW)


def test_a_switch_is_true_when_given() -> None:
    verbose = switch("--verbose")
    assert parse_args("\u2013VERBOSE", Syntax((verbose,))).has(verbose)


PATTERN = Flag("--filter", "a pattern", str, phrase=True)


@pytest.mark.parametrize(
    ("text", "pattern", "words"),
    [
        ('orders --filter { $.level = "ERROR" } --top 3', '{ $.level = "ERROR" }', ("orders",)),
        ('orders --filter "Task timed out"', '"Task timed out"', ("orders",)),
        ("orders --filter=ERROR -DEBUG \u2014top 3", "ERROR -DEBUG", ("orders",)),  # `-term` excludes in CloudWatch
        ("orders --filter ERROR", "ERROR", ("orders",)),
    ],
)
def test_a_phrase_flag_takes_the_words_up_to_the_next_flag(text: str, pattern: str, words: tuple[str, ...]) -> None:
    args = parse_args(text, Syntax((PATTERN, TOP), words=1))

    assert args.get(PATTERN) == pattern and args.words == words


def test_a_phrase_flag_with_nothing_after_it_says_so() -> None:
    assert refused("orders --filter --top 3", Syntax((PATTERN, TOP), words=1)) == "`--filter` needs a pattern."
