"""Both commands read their text through the one parser: the same words get the same answers.

Hostile or odd text reaches the user as one short private sentence and the usage, and nothing
typed is echoed where Slack would turn it into a mention, a link or formatting.
"""

from __future__ import annotations

import dataclasses

import botocore.loaders
import pytest

from bot.command import CommandContext, run_command
from commands import eb_ip, lambda_capacity
from commands.eb_ip.parse import parse as parse_eb_ip
from commands.lambda_capacity.parse import parse as parse_capacity

EB_IP, CAPACITY = eb_ip.COMMAND, lambda_capacity.COMMAND
NOT_AN_ENV = "Environment names are 4–40 ASCII letters, digits and hyphens, with no hyphen at either end."
TOP = "`--top` takes a whole number from 1 to 100, not"


@pytest.mark.parametrize(
    ("text", "eb_ip_says", "capacity_says"),
    [
        (
            "<!channel>",
            f"That is not an environment name: it contains U+003C LESS-THAN SIGN. {NOT_AN_ENV}",
            "A word with U+003C LESS-THAN SIGN was not expected: a function name goes after `prune`.",
        ),
        (
            "<http://x|link>",
            f"That is not an environment name: it contains U+003C LESS-THAN SIGN. {NOT_AN_ENV}",
            "A word with U+003C LESS-THAN SIGN was not expected: a function name goes after `prune`.",
        ),
        (
            "--region <@U0123ABCD>",
            "`--region` takes an AWS region such as eu-west-1, not a word with U+003C LESS-THAN SIGN.",
            "`--region` takes an AWS region such as eu-west-1, not a word with U+003C LESS-THAN SIGN.",
        ),
        ("--top \u00b2", "`--top` is not an option here.", f"{TOP} a word with U+00B2 SUPERSCRIPT TWO."),
        ("--top 1e3", "`--top` is not an option here.", f"{TOP} `1e3`."),
        ("--top \uff15", "`--top` is not an option here.", f"{TOP} a word with U+FF15 FULLWIDTH DIGIT FIVE."),
        pytest.param(
            "--top " + "9" * 990, "`--top` is not an option here.", f"{TOP} a 990-character word.", id="990-digits"
        ),
        ("--frob", "`--frob` is not an option here.", "`--frob` is not an option here."),
        ("\u2014FROB=1", "`--frob` is not an option here.", "`--frob` is not an option here."),
        (
            "--region eu-west-1 --region=eu-west-1",
            "Give `--region` once.",
            "Give `--region` once.",
        ),
        (
            "--region moon-1",
            "`--region` takes an AWS region such as eu-west-1, not `moon-1`.",
            "`--region` takes an AWS region such as eu-west-1, not `moon-1`.",
        ),
    ],
)
def test_odd_text_gets_one_short_private_sentence_and_the_usage(
    ctx: CommandContext, text: str, eb_ip_says: str, capacity_says: str
) -> None:
    for command, says in ((EB_IP, eb_ip_says), (CAPACITY, capacity_says)):
        reply = run_command(command, text, ctx)
        assert (reply.text, reply.ok, reply.public) == (f"{says}\n{command.usage}", False, False)


def test_mentions_and_links_after_a_verb_are_not_echoed_either(ctx: CommandContext) -> None:
    admin = dataclasses.replace(ctx, user_id="UADMIN1")  # the policy lets only admins reach prune's parser
    capacity = run_command(CAPACITY, "prune <!channel>", admin)
    assert capacity.text.startswith(
        "prune takes a Lambda function name or ARN, not a word with U+003C LESS-THAN SIGN.\n"
    )
    eb = run_command(EB_IP, "revoke <http://x|link>", ctx)
    assert eb.text.startswith("Say whose tokens to revoke: ")


def test_a_ten_thousand_digit_number_is_refused_before_anything_reads_it(ctx: CommandContext) -> None:
    for command in (EB_IP, CAPACITY):
        reply = run_command(command, "--top " + "9" * 10_000, ctx)
        assert reply.text == f"That is too long for {command.name} (10006 characters).\n{command.usage}"


@pytest.mark.parametrize("text", ["--region=EU-WEST-1", "\u2014region eu-west-1", "\u2013REGION Eu-West-1"])
def test_both_commands_read_a_region_the_same_way(text: str) -> None:
    assert parse_eb_ip(text).region == parse_capacity(text).region == "eu-west-1"


def _botocore_lists(region: str) -> bool:
    loader = botocore.loaders.Loader()
    return any(
        region in partition["regions"]
        for data in ("endpoints", "partitions")
        for partition in loader.load_data(data)["partitions"]
    )


@pytest.mark.parametrize("region", ["us-isob-east-1", "ap-southeast-10", "us-gov-west-1", "eu-isoe-west-1"])
def test_both_commands_accept_exactly_the_regions_botocore_lists(ctx: CommandContext, region: str) -> None:
    text = f"--region {region}"
    if _botocore_lists(region):
        assert parse_eb_ip(text).region == parse_capacity(text).region == region
    else:
        for command in (EB_IP, CAPACITY):
            reply = run_command(command, text, ctx)
            assert reply.text.startswith(f"`--region` takes an AWS region such as eu-west-1, not `{region}`.")
