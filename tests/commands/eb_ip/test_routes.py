"""/eb-ip over HTTP: the routes through bot.http, then the real WSGI app on waitress."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.http import route_request
from bot.runtime import Runtime
from bot.state import Store
from commands import COMMANDS
from commands.eb_ip.instances import EB_TAG

ENV = "my-env-2"  # ends in a digit: `ssh my-env-2.3` must still mean instance 3


def launch(aws: AwsClients, env: str, count: int) -> list[dict[str, Any]]:
    """Instances as /eb-ip numbers them: launch time, then instance id."""
    ec2 = aws.client("ec2")
    tags = [{"ResourceType": "instance", "Tags": [{"Key": EB_TAG, "Value": env}]}]
    made = ec2.run_instances(ImageId="ami-12345678", MinCount=count, MaxCount=count, TagSpecifications=tags)
    return sorted(made["Instances"], key=lambda i: (i["LaunchTime"], i["InstanceId"]))


def get(runtime: Runtime, path: str, token: str | None) -> tuple[int, str]:
    response = route_request(runtime, COMMANDS, "GET", path, f"Bearer {token}" if token else None)
    return response.status, response.body


# -- routes through bot.http.route_request


def test_route_answers_one_address_per_line_oldest_first(runtime: Runtime, token: str) -> None:
    instances = launch(runtime.aws, ENV, 3)
    assert get(runtime, f"/eb/{ENV}/ip", token) == (200, "".join(i["PublicIpAddress"] + "\n" for i in instances))
    assert get(runtime, f"/eb/{ENV}/ip/3", token) == (200, instances[2]["PublicIpAddress"] + "\n")
    assert get(runtime, f"/eb/{ENV}/id/2", token) == (200, instances[1]["InstanceId"] + "\n")
    assert get(runtime, f"/region/us-east-1/eb/{ENV}/ip/1", token) == (200, instances[0]["PublicIpAddress"] + "\n")


def test_route_refuses_without_a_token_or_with_a_revoked_one(runtime: Runtime, token: str, store: Store) -> None:
    launch(runtime.aws, ENV, 1)
    assert get(runtime, f"/eb/{ENV}/ip/1", None) == (401, "missing or revoked token; get one with `/eb-ip token`\n")
    assert get(runtime, f"/eb/{ENV}/ip/1", "opsbot_made-up")[0] == 401
    store.revoke_tokens("UUSER01")
    assert get(runtime, f"/eb/{ENV}/ip/1", token)[0] == 401


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (f"/eb/{ENV}/ip/4", 404, "my-env-2 has 3 running instances in us-east-1; there is no #4.\n"),
        ("/eb/nosuch-env/ip", 404, "There is no Elastic Beanstalk environment called nosuch-env in us-east-1"),
        ("/eb/ab/ip/1", 400, "`ab` is not an environment name."),
        ("/eb/my$(id)env/ip/1", 400, "it contains '$' (U+0024 DOLLAR SIGN)"),
        (f"/eb/{ENV}/ip/0", 400, "Instances are numbered from 1"),
        (f"/eb/{ENV}/ip/1e3", 400, "Expected an instance number"),
        (f"/region/mars-1/eb/{ENV}/ip/1", 400, "`--region` takes an AWS region such as eu-west-1, not `mars-1`."),
        (f"/eb/{ENV}/ip/1/2", 404, "no such route"),
    ],
)
def test_route_errors_map_to_statuses(runtime: Runtime, token: str, path: str, status: int, body: str) -> None:
    launch(runtime.aws, ENV, 3)
    got_status, got_body = get(runtime, path, token)
    assert got_status == status
    assert body in got_body


def test_route_for_an_auto_scaling_group_whose_name_has_a_slash(runtime: Runtime, token: str) -> None:
    autoscaling = runtime.aws.client("autoscaling")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc", ImageId="ami-12345678", InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="team/web", LaunchConfigurationName="lc", MinSize=2, MaxSize=2,
        AvailabilityZones=["us-east-1a"],
    )  # fmt: skip
    status, body = get(runtime, "/asg/team/web/ip", token)
    assert status == 200 and len(body.splitlines()) == 2
    assert get(runtime, "/asg/team/web/id/2", token)[1].startswith("i-")
    assert get(runtime, "/asg/team/web/ip/3", token)[0] == 404


def fetch(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_served_route_answers_with_a_token_and_audits_each_request(
    served: str, runtime: Runtime, token: str, store: Store
) -> None:
    instances = launch(runtime.aws, ENV, 2)

    assert fetch(f"{served}/eb/{ENV}/ip/2", token) == (200, instances[1]["PublicIpAddress"] + "\n")
    assert fetch(f"{served}/eb/{ENV}/ip/2", None)[0] == 401
    assert fetch(f"{served}/eb/{ENV}/ip/9", token)[0] == 404

    entries = store.audit_log("http")
    assert [(e.user_id, e.detail["path"], e.detail["status"]) for e in reversed(entries)] == [
        ("UUSER01", f"/eb/{ENV}/ip/2", 200),
        ("UUSER01", f"/eb/{ENV}/ip/9", 404),
    ]
