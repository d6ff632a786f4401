"""Accounts: which one a channel uses, `--account` honoured and refused, and the role assumed as the Slack user.

moto's STS assumes any role and maps the credentials to the role's account (its multi-account
support), so a command really reads the other account; moto does not record `SourceIdentity`, so
the request's shape is checked with botocore's Stubber on the STS client.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.accounts import AccountRefused, source_identity, take_account
from bot.aws import AwsClients, describe_aws_error
from bot.aws.errors import RoleNotAssumed
from bot.command import CommandContext, SlashCommand, enter_account, run_command
from bot.reply import Reply
from bot.settings import Settings, SettingsError, load_settings
from bot.state import Store
from bot.state.scoped import account_store
from commands.eb_ip import COMMAND as EB_IP

OTHER = "222222222222"
PROD_ROLE = f"arn:aws:iam::{OTHER}:role/opsbot-read"
CONFIG = f"""
[accounts.own]
label = "the bot's own"

[accounts.prod]
role_arn = "{PROD_ROLE}"
external_id = "opsbot-ext-1"
label = "Production"

[channels.CPROD01]
default_account = "prod"
accounts = ["prod", "own"]

[channels.COWN001]
default_account = "own"

[channels.CNODEF1]
accounts = ["prod", "own"]
"""


def settings_from(tmp_path: Path, text: str = CONFIG) -> Settings:
    path = tmp_path / "opsbot.toml"
    path.write_text(text)
    return load_settings({"OPSBOT_CONFIG": str(path), "OPSBOT_ADMINS": "UADMIN1"})


@pytest.fixture
def fresh_aws(moto: str) -> AwsClients:
    """Clients of their own: the assumed sessions they cache start empty in each test."""
    return AwsClients()


def context(settings: Settings, aws: AwsClients, store: Store, channel: str, user: str = "U0ALICE") -> CommandContext:
    return CommandContext(settings, aws, store, user_id=user, channel_id=channel)


def count_assume_role(aws: AwsClients) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    aws.client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(params)
    )
    return calls


def who_am_i(_text: str, ctx: CommandContext) -> Reply:
    arn = ctx.aws.client("sts").get_caller_identity()["Arn"]
    return Reply(text=f"I am {arn}")


WHO = SlashCommand("/who", "who the bot is", "", "", who_am_i)


# --- the flag, the settings, the choice: pure --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "rest"),
    [
        ("shop-prod 2 --account prod", "prod", "shop-prod 2 "),
        ("--account=staging shop-prod", "staging", " shop-prod"),
        ("\u2014account prod --region eu-west-1", "prod", " --region eu-west-1"),
        ("shop-prod  2", None, "shop-prod  2"),
    ],
)
def test_account_flag_is_taken_out_and_the_rest_left_as_typed(text: str, name: str | None, rest: str) -> None:
    assert take_account(text) == (name, rest)


@pytest.mark.parametrize("text", ["--account a --account b", "--account", "--account --region eu-west-1", "--account="])
def test_account_flag_twice_or_empty_is_refused(text: str) -> None:
    with pytest.raises(AccountRefused):
        take_account(text)


def test_account_flag_reading_is_linear() -> None:
    small, large = "x " * 10_000, "x " * 100_000
    assert take_account(small + "--account a")[0] == "a"
    assert take_account(large + "--account a")[1] == large  # finishes: one pass, no backtracking


def test_source_identity_names_the_slack_user_or_the_bots_own_work() -> None:
    assert source_identity("U0ALICE") == "slack-U0ALICE"
    assert source_identity("job:capacity-monitor") == "opsbot-job-capacity-monitor"
    assert source_identity("cli") == "opsbot-cli"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[accounts.x]\nrole_arn = "arn:aws:iam::1:role/x"', "role_arn"),
        ('[accounts.x]\nregion = "mars"', "region"),
        ('[accounts.X]\nlabel = "upper case"', "[accounts.X]"),
        ('[accounts.x]\n[channels.C0AAA11]\naccounts = ["y"]', "no [accounts.y]"),
        ('[accounts.x]\n[accounts.y]\n[channels.C0AAA11]\ndefault_account = "y"\naccounts = ["x"]', "default_account"),
        ('[accounts.x]\n[channels.general]\ndefault_account = "x"', "not a Slack channel id"),
        ('[accounts.x]\nrole = "typo"', "unknown key role"),
    ],
)
def test_bad_account_settings_name_the_key(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        settings_from(tmp_path, text)


def test_channel_default_and_allowed_accounts(tmp_path: Path) -> None:
    accounts = settings_from(tmp_path).accounts
    assert accounts.choose("CPROD01", None).name == "prod"  # type: ignore[union-attr]
    assert accounts.choose("CPROD01", "OWN").name == "own"  # type: ignore[union-attr]
    with pytest.raises(AccountRefused, match=r"takes one of: `own`\.$"):
        accounts.choose("COWN001", "prod")
    with pytest.raises(AccountRefused, match=r"no default AWS account: add `--account NAME` \(`own`, `prod`\)"):
        accounts.choose("CNODEF1", None)
    with pytest.raises(AccountRefused, match="No AWS account is set for this channel"):
        accounts.choose("CELSE01", None)
    assert accounts.choose("CELSE01", "prod", anywhere=True).name == "prod"  # type: ignore[union-attr]


def test_every_other_channel_uses_the_star_entry(tmp_path: Path) -> None:
    accounts = settings_from(tmp_path, CONFIG + '\n[channels."*"]\ndefault_account = "own"\n').accounts
    assert accounts.choose("CELSE01", None).name == "own"  # type: ignore[union-attr]
    with pytest.raises(AccountRefused):
        accounts.choose("CELSE01", "prod")


# --- through run_command, on moto -----------------------------------------------------------------


def test_no_accounts_configured_is_todays_behaviour(ctx: CommandContext) -> None:
    reply = run_command(WHO, "", ctx)
    assert "123456789012" in reply.text and "AWS account" not in reply.text
    refused = run_command(EB_IP, "--account prod", ctx)
    assert not refused.ok and "`--account` is not an option here" in refused.text


def test_channel_default_account_is_used_and_named(tmp_path: Path, fresh_aws: AwsClients, store: Store) -> None:
    settings = settings_from(tmp_path)
    reply = run_command(WHO, "", context(settings, fresh_aws, store, "CPROD01"))
    assert f"arn:aws:sts::{OTHER}:assumed-role/opsbot-read/slack-U0ALICE" in reply.text
    assert reply.text.endswith("_AWS account: *prod (Production)*_")
    own = run_command(WHO, "", context(settings, fresh_aws, store, "COWN001"))
    assert "123456789012" in own.text and "*own (the bot's own)*" in own.text


def test_account_flag_is_honoured_and_refused(tmp_path: Path, fresh_aws: AwsClients, store: Store) -> None:
    settings = settings_from(tmp_path)
    calls = count_assume_role(fresh_aws)
    own = run_command(WHO, "--account own", context(settings, fresh_aws, store, "CPROD01"))
    assert "123456789012" in own.text and "*own" in own.text
    refused = run_command(WHO, "--account prod", context(settings, fresh_aws, store, "COWN001"))
    assert not refused.ok and refused.text == "This channel may not use that account; `--account` takes one of: `own`."
    assert calls == []  # neither answer assumed a role


def test_a_command_reads_the_other_accounts_resources(tmp_path: Path, fresh_aws: AwsClients, store: Store) -> None:
    settings = settings_from(tmp_path)
    prod = fresh_aws.assumed(PROD_ROLE, "opsbot-test-seed")
    eb = prod.client("elasticbeanstalk")
    eb.create_application(ApplicationName="pay")
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    eb.create_environment(ApplicationName="pay", EnvironmentName="pay-prod", SolutionStackName=stack)

    in_prod = run_command(EB_IP, "", context(settings, fresh_aws, store, "CPROD01"))
    in_own = run_command(EB_IP, "--account own", context(settings, fresh_aws, store, "CPROD01"))

    assert "pay-prod" in str(in_prod.blocks) + in_prod.text
    assert "pay-prod" not in str(in_own.blocks) + in_own.text


def test_one_assume_role_per_user_and_role_across_50_commands(
    tmp_path: Path, fresh_aws: AwsClients, store: Store
) -> None:
    settings = settings_from(tmp_path)
    calls = count_assume_role(fresh_aws)
    for _ in range(50):
        assert "slack-U0ALICE" in run_command(WHO, "", context(settings, fresh_aws, store, "CPROD01")).text
    assert len(calls) == 1
    run_command(WHO, "", context(settings, fresh_aws, store, "CPROD01", user="U0BOB01"))
    assert [c["SourceIdentity"] for c in calls] == ["slack-U0ALICE", "slack-U0BOB01"]  # a session per person


def _stubbed() -> tuple[AwsClients, Stubber]:
    aws = AwsClients(boto3.session.Session(region_name="eu-west-1"))
    stub = Stubber(aws.client("sts"))
    stub.activate()
    return aws, stub


def _granted(expires_in: timedelta) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": datetime.now(UTC) + expires_in,
        }
    }


def test_assume_role_request_carries_the_users_source_identity_and_session_name(tmp_path: Path, store: Store) -> None:
    aws, stub = _stubbed()
    expected = {
        "RoleArn": PROD_ROLE,
        "RoleSessionName": "slack-U0ALICE",
        "SourceIdentity": "slack-U0ALICE",
        "ExternalId": "opsbot-ext-1",
        "DurationSeconds": 3600,
    }
    stub.add_response("assume_role", _granted(timedelta(hours=1)), expected)
    text, entered = _enter(tmp_path, aws, store)
    stub.assert_no_pending_responses()
    assert entered.account is not None and entered.account.name == "prod"
    assert entered.aws is not aws and text == "env-1"


def _enter(tmp_path: Path, aws: AwsClients, store: Store) -> tuple[str, CommandContext]:
    return enter_account(WHO, "env-1", context(settings_from(tmp_path), aws, store, "CPROD01"))


def test_credentials_are_renewed_only_near_their_expiry(tmp_path: Path, store: Store) -> None:
    aws, stub = _stubbed()
    stub.add_response("assume_role", _granted(timedelta(minutes=10)))
    _text, entered = _enter(tmp_path, aws, store)
    entered.aws._session.get_credentials().get_frozen_credentials()
    stub.assert_no_pending_responses()  # 10 minutes left: no second AssumeRole (botocore alone would renew at 15)

    aws, stub = _stubbed()
    stub.add_response("assume_role", _granted(timedelta(minutes=4)))
    stub.add_response("assume_role", _granted(timedelta(hours=1)))
    _text, entered = _enter(tmp_path, aws, store)
    entered.aws._session.get_credentials().get_frozen_credentials()
    stub.assert_no_pending_responses()  # under 5 minutes left: renewed


def test_a_role_that_cannot_be_assumed_is_one_sentence(tmp_path: Path, store: Store) -> None:
    aws, stub = _stubbed()
    stub.add_client_error(
        "assume_role",
        "AccessDenied",
        "User: arn:aws:sts::123456789012:assumed-role/opsbot/x is not authorized to perform: "
        f"sts:SetSourceIdentity on resource: {PROD_ROLE}",
        http_status_code=403,
    )
    reply = run_command(WHO, "", context(settings_from(tmp_path), aws, store, "CPROD01"))
    assert not reply.ok
    assert reply.text == (
        f"Cannot assume the role {PROD_ROLE}: its trust policy does not let the bot's role sts:SetSourceIdentity "
        "(with this external ID and a `slack-` source identity), or the bot's own IAM policy does not allow "
        "sts:SetSourceIdentity on it."
    )
    assert "\n" not in reply.text and "Traceback" not in reply.text


def test_other_sts_refusals_say_only_the_code() -> None:
    error = ClientError({"Error": {"Code": "RegionDisabledException", "Message": "<!channel> hi"}}, "AssumeRole")
    said = describe_aws_error(RoleNotAssumed(role_arn=PROD_ROLE, error=error))
    assert said == f"Cannot assume the role {PROD_ROLE}: AWS STS answered RegionDisabledException."


def _remember(text: str, ctx: CommandContext) -> Reply:
    before = ctx.store.get("scan-cache", "us-east-1")
    ctx.store.put("scan-cache", "us-east-1", text)
    return Reply(f"cached before: {before.value if before else None}")


REMEMBER = SlashCommand("/remember", "", "", "", _remember)


def test_what_a_command_keeps_about_aws_is_kept_per_account(
    tmp_path: Path, fresh_aws: AwsClients, store: Store
) -> None:
    settings = settings_from(tmp_path)
    assert run_command(REMEMBER, "prod-scan", context(settings, fresh_aws, store, "CPROD01")).text.startswith(
        "cached before: None"
    )
    own = run_command(REMEMBER, "own-scan --account own", context(settings, fresh_aws, store, "CPROD01"))
    assert own.text.startswith("cached before: None")  # never prod's scan
    again = run_command(REMEMBER, "x", context(settings, fresh_aws, store, "CPROD01"))
    assert again.text.startswith("cached before: prod-scan")


def _follow(text: str, ctx: CommandContext) -> Reply:
    def later(ctx: CommandContext, sent: bool) -> None:
        ctx.store.put("follows", "slot", ctx.aws.client("sts").get_caller_identity()["Arn"])

    return Reply(text="following", afterwards=later)


FOLLOW = SlashCommand("/follow", "", "", "", _follow)


def test_the_work_after_a_reply_goes_on_in_the_replys_account(
    tmp_path: Path, fresh_aws: AwsClients, store: Store
) -> None:
    given = context(settings_from(tmp_path), fresh_aws, store, "CPROD01")
    reply = run_command(FOLLOW, "", given)
    assert reply.afterwards is not None
    reply.afterwards(given, True)  # as bot.slack.app and the CLI call it: with the context they made
    slot = account_store(store, "prod").get("follows", "slot")
    assert slot is not None and slot.value.startswith(f"arn:aws:sts::{OTHER}:assumed-role/opsbot-read/slack-U0ALICE")


def test_users_arriving_at_once_share_one_assume_role(tmp_path: Path, fresh_aws: AwsClients, store: Store) -> None:
    settings = settings_from(tmp_path)
    calls = count_assume_role(fresh_aws)
    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: run_command(WHO, "", context(settings, fresh_aws, store, "CPROD01")), range(16))
        )
    assert all("slack-U0ALICE" in r.text for r in replies) and len(calls) == 1
