"""deploy/slack-bot.yaml's /scores poller: a second function on the same code and table, run every
minute by EventBridge; every handler the templates name is one bot.lambda_handler has; the poller's
role grants exactly what a recorded run of it on moto calls, and its variables are ones it reads."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot import lambda_handler
from bot.aws import AwsClients
from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from bot.local.slack_standin import SlackStandIn
from bot.slack.outbox import DeliveryPolicy
from bot.state import Store
from commands import COMMANDS
from commands.scores.history import Game, save_game
from tests.deploy.test_templates import (
    RecordingAws,
    create_delivery_queue,
    create_state_table,
    delivery_sender,
    drained,
    load_template,
    policy_statements,
    sender_actions,
    variables_the_bot_reads,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))


def poller() -> dict[str, Any]:
    props: dict[str, Any] = load_template(DEPLOY / "slack-bot.yaml")["Resources"]["ScoresPollerFunction"]["Properties"]
    return props


def actions() -> set[str]:
    found = set()
    for statement in policy_statements(poller()):
        listed = statement["Action"]
        found |= {listed} if isinstance(listed, str) else set(listed)
    return found


def functions(template: Path) -> dict[str, dict[str, Any]]:
    resources = load_template(template)["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_handler_a_template_names_is_an_entry_point_of_the_lambda_handler(template: Path) -> None:
    entries = {"slack_handler", "delivery_handler"} | {e.name for c in COMMANDS for e in c.lambda_entries}
    for name, props in functions(template).items():
        module_name, _, function_name = props["Handler"].rpartition(".")
        assert module_name == "bot.lambda_handler", name
        assert function_name in entries, f"{name}: {function_name} is not one of {sorted(entries)}"
        assert callable(getattr(importlib.import_module(module_name), function_name))


def test_the_poller_runs_every_minute_on_the_bots_code_and_table() -> None:
    props = poller()
    assert props["Handler"] == "bot.lambda_handler.scores_handler"
    (event,) = props["Events"].values()
    assert event == {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(1 minute)", "Description": "opsbot /scores poller tick"},
    }
    bot = functions(DEPLOY / "slack-bot.yaml")["SlackBotFunction"]
    assert props["CodeUri"] == bot["CodeUri"] and props["Runtime"] == bot["Runtime"]
    assert props["Environment"]["Variables"]["OPSBOT_STATE"] == bot["Environment"]["Variables"]["OPSBOT_STATE"]
    assert props["Timeout"] > DeliveryPolicy().wait  # its posts reach Slack before it returns
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_the_pollers_variables_are_ones_it_reads() -> None:
    read = variables_the_bot_reads()
    variables = set(poller()["Environment"]["Variables"])
    assert variables <= read, sorted(variables - read)


def test_the_pollers_role_grants_exactly_what_it_calls(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("ssm").put_parameter(Name="/opsbot/slack-bot-token", Value="xoxb-standin", Type="SecureString")
    state = create_state_table("opsbot-poller-state")
    recording = RecordingAws()
    monkeypatch.setattr(lambda_handler, "_aws", lambda: recording)
    lambda_handler.forget_container()
    with SlackStandIn() as slack, scoreboard_server(ScoreboardGame()) as (base, _game):
        save_game(Store.open(state, AwsClients()), Game("gameday", f"{base}/prod/scores", 5))
        for name, value in {
            "OPSBOT_STATE": state,
            "OPSBOT_SLACK_TOKEN_PARAMETER": "/opsbot/slack-bot-token",
            "OPSBOT_SCORES_CHANNEL": "CSCORES",
            "OPSBOT_SCORES_POST_EVERY_MINUTES": "1",
            "OPSBOT_SCORES_ALLOW_HTTP_HOSTS": "127.0.0.1",  # the simulator is plain http on loopback
            "SLACK_API_URL": slack.api_url,
            "OPSBOT_DELIVERY_QUEUE_URL": create_delivery_queue(),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        sender = RecordingAws()
        try:
            assert lambda_handler.scores_handler({}, None) == {"polled": ["gameday"], "failed": {}}
            lambda_handler.forget_container()  # a cold start: the poll state is in the table
            assert lambda_handler.scores_handler({}, None) == {"polled": [], "failed": {}}  # not due yet
            with delivery_sender(sender):
                drained(os.environ["OPSBOT_DELIVERY_QUEUE_URL"])
        finally:
            lambda_handler.forget_container()
        (upload,) = slack.uploads.values()
        assert upload["channel"] == "CSCORES" and upload["content"].startswith(b"\x89PNG")

    granted = actions() - {"kms:Decrypt"}  # only for a customer managed key
    assert recording.called == granted, sorted(recording.called ^ granted)
    assert sender.called <= sender_actions(), sorted(sender.called - sender_actions())


def test_the_bot_and_the_poller_state_the_schedules_tick() -> None:
    """`/scores start` states the interval kept: on Lambda that is the schedule's rate, in both functions."""
    rate = poller()["Events"]["Tick"]["Properties"]["Schedule"]
    assert rate == "rate(1 minute)"
    found = functions(DEPLOY / "slack-bot.yaml")
    for name in ("SlackBotFunction", "ScoresPollerFunction"):
        assert found[name]["Environment"]["Variables"]["OPSBOT_SCORES_TICK_SECONDS"] == "60", name
