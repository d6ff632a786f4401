"""The whole product on loopback: a signed /eb-ip through the real HTTP server and Bolt, AWS from
moto's server, the answer delivered to the Slack stand-in; then the ssh endpoint with a token."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.aws import AwsClients
from commands import COMMANDS

if TYPE_CHECKING:
    from tests.conftest import Bot


def _launch(aws: AwsClients, env: str, count: int) -> list[str]:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "elasticbeanstalk:environment-name", "Value": env}]}]
    reply = aws.client("ec2").run_instances(
        ImageId="ami-12c6146b", MinCount=count, MaxCount=count, TagSpecifications=tags
    )
    return sorted(i["InstanceId"] for i in reply["Instances"])


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_eb_ip_from_slack_to_moto_and_back(moto: str, aws_clients: AwsClients, serve_bot: Callable[..., Bot]) -> None:
    ids = _launch(aws_clients, "shop-prod", 3)
    bot = serve_bot(COMMANDS, OPSBOT_TIMEZONE="Europe/Berlin")

    status, url = bot.send("shop-prod", command="/eb-ip")
    assert status == 200
    reply = bot.reply_to(url)
    assert reply["response_type"] == "in_channel"
    assert "shop-prod: 3 running instances, oldest first" in reply["text"]
    assert [i for i in ids if i in reply["text"]] == ids  # same launch second: ties broken by id
    assert "CET" in reply["text"]
    assert reply["blocks"], "Slack gets Block Kit, not only text"

    status, url = bot.send("shop-prod 4", command="/eb-ip")
    reply = bot.reply_to(url)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "shop-prod has 3 running instances in us-east-1; there is no #4."


def test_token_from_slack_opens_the_ssh_endpoint(
    moto: str, aws_clients: AwsClients, serve_bot: Callable[..., Bot]
) -> None:
    _launch(aws_clients, "shop-prod", 2)
    bot = serve_bot(COMMANDS)
    assert _get(bot.base_url + "/eb/shop-prod/ip/1")[0] == 401

    _, url = bot.send("token", command="/eb-ip", user_id="U0ALICE")
    reply = bot.reply_to(url)
    assert reply["response_type"] == "ephemeral"
    token = next(word for word in reply["text"].replace("'", " ").split() if word.startswith("opsbot_"))

    status, body = _get(bot.base_url + "/eb/shop-prod/ip", token)
    assert status == 200 and len(body.splitlines()) == 2
    assert _get(bot.base_url + "/eb/shop-prod/ip/2", token) == (200, body.splitlines()[1] + "\n")
    assert _get(bot.base_url + "/eb/shop-prod/ip/3", token)[0] == 404
    assert _get(bot.base_url + "/eb/bad;name/ip", token)[0] == 400

    (entry, *_) = bot.runtime.store.audit_log("http")
    assert entry.user_id == "U0ALICE" and entry.detail["status"] == 400
