"""/eb-ip parsing: every form, and hostile text refused with one clear sentence before any AWS call."""

from __future__ import annotations

import pytest

from bot.command import UsageError
from commands.eb_ip.parse import EbIpRequest, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", EbIpRequest("list")),
        ("--region eu-west-1", EbIpRequest("list", region="eu-west-1")),
        ("my-env", EbIpRequest("table", name="my-env")),
        ("  my-env   2 ", EbIpRequest("nth", name="my-env", n=2)),
        ("my-env #2", EbIpRequest("nth", name="my-env", n=2)),
        ("my-env-2 3", EbIpRequest("nth", name="my-env-2", n=3)),
        ("MyApp-Prod 1", EbIpRequest("nth", name="MyApp-Prod", n=1)),
        ("a" * 40, EbIpRequest("table", name="a" * 40)),
        ("my-env 1 --region=us-gov-west-1", EbIpRequest("nth", name="my-env", n=1, region="us-gov-west-1")),
        ("--region EU-WEST-1 my-env", EbIpRequest("table", name="my-env", region="eu-west-1")),
        # Slack and macOS turn "--" into a dash as you type.
        ("my-env \u2014region eu-west-1", EbIpRequest("table", name="my-env", region="eu-west-1")),
        ("my-env-2 ssh-config", EbIpRequest("ssh_config", name="my-env-2")),
        ("my-env-2 SSH-CONFIG --ssm", EbIpRequest("ssh_config", name="my-env-2", ssh_kind="ssm")),
        ("--asg web-asg", EbIpRequest("table", name="web-asg", asg=True)),
        ("web.asg/blue:1 2 --asg", EbIpRequest("nth", name="web.asg/blue:1", n=2, asg=True)),
        ("--asg w 1", EbIpRequest("nth", name="w", n=1, asg=True)),
        ("token", EbIpRequest("token")),
        ("Token", EbIpRequest("token")),
        ("revoke me", EbIpRequest("revoke", user="me")),
        ("revoke U0123ABCD", EbIpRequest("revoke", user="U0123ABCD")),
        ("revoke <@U0123ABCD|alice>", EbIpRequest("revoke", user="U0123ABCD")),
        ("revoke <@W0123ABCD>", EbIpRequest("revoke", user="W0123ABCD")),
        ("revoke <@U0123ABCD|alice smith>", EbIpRequest("revoke", user="U0123ABCD")),
    ],
)
def test_parses_every_form(text: str, expected: EbIpRequest) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("; rm -rf /", "`-rf` is not an option here."),
        ("shop;rm /", "`shop;rm` is not an environment name: it contains ';' (U+003B SEMICOLON)"),
        ("my-env -rf", "`-rf` is not an option here."),
        ("my-env;id", "`my-env;id` is not an environment name: it contains ';' (U+003B SEMICOLON)"),
        ("$(id)", "`$(id)` is not an environment name: it contains '$'"),
        ("`id`", "That is not an environment name: it contains U+0060 GRAVE ACCENT"),
        ("my-env `id`", "not a word with U+0060 GRAVE ACCENT"),
        ("my-env | nc evil 1", "`nc` was not expected: /eb-ip takes a name, then a number or ssh-config."),
        pytest.param("x" * 5000, "A 5000-character word is not an environment name", id="5000-chars"),
        ("my\u2010env", "That is not an environment name: it contains U+2010 HYPHEN"),
        ("my-env\u202e", "it contains U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u05e1\u05d1\u05d9\u05d1\u05d4", "it contains U+05E1 HEBREW LETTER SAMEKH"),
        ("\U0001f680\U0001f680\U0001f680\U0001f680", "it contains U+1F680 ROCKET"),
        ("my-env\u200b", "it contains U+200B ZERO WIDTH SPACE"),
        ("my-env\x00", "it contains U+0000"),
        ("abc", "`abc` is not an environment name. Environment names are 4–40"),
        ("a" * 41, "is not an environment name"),
        ("-my-env", "`-my-env` is not an option here."),
        ("my-env-", "`my-env-` is not an environment name"),
        ("my_env", "That is not an environment name: it contains U+005F LOW LINE"),
        ("my-env 0", "Instances are numbered from 1"),
        ("my-env 000", "Instances are numbered from 1"),
        ("my-env -1", "Instances are numbered from 1"),
        ("my-env 1e3", "Expected an instance number or `ssh-config` after the name, not `1e3`"),
        ("my-env 1.5", "not `1.5`"),
        ("my-env \u0663", "not a word with U+0663 ARABIC-INDIC DIGIT THREE"),
        ("my-env \u00b2", "not a word with U+00B2 SUPERSCRIPT TWO"),
        pytest.param("my-env " + "9" * 990, "is far larger than any environment", id="990-digit-n"),
        ("my-env 10000000", "is far larger than any environment"),
        ("my-env 1 2", "`2` was not expected: /eb-ip takes a name, then a number or ssh-config."),
        ("my-env ssh-config extra", "`extra` was not expected"),
        ("my-env --ssm", "--ssm goes with ssh-config"),
        ("my-env 2 --ssm", "--ssm goes with ssh-config"),
        ("--asg", "--asg and --ssm need a name"),
        ("--asg a*b", "That is not an Auto Scaling group name: it contains U+002A ASTERISK"),
        ("--asg " + "a" * 256, "A 256-character word is not an Auto Scaling group name"),
        ("--region", "`--region` needs an AWS region such as eu-west-1."),
        ("my-env --region moon-1", "`--region` takes an AWS region such as eu-west-1, not `moon-1`."),
        ("my-env --region eu-west-1;id", "not `eu-west-1;id`"),
        ("my-env --region eu-west-1 --REGION=us-east-1", "Give `--region` once."),
        ("my-env --verbose", "`--verbose` is not an option here."),
        ("my-env --asg=yes", "`--asg` takes no value."),
        ("token now", "`token` takes no other words or options"),
        ("token --region eu-west-1", "`token` takes no other words or options"),
        ("--region eu-west-1 revoke me", "`revoke` takes no other words or options"),
        ("revoke", "Say whose tokens to revoke"),
        ("revoke @alice", "`@alice` is not a member here"),
        ("revoke U1 U2", "Say whose tokens to revoke"),
        ("revoke <@U0123|x> ; rm -rf /", "Say whose tokens to revoke"),
    ],
)
def test_refuses_hostile_or_malformed_text_with_one_clear_sentence(text: str, message: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse(text)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert len(str(refused.value)) < 300  # never echoes a wall of the user's text back


def test_never_echoes_text_that_would_format_or_mention_in_slack() -> None:
    for text in ("<!channel>", "<@U0123ABCD>", "*bold*", "a&b&c&d"):
        with pytest.raises(UsageError) as refused:
            parse(text)
        assert text not in str(refused.value)
