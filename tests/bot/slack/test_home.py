"""The App Home and @mentions through the real stack: signed Events API requests to the served Bolt app,
views.publish and chat.postMessage read back from the Slack stand-in, state in the bot's real store.
The features' sections are the real commands' own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.local.slack_requests import home_button_form, home_opened, mentioned, send_signed
from bot.slack.blocks import buttons
from bot.tokens import issue_token, token_hash
from commands import COMMANDS
from commands.lambda_capacity.monitor import STATE_NAMESPACE
from commands.lambda_capacity.storage import sample_series
from commands.scores.history import Game, save_game
from commands.tail.follows import RunningFollow, stop_asked, take_slot
from tests.conftest import SIGNING_SECRET

if TYPE_CHECKING:
    from tests.conftest import Bot

ME = "U0DEMO"


@pytest.fixture
def bot(serve_bot: Callable[..., Bot]) -> Bot:
    served = serve_bot(COMMANDS)
    store, now = served.runtime.store, time.time()
    take_slot(store, 2, RunningFollow("f1", ME, "C0DEMO", "/aws/lambda/orders", now + 300))
    take_slot(store, 2, RunningFollow("f2", "U0OTHER", "C0DEMO", "/aws/lambda/theirs", now + 300))
    save_game(store, Game("gameday", "https://scores.example/board.json", 30.0, "UADMIN1", now))
    store.add_sample(sample_series("eu-west-1"), now - 60, 61.5 * 2**30)
    store.put(STATE_NAMESPACE, "eu-west-1", {"alerting": True, "at": now - 60})
    return served


def texts(blocks: list[dict[str, Any]]) -> str:
    found = []
    for block in blocks:
        found.append(block.get("text", {}).get("text", ""))
        found += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(found)


def open_home(bot: Bot, publishes: int = 1) -> dict[str, Any]:
    assert send_signed(bot.events_url, SIGNING_SECRET, home_opened(ME)).status == 200
    bot.standin.wait_for("views.publish", publishes)
    view = bot.standin.home_of(ME)
    assert view is not None
    View(type="home", blocks=Block.parse_all(view["blocks"])).to_dict()  # raises past any Block Kit limit
    return view


def test_the_home_shows_every_feature_and_what_it_does_for_the_reader(bot: Bot) -> None:
    view = open_home(bot)
    shown = texts(view["blocks"])

    for command in COMMANDS:
        assert f"*{command.name}*" in shown and command.help[:40] in shown
    assert "`/aws/lambda/orders`" in shown and "theirs" not in shown  # only the reader's follows
    assert "`gameday` every 30 s, next poll" in shown
    assert "`eu-west-1`  61.5 GiB at" in shown and ":red_circle: above the alert threshold" in shown
    actions = {b["action_id"]: b["value"] for b in buttons(view["blocks"])}
    assert actions == {"tail_stop_follow": "f1", "eb_ip_revoke_my_tokens": "me"}


def test_the_stop_button_stops_the_readers_follow_and_the_home_says_so(bot: Bot) -> None:
    open_home(bot)
    assert send_signed(bot.events_url, SIGNING_SECRET, home_button_form("tail_stop_follow", "f1", ME)).status == 200
    bot.standin.wait_for("views.publish", 2)

    follow = RunningFollow("f1", ME, "C0DEMO", "/aws/lambda/orders", 0)
    assert stop_asked(bot.runtime.store, follow)
    assert "Stopping the follow of `/aws/lambda/orders`" in texts(bot.standin.home_of(ME)["blocks"])  # type: ignore[index]


def test_the_stop_button_cannot_stop_someone_elses_follow(bot: Bot) -> None:
    assert send_signed(bot.events_url, SIGNING_SECRET, home_button_form("tail_stop_follow", "f2", ME)).status == 200
    bot.standin.wait_for("views.publish")

    assert not stop_asked(bot.runtime.store, RunningFollow("f2", "U0OTHER", "C0DEMO", "/aws/lambda/theirs", 0))
    assert "someone else's" in texts(bot.standin.home_of(ME)["blocks"])  # type: ignore[index]


def test_the_revoke_button_revokes_the_readers_tokens_only(bot: Bot) -> None:
    mine, theirs = issue_token(bot.runtime.store, ME), issue_token(bot.runtime.store, "U0OTHER")
    assert (
        send_signed(bot.events_url, SIGNING_SECRET, home_button_form("eb_ip_revoke_my_tokens", "U0OTHER", ME)).status
        == 200
    )
    bot.standin.wait_for("views.publish")

    assert bot.runtime.store.token_owner(token_hash(mine)) is None
    assert bot.runtime.store.token_owner(token_hash(theirs)) == "U0OTHER"
    assert "Revoked 1 token of yours." in texts(bot.standin.home_of(ME)["blocks"])  # type: ignore[index]


def test_a_mention_is_answered_in_its_thread_with_the_overview(bot: Bot) -> None:
    assert (
        send_signed(
            bot.events_url, SIGNING_SECRET, mentioned("<@U0OPSBOT> what can you do?", "1700000000.000100")
        ).status
        == 200
    )
    bot.standin.wait_for("chat.postMessage")

    (answer,) = bot.standin.messages("C0DEMO")
    assert answer["thread_ts"] == "1700000000.000100"
    for command in COMMANDS:
        assert f"*{command.name}*" in texts(answer["blocks"])
    [block.to_dict() for block in Block.parse_all(answer["blocks"])]  # within Block Kit limits
    assert len(answer["blocks"]) <= 50
