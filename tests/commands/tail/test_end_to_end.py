"""/tail through the real stack: a signed slash command over HTTP, Bolt, moto's server, the stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable

from commands import COMMANDS
from tests.commands.tail.conftest import Seeder
from tests.conftest import Bot


def test_tail_from_slack_to_moto_and_back(seed_group: Seeder, serve_bot: Callable[..., Bot]) -> None:
    seed_group("/aws/lambda/orders", "classic_python.jsonl", "json_format.jsonl")
    bot = serve_bot(COMMANDS, OPSBOT_TIMEZONE="Europe/Berlin")

    status, url = bot.send("orders --since 1h", command="/tail")

    assert status == 200
    reply = bot.reply_to(url)
    assert reply["response_type"] == "in_channel"
    assert "orders since" in reply["text"] and "9 invocations" in reply["text"]
    blocks = json.dumps([reply["blocks"], reply["attachments"]])
    assert "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6" in blocks  # classic format
    assert "9b2d6f3e-1111-4c2a-8b1e-5d4c3b2a1900" in blocks  # JSON format
    assert "CET" in blocks and ":red_circle:" in blocks
    assert {a["color"] for a in reply["attachments"]} >= {"#2eb886", "#e01e5a"}  # Slack's colour bars

    status, url = bot.send("nosuchfunction", command="/tail")
    reply = bot.reply_to(url)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "There is no log group `/aws/lambda/nosuchfunction` in us-east-1."
