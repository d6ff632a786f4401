"""Accounts through the real entry points: a signed slash command, a button press, an HTTP route.

The bot is served over real HTTP against the Slack stand-in and a moto server; the role in the
second moto account is assumed as the Slack user who asked. The clients (and the sessions they
keep) are shared by the whole test session while moto is emptied before each test, so each test
asks as a user of its own: a session assumed before a reset is unknown to moto after it.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.command import CommandContext, HttpRequest, HttpResponse, Route, SlashCommand
from bot.local.slack_requests import button_press_form, send_signed, slash_command_form
from bot.reply import Reply
from bot.tokens import issue_token
from tests.conftest import SIGNING_SECRET

if TYPE_CHECKING:
    from tests.conftest import Bot

OTHER = "222222222222"
CONFIG = f"""
[accounts.own]
[accounts.prod]
role_arn = "arn:aws:iam::{OTHER}:role/opsbot-read"
label = "Production"

[channels.CPROD01]
default_account = "prod"
accounts = ["prod", "own"]

[channels.COWN001]
default_account = "own"
"""


def _arn(ctx: CommandContext) -> str:
    return str(ctx.aws.client("sts").get_caller_identity()["Arn"])


def _who_route(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    return HttpResponse(200, _arn(ctx) + "\n")


def _offer(text: str, ctx: CommandContext) -> Reply:
    button = {"type": "button", "action_id": "whoami", "text": {"type": "plain_text", "text": "Who"}, "value": "v1"}
    return Reply(text="press", blocks=[{"type": "actions", "elements": [button]}])


WHO = SlashCommand(
    name="/who",
    summary="who",
    usage_hint="",
    help="",
    handle=_offer,
    routes=(Route("GET", re.compile("/who"), _who_route),),
    buttons={"whoami": lambda value, ctx: Reply(f"{value} as {_arn(ctx)}")},
)


def serve(serve_bot: Callable[..., Bot], tmp_path: Path, extra: str = "") -> Bot:
    path = tmp_path / "accounts.toml"
    path.write_text(CONFIG + extra)
    return serve_bot([WHO], OPSBOT_CONFIG=str(path))


def press(bot: Bot, value: str, channel: str, user: str) -> dict[str, object]:
    url = bot.standin.new_response_url(channel)
    send_signed(bot.events_url, SIGNING_SECRET, button_press_form("whoami", value, url, user, channel))
    return bot.reply_to(url)


def test_a_signed_command_acts_in_the_channels_account_and_binds_its_button(
    serve_bot: Callable[..., Bot], tmp_path: Path, moto: str
) -> None:
    bot = serve(serve_bot, tmp_path)
    url = bot.standin.new_response_url("CPROD01")
    send_signed(bot.events_url, SIGNING_SECRET, slash_command_form("/who", "", url, "U0ALICE", "CPROD01"))
    reply = bot.reply_to(url)
    blocks = reply["blocks"]
    assert isinstance(blocks, list)
    assert blocks[0]["elements"][0]["value"] == "account:prod v1"
    assert blocks[-1]["elements"][0]["text"] == "AWS account: *prod (Production)*"

    pressed = press(bot, "account:prod v1", "CPROD01", "U0ALICE")
    assert pressed["text"] == (
        f"v1 as arn:aws:sts::{OTHER}:assumed-role/opsbot-read/slack-U0ALICE\n_AWS account: *prod (Production)*_"
    )


def test_a_button_bound_to_an_account_the_channel_may_not_use_is_refused(
    serve_bot: Callable[..., Bot], tmp_path: Path, moto: str
) -> None:
    bot = serve(serve_bot, tmp_path)
    refused = press(bot, "account:prod v1", "COWN001", "U0BOB01")
    assert refused["text"] == "This channel may not use that account; `--account` takes one of: `own`."
    own = press(bot, "v1", "COWN001", "U0BOB01")  # a message from before accounts: the channel's default
    assert str(own["text"]).startswith("v1 as arn:aws:sts::123456789012:")


def _get(bot: Bot, token: str) -> tuple[int, str]:
    request = urllib.request.Request(bot.base_url + "/who", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_http_routes_act_in_the_star_account_as_the_tokens_owner(
    serve_bot: Callable[..., Bot], tmp_path: Path, moto: str
) -> None:
    bot = serve(serve_bot, tmp_path, '[channels."*"]\ndefault_account = "prod"\n')
    token = issue_token(bot.runtime.store, "U0CAROL")
    assert _get(bot, token) == (200, f"arn:aws:sts::{OTHER}:assumed-role/opsbot-read/slack-U0CAROL\n")


def test_http_routes_without_an_account_for_them_are_refused(
    serve_bot: Callable[..., Bot], tmp_path: Path, moto: str
) -> None:
    bot = serve(serve_bot, tmp_path)
    token = issue_token(bot.runtime.store, "U0DAVE1")
    status, body = _get(bot, token)
    assert status == 403 and body.startswith("No AWS account is set for this channel")
