"""/eb-ip against a real moto server (and botocore's Stubber where moto cannot show a case): what a user sees."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.command import CommandContext, CommandError, run_command
from bot.reply import Reply
from bot.settings import Settings
from bot.state import Store
from bot.tokens import token_owner
from commands.eb_ip import COMMAND
from commands.eb_ip.instances import EB_TAG, EnvironmentInstances, Instance, find_instances, oldest_first
from commands.eb_ip.render import local_time, render_table

T0 = datetime(2026, 11, 28, 13, 3, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def instance(id: str, launched: datetime, public_ip: str | None = "203.0.113.1") -> Instance:
    return Instance(id, public_ip, "10.0.0.1", launched, "us-east-1a")


def blocks_text(reply: Reply) -> str:
    return "\n".join(str(block) for block in reply.blocks)


def run(ctx: CommandContext, text: str) -> Reply:
    return run_command(COMMAND, text, ctx)


def launch(ec2: Any, env: str, count: int = 1, tag: str = EB_TAG, **kw: Any) -> list[str]:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": tag, "Value": env}]}]
    result = ec2.run_instances(ImageId="ami-12345678", MinCount=count, MaxCount=count, TagSpecifications=tags, **kw)
    return [i["InstanceId"] for i in result["Instances"]]


def create_environment(aws: AwsClients, *names: str) -> None:
    eb = aws.client("elasticbeanstalk")
    eb.create_application(ApplicationName="shop")
    for name in names:
        eb.create_environment(ApplicationName="shop", EnvironmentName=name)


def running_in_order(ec2: Any, env: str) -> list[dict[str, Any]]:
    """moto's view, ordered the way /eb-ip promises: launch time, then instance id."""
    pages = ec2.describe_instances(Filters=[{"Name": f"tag:{EB_TAG}", "Values": [env]}])
    found = [i for r in pages["Reservations"] for i in r["Instances"] if i["State"]["Name"] == "running"]
    return sorted(found, key=lambda i: (i["LaunchTime"], i["InstanceId"]))


# -- pure: ordering, selection, time zone


def test_orders_oldest_first_with_ties_broken_by_instance_id_and_drops_duplicates() -> None:
    newest = instance("i-0aaa", T0 + timedelta(hours=2))
    tie_b, tie_a = instance("i-0bbb", T0), instance("i-0abc", T0)
    oldest = instance("i-0zzz", T0 - timedelta(days=1))
    assert [i.id for i in oldest_first([newest, tie_b, oldest, tie_a, tie_b])] == [
        "i-0zzz",
        "i-0abc",
        "i-0bbb",
        "i-0aaa",
    ]


def test_nth_is_one_based_and_out_of_range_is_one_sentence() -> None:
    found = EnvironmentInstances("my-env", "us-east-1", False, (instance("i-1", T0), instance("i-2", T0)))
    assert found.nth(1).id == "i-1"
    assert found.nth(2).id == "i-2"
    with pytest.raises(CommandError, match=r"^my-env has 2 running instances in us-east-1; there is no #3\.$"):
        found.nth(3)


def test_launch_time_is_shown_in_the_configured_zone_with_its_abbreviation() -> None:
    assert local_time(T0, BERLIN) == "2026-11-28 14:03 CET"
    assert local_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), BERLIN) == "2026-07-01 14:00 CEST"
    assert local_time(T0, ZoneInfo("UTC")) == "2026-11-28 13:03 UTC"


def test_table_is_aligned_and_labels_private_only_instances() -> None:
    found = EnvironmentInstances(
        "my-env", "us-east-1", False, (instance("i-0aaa", T0), instance("i-0bbb", T0, public_ip=None))
    )
    reply = render_table(found, BERLIN)
    assert reply.text.splitlines() == [
        "my-env: 2 running instances, oldest first",
        "#  instance  public ip       private ip  launched              zone",
        "1  i-0aaa    203.0.113.1     10.0.0.1    2026-11-28 14:03 CET  us-east-1a",
        "2  i-0bbb    (private only)  10.0.0.1    2026-11-28 14:03 CET  us-east-1a",
    ]
    assert reply.public
    assert reply.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": reply.text.splitlines()[0]}}
    (table,) = [b for b in reply.blocks if b["type"] == "table"]
    assert [[cell["text"] for cell in row] for row in table["rows"]][1:] == [
        ["1", "i-0aaa", "203.0.113.1", "10.0.0.1", "2026-11-28 14:03 CET", "us-east-1a"],
        ["2", "i-0bbb", "(private only)", "10.0.0.1", "2026-11-28 14:03 CET", "us-east-1a"],
    ]
    assert table["column_settings"][0] == {"align": "right"}  # the instance number


# -- on moto


def test_lists_environments_with_status_health_and_running_instance_counts(
    ctx: CommandContext, aws_clients: AwsClients
) -> None:
    create_environment(aws_clients, "shop-prod", "shop-staging-2")
    ec2 = aws_clients.client("ec2")
    launch(ec2, "shop-prod", 2)
    ec2.stop_instances(InstanceIds=launch(ec2, "shop-staging-2"))
    launch(ec2, "some-asg", 1, tag="aws:autoscaling:groupName")

    reply = run(ctx, "")

    assert reply.ok and reply.public
    assert reply.text.splitlines() == [
        "Elastic Beanstalk environments in us-east-1",
        "environment     status  health          running",
        "shop-prod       Ready   Grey (No Data)        2",
        "shop-staging-2  Ready   Grey (No Data)        0",
    ]
    assert "shop-staging-2" in blocks_text(reply)


def test_no_environments_is_an_answer_not_an_error(ctx: CommandContext) -> None:
    reply = run(ctx, "--region eu-west-1")
    assert reply.ok
    assert reply.text == "No Elastic Beanstalk environments in eu-west-1."


def test_table_shows_only_running_instances_oldest_first_in_the_bots_time_zone(
    ctx: CommandContext, aws_clients: AwsClients
) -> None:
    ec2 = aws_clients.client("ec2")
    launch(ec2, "my-env-2", 3)
    stopped, terminated = launch(ec2, "my-env-2", 2)
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[terminated])
    launch(ec2, "my-env-20", 1)  # a name that only starts the same

    reply = run(ctx, "my-env-2")

    expected = running_in_order(ec2, "my-env-2")
    lines = reply.text.splitlines()
    assert lines[0] == "my-env-2: 3 running instances, oldest first"
    assert len(lines) == 5
    for n, (line, raw) in enumerate(zip(lines[2:], expected, strict=True), 1):
        launched = raw["LaunchTime"].astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")
        assert line.split("  ")[0].strip() == str(n)
        assert raw["InstanceId"] in line and raw["PublicIpAddress"] in line and launched in line
        assert launched.endswith(("CET", "CEST"))
    assert stopped not in reply.text and terminated not in reply.text


def test_instance_without_public_ip_is_labelled_and_answers_with_its_private_ip(
    ctx: CommandContext, aws_clients: AwsClients
) -> None:
    ec2 = aws_clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]
    assert subnet["MapPublicIpOnLaunch"] is False
    (private,) = launch(ec2, "internal-env", 1, SubnetId=subnet["SubnetId"])

    table = run(ctx, "internal-env")
    nth = run(ctx, "internal-env 1")

    assert "(private only)  10.9.1." in table.text
    assert nth.text.startswith(f"internal-env #1 of 1: 10.9.1.4 (private only), instance {private}")
    assert "us-east-1b" in nth.text


def test_nth_gives_the_address_and_id(ctx: CommandContext, aws_clients: AwsClients) -> None:
    ec2 = aws_clients.client("ec2")
    launch(ec2, "my-env", 3)
    second = running_in_order(ec2, "my-env")[1]

    reply = run(ctx, "my-env 2")

    assert reply.ok and reply.public
    assert reply.text.splitlines()[0] == (
        f"my-env #2 of 3: {second['PublicIpAddress']}, instance {second['InstanceId']}"
    )


def test_unknown_environment_no_running_instance_and_out_of_range_each_say_so(
    ctx: CommandContext, aws_clients: AwsClients
) -> None:
    create_environment(aws_clients, "empty-env", "busy-env")
    launch(aws_clients.client("ec2"), "busy-env", 2)

    unknown, empty, beyond = run(ctx, "nosuch-env"), run(ctx, "empty-env"), run(ctx, "busy-env 3")

    assert (
        unknown.text == "There is no Elastic Beanstalk environment called nosuch-env in us-east-1; `/eb-ip` lists them."
    )
    assert empty.text == "Environment empty-env has no running instance in us-east-1 (status Ready)."
    assert beyond.text == "busy-env has 2 running instances in us-east-1; there is no #3."
    for reply in (unknown, empty, beyond):
        assert not reply.ok and not reply.public


def test_bad_name_is_refused_with_usage_before_any_aws_call(ctx: CommandContext) -> None:
    reply = run(ctx, "my-env;reboot")
    assert not reply.ok and not reply.public
    assert "is not an environment name" in reply.text
    assert f"Usage: `/eb-ip {COMMAND.usage_hint}`" in reply.text
    assert "env n run CHECK | env ssh-config [--ssm] | token | revoke USER] [--region R] [--asg]" in reply.text


def test_auto_scaling_group_by_its_tag(ctx: CommandContext, aws_clients: AwsClients) -> None:
    autoscaling = aws_clients.client("autoscaling")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc", ImageId="ami-12345678", InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="team/web-asg", LaunchConfigurationName="lc", MinSize=2, MaxSize=2,
        AvailabilityZones=["us-east-1a"],
    )  # fmt: skip

    table = run(ctx, "--asg team/web-asg")
    unknown = run(ctx, "--asg nosuch")

    assert table.text.splitlines()[0] == "Auto Scaling group team/web-asg: 2 running instances, oldest first"
    assert unknown.text == "There is no Auto Scaling group called nosuch in us-east-1."


# -- pages and states moto cannot produce: Stubber on a client of our own


@pytest.fixture
def stubbed(settings: Settings, store: Store) -> tuple[CommandContext, Any, Any]:
    aws = AwsClients()
    ctx = CommandContext(settings, aws, store, user_id="UUSER01", channel_id="CCHAN01")
    return ctx, aws.client("ec2", "eu-west-1"), aws.client("elasticbeanstalk", "eu-west-1")


def raw_instance(id: str, launched: datetime, env: str = "paged-env") -> dict[str, Any]:
    return {
        "InstanceId": id,
        "LaunchTime": launched,
        "PublicIpAddress": f"198.51.100.{int(id[-2:])}",
        "PrivateIpAddress": "10.0.0.9",
        "Placement": {"AvailabilityZone": "eu-west-1c"},
        "Tags": [{"Key": EB_TAG, "Value": env}],
    }


def test_reads_every_describe_instances_page_and_orders_across_pages(stubbed: tuple[CommandContext, Any, Any]) -> None:
    ctx, ec2, _ = stubbed
    filters = [
        {"Name": f"tag:{EB_TAG}", "Values": ["paged-env"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    pages = [
        [raw_instance("i-00000000000000003", T0 + timedelta(minutes=3))],
        [raw_instance("i-00000000000000001", T0), raw_instance("i-00000000000000005", T0 + timedelta(days=1))],
        [raw_instance("i-00000000000000002", T0), raw_instance("i-00000000000000004", T0 + timedelta(hours=5))],
    ]
    with Stubber(ec2) as stub:
        for page, instances in enumerate(pages):
            expected: dict[str, Any] = {"Filters": filters} | ({"NextToken": f"t{page}"} if page else {})
            response: dict[str, Any] = {"Reservations": [{"ReservationId": f"r-{page}", "Instances": instances}]}
            if page < len(pages) - 1:
                response["NextToken"] = f"t{page + 1}"
            stub.add_response("describe_instances", response, expected)

        reply = run(ctx, "paged-env --region eu-west-1")
        stub.assert_no_pending_responses()

    ids = re.findall(r"i-0+(\d)", reply.text)
    assert ids == ["1", "2", "3", "4", "5"]
    assert "1  i-00000000000000001  198.51.100.1  10.0.0.9    2026-11-28 14:03 CET  eu-west-1c" in reply.text
    assert "2026-11-29 14:03 CET" in reply.text


def test_environment_list_pages_through_and_leaves_out_terminated(stubbed: tuple[CommandContext, Any, Any]) -> None:
    ctx, ec2, eb = stubbed
    envs = [
        {"EnvironmentName": "zeta-env", "Status": "Ready", "Health": "Green", "HealthStatus": "Ok"},
        {"EnvironmentName": "old-env", "Status": "Terminated", "Health": "Grey"},
        {"EnvironmentName": "alpha-env", "Status": "Updating", "Health": "Yellow", "HealthStatus": "Warning"},
    ]
    with Stubber(eb) as eb_stub, Stubber(ec2) as ec2_stub:
        eb_stub.add_response(
            "describe_environments", {"Environments": envs[:2], "NextToken": "n1"}, {"IncludeDeleted": False}
        )
        eb_stub.add_response(
            "describe_environments", {"Environments": envs[2:]}, {"IncludeDeleted": False, "NextToken": "n1"}
        )
        running = [
            raw_instance(f"i-0000000000000000{n}", T0, env)
            for n, env in ((1, "zeta-env"), (2, "zeta-env"), (3, "alpha-env"))
        ]
        filters = [{"Name": "tag-key", "Values": [EB_TAG]}, {"Name": "instance-state-name", "Values": ["running"]}]
        ec2_stub.add_response("describe_instances", {"Reservations": [{"Instances": running}]}, {"Filters": filters})

        reply = run(ctx, "--region eu-west-1")

    assert reply.text.splitlines() == [
        "Elastic Beanstalk environments in eu-west-1",
        "environment  status    health            running",
        "alpha-env    Updating  Yellow (Warning)        1",
        "zeta-env     Ready     Green (Ok)              2",
    ]


def test_terminated_environment_counts_as_unknown(stubbed: tuple[CommandContext, Any, Any]) -> None:
    ctx, ec2, eb = stubbed
    with Stubber(eb) as eb_stub, Stubber(ec2) as ec2_stub:
        ec2_stub.add_response("describe_instances", {"Reservations": []})
        eb_stub.add_response(
            "describe_environments",
            {"Environments": [{"EnvironmentName": "gone-env", "Status": "Terminated"}]},
            {"EnvironmentNames": ["gone-env"], "IncludeDeleted": False},
        )
        with pytest.raises(
            CommandError, match="There is no Elastic Beanstalk environment called gone-env in eu-west-1"
        ):
            find_instances(ctx.aws, "gone-env", region="eu-west-1")


# -- tokens


def test_token_is_private_works_and_says_how_to_use_it(ctx: CommandContext) -> None:
    reply = run(ctx, "token")
    assert reply.ok and not reply.public
    (token,) = set(re.findall(r"opsbot_[A-Za-z0-9_-]{20,}", reply.text))
    assert token_owner(ctx.store, f"Bearer {token}") == "UUSER01"
    assert "~/.config/opsbot/token" in reply.text and "/eb-ip revoke me" in reply.text
    assert "Bearer $(" not in reply.text  # the token goes to curl through a pipe, never on its command line
    assert '"$(cat "$HOME/.config/opsbot/token")" | curl -fsS --max-time 20 -H @- ' in reply.text
    assert token in blocks_text(reply)


def test_anyone_revokes_their_own_tokens(ctx: CommandContext) -> None:
    token = re.findall(r"opsbot_[A-Za-z0-9_-]{20,}", run(ctx, "token").text)[0]
    reply = run(ctx, "revoke me")
    assert reply.text == "Revoked 1 token of yours."
    assert run(ctx, "revoke me").text == "You have no active tokens."
    assert token_owner(ctx.store, f"Bearer {token}") is None


def test_only_admins_revoke_someone_else_and_it_is_audited(ctx: CommandContext) -> None:
    token = re.findall(r"opsbot_[A-Za-z0-9_-]{20,}", run(ctx, "token").text)[0]
    other = CommandContext(ctx.settings, ctx.aws, ctx.store, user_id="UOTHER1", channel_id="CCHAN01")
    admin = CommandContext(ctx.settings, ctx.aws, ctx.store, user_id="UADMIN1", channel_id="CCHAN01")

    refused = run(other, "revoke <@UUSER01|user>")
    assert not refused.ok and refused.text.startswith("Only opsbot admins may revoke another user's tokens")
    assert token_owner(ctx.store, f"Bearer {token}") == "UUSER01"

    done = run(admin, "revoke <@UUSER01|user>")
    assert done.ok and not done.public
    assert done.text == "Revoked 1 token of user UUSER01."
    assert "<@UUSER01>" in blocks_text(done)
    assert token_owner(ctx.store, f"Bearer {token}") is None
    (entry,) = ctx.store.audit_log("token.revoke")
    assert (entry.user_id, entry.detail) == ("UADMIN1", {"user": "UUSER01", "revoked": 1})


def test_help_lists_every_form(ctx: CommandContext) -> None:
    text = run(ctx, "help").text
    for form in ("`/eb-ip`", "`/eb-ip my-env`", "`/eb-ip my-env 2`", "ssh-config", "--ssm", "`/eb-ip token`",
                 "`/eb-ip revoke me`", "--region", "--asg", "GET /eb/ENV/ip", "accept-new"):  # fmt: skip
        assert form in text
