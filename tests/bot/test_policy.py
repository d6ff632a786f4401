"""The policy: each rule kind, user groups read from the Slack stand-in, a refused button, and a red-team
walk over everything the bot offers (commands, verbs, buttons, HTTP routes) with no way around the rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.command import CommandContext, HttpRequest, HttpResponse, Route, SlashCommand, Verb, first_word, run_button
from bot.command import run_command as run
from bot.http import route_request
from bot.local.slack_standin import SlackStandIn
from bot.policy import Action, Asker, Policy, Rule
from bot.reply import Reply
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.usergroups import UsergroupMembers
from bot.tokens import issue_token
from commands import COMMANDS

reached: list[str] = []


def _reach(what: str) -> Reply:
    reached.append(what)
    return Reply(f"did {what}")


PROBE = SlashCommand(
    name="/probe",
    summary="",
    usage_hint="",
    help="",
    handle=lambda text, ctx: _reach(f"handle {text}"),
    buttons={"boom": lambda value, ctx: _reach(f"press {value}"), "peek": lambda value, ctx: _reach("peek")},
    verbs=(Verb("wipe", first_word("wipe"), destructive=True, buttons=("boom",)), Verb("look", first_word("look"))),
    aws=False,
)


def settings_with(tmp_path: Path, policy: str, admins: str = "UADMIN1") -> Settings:
    path = tmp_path / "policy.toml"
    path.write_text(policy)
    return load_settings({"OPSBOT_CONFIG": str(path), "OPSBOT_ADMINS": admins})


def as_(ctx: CommandContext, settings: Settings, user: str = "UUSER01", channel: str = "CCHAN01") -> CommandContext:
    return dataclasses.replace(ctx, settings=settings, user_id=user, channel_id=channel)


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    reached.clear()
    yield
    reached.clear()


NOBODY: dict[str, frozenset[str] | None] = {}


def members(group: str) -> frozenset[str] | None:
    return NOBODY.get(group, frozenset())


def refusal(policy: Policy, action: Action, user: str = "UUSER01", channel: str = "CCHAN01", account: str = "prod"):
    return policy.refusal(action, Asker(user, channel, account), members)


# --- each rule kind (pure) ----------------------------------------------------------------------------

WIPE = Action("/probe wipe", destructive=True)
LOOK = Action("/probe look")


def test_without_rules_only_destructive_verbs_are_refused() -> None:
    assert refusal(Policy(), LOOK) is None and refusal(Policy(), Action("/probe")) is None
    assert (
        refusal(Policy(), WIPE)
        == "`/probe wipe` changes things, and no policy rule allows it for you (see OPSBOT_ADMINS)."
    )


def test_opsbot_admins_is_one_allow_rule_for_destructive_verbs() -> None:
    policy = Policy().with_admins(frozenset({"UADMIN1"}))
    assert refusal(policy, WIPE, user="UADMIN1") is None
    assert (
        refusal(policy, WIPE)
        == "Only opsbot admins may use `/probe wipe` (policy rule `OPSBOT_ADMINS`); ask one of them."
    )
    assert refusal(policy, LOOK) is None  # the shorthand makes nothing else admins-only


@pytest.mark.parametrize(
    ("rule", "allowed", "refused"),
    [
        (Rule("by-user", True, frozenset({"/probe wipe"}), users=frozenset({"UOK0001"})), {"user": "UOK0001"}, {}),
        (
            Rule("by-channel", True, frozenset({"/probe wipe"}), channels=frozenset({"COPS001"})),
            {"channel": "COPS001"},
            {},
        ),
        (Rule("by-account", True, frozenset({"/probe wipe"}), accounts=frozenset({"dev"})), {"account": "dev"}, {}),
        (
            Rule("by-group", True, frozenset({"/probe wipe"}), usergroups=frozenset({"SOPS001"})),
            {"user": "UINGRP1"},
            {},
        ),
    ],
)
def test_each_kind_of_allow_rule(rule: Rule, allowed: dict[str, str], refused: dict[str, str]) -> None:
    NOBODY["SOPS001"] = frozenset({"UINGRP1"})
    policy = Policy((rule,))
    assert refusal(policy, WIPE, **allowed) is None
    said = refusal(policy, WIPE, **refused)
    assert (
        said
        == f"`/probe wipe` is allowed only by the policy rule(s) `{rule.name}`, and none of them includes you here."
    )


def test_a_deny_rule_wins_and_names_itself() -> None:
    policy = Policy((Rule("no-prod-wipes", False, frozenset({"/probe"}), accounts=frozenset({"prod"})),)).with_admins(
        frozenset({"UADMIN1"})
    )
    assert refusal(policy, WIPE, user="UADMIN1") == "`/probe wipe` is refused here by the policy rule `no-prod-wipes`."
    assert refusal(policy, LOOK) == "`/probe look` is refused here by the policy rule `no-prod-wipes`."  # verbs too
    assert refusal(policy, WIPE, user="UADMIN1", account="dev") is None


def test_an_allow_of_a_whole_command_does_not_allow_its_destructive_verbs() -> None:
    policy = Policy((Rule("probe-for-ops", True, frozenset({"/probe"}), channels=frozenset({"COPS001"})),))
    assert refusal(policy, LOOK, channel="COPS001") is None
    assert refusal(policy, LOOK, channel="CELSE01") is not None  # naming a command makes it allow-listed
    assert refusal(policy, WIPE, channel="COPS001") is not None


def test_an_unreadable_group_lets_no_allow_through_and_every_deny_refuse() -> None:
    NOBODY["SDOWN01"] = None
    allow = Rule("group-allow", True, frozenset({"/probe wipe"}), usergroups=frozenset({"SDOWN01"}))
    deny = Rule("group-deny", False, frozenset({"/probe look"}), usergroups=frozenset({"SDOWN01"}))
    assert refusal(Policy((allow,)), WIPE) is not None
    assert refusal(Policy((deny,)), LOOK) == "`/probe look` is refused here by the policy rule `group-deny`."


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[policy]]\nusers = ["U0AAA11"]', "either allow"),
        ('[[policy]]\nallow = ["/probe"]\ndeny = ["/probe"]', "either allow"),
        ('[[policy]]\nallow = ["probe"]', "not an action: 'probe'"),
        ('[[policy]]\nallow = ["/probe"]\nusergroups = ["ops"]', "not a Slack user group id"),
        ('[[policy]]\nallow = ["/probe"]\naccounts = ["nope"]', "accounts"),
        ('[[policy]]\nallow = ["/probe"]\nwho = 1', "unknown key who"),
    ],
)
def test_bad_policy_settings_name_the_rule_and_key(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(complaint)):
        settings_with(tmp_path, text)


# --- through the plumbing -------------------------------------------------------------------------------

ALLOW_OPS = '[[policy]]\nname = "ops may wipe"\nallow = ["/probe wipe"]\nusergroups = ["SOPS001"]\n'


def test_a_refused_button_press_never_reaches_the_handler(tmp_path: Path, ctx: CommandContext) -> None:
    settings = settings_with(tmp_path, ALLOW_OPS, admins="")
    refused = run_button(PROBE, "boom", "v1", as_(ctx, settings))
    assert not refused.ok and "`ops may wipe`" in refused.text and reached == []
    ops = dataclasses.replace(as_(ctx, settings), members=lambda group: frozenset({"UUSER01"}))
    assert run_button(PROBE, "boom", "v1", ops).text == "did press v1"


def test_group_membership_is_read_from_slack_and_a_change_counts_after_the_cache(
    tmp_path: Path, ctx: CommandContext
) -> None:
    now = [0.0]
    with SlackStandIn() as standin:
        standin.usergroups["SOPS001"] = ["UADMIN9"]
        cache = UsergroupMembers(WebClient(token=standin.bot_token, base_url=standin.api_url), 60, lambda: now[0])
        user = dataclasses.replace(as_(ctx, settings_with(tmp_path, ALLOW_OPS)), members=cache)
        assert not run(PROBE, "wipe", user).ok
        standin.usergroups["SOPS001"] = ["UADMIN9", "UUSER01"]
        now[0] = 59.0
        assert not run(PROBE, "wipe", user).ok  # still the cached membership
        now[0] = 61.0
        assert run(PROBE, "wipe", user).text == "did handle wipe"
        assert len(standin.calls_to("usergroups.users.list")) == 2  # once per group per minute, not per command


def test_a_group_slack_does_not_know_refuses_in_one_sentence(tmp_path: Path, ctx: CommandContext) -> None:
    with SlackStandIn() as standin:
        cache = UsergroupMembers(WebClient(token=standin.bot_token, base_url=standin.api_url))
        user = dataclasses.replace(as_(ctx, settings_with(tmp_path, ALLOW_OPS)), members=cache)
        reply = run(PROBE, "wipe", user)
    assert not reply.ok and "`ops may wipe`" in reply.text and reached == []


def test_the_terminal_is_not_held_by_the_policy(tmp_path: Path, ctx: CommandContext) -> None:
    cli = dataclasses.replace(as_(ctx, settings_with(tmp_path, ALLOW_OPS)), trusted=True, user_id="cli")
    assert run(PROBE, "wipe", cli).text == "did handle wipe"


# --- red team: nothing the bot offers is reachable around the policy ---------------------------------------

DENY_ALL = '[[policy]]\nname = "locked out"\ndeny = ["*"]\nusers = ["UBAD001"]\n'


def _texts(command: SlashCommand) -> list[str]:
    """A text asking for the command itself and one per verb (and the verb as a flag, for `--follow`)."""
    texts = ["", "x", "x 1", "x 1 run uptime", "x ssh-config", "orders --follow 1m"]
    return texts + [verb.name for verb in command.verbs] + [f"{verb.name} x" for verb in command.verbs]


@pytest.mark.parametrize("command", [*COMMANDS, PROBE], ids=lambda c: c.name)
def test_every_verb_and_button_is_behind_the_policy(tmp_path: Path, ctx: CommandContext, command: SlashCommand) -> None:
    settings = settings_with(tmp_path, DENY_ALL)
    bad = as_(ctx, settings, user="UBAD001")
    for text in _texts(command):
        reply = run(command, text, bad)
        assert not reply.ok and "policy rule `locked out`" in reply.text, (command.name, text, reply.text)
    for action_id in command.buttons:
        reply = run_button(command, action_id, "anything", bad)
        assert not reply.ok and "policy rule `locked out`" in reply.text, (command.name, action_id)
    assert reached == []


@pytest.mark.parametrize("command", [*COMMANDS, PROBE], ids=lambda c: c.name)
def test_every_button_that_carries_out_a_verb_is_declared_with_it(command: SlashCommand) -> None:
    """A button outside every verb is checked as the bare command: allowed for anyone the command is."""
    declared = {action_id for verb in command.verbs for action_id in verb.buttons}
    assert set(command.buttons) <= declared | ({"peek"} if command is PROBE else set())


@pytest.mark.parametrize("command", [*COMMANDS, PROBE], ids=lambda c: c.name)
def test_every_destructive_verb_is_refused_to_a_plain_user_without_a_rule(
    tmp_path: Path, ctx: CommandContext, command: SlashCommand
) -> None:
    plain = as_(ctx, settings_with(tmp_path, ""), user="UUSER01")
    for verb in command.verbs:
        if verb.destructive:
            for action_id in verb.buttons:
                assert "OPSBOT_ADMINS" in run_button(command, action_id, "anything", plain).text
            assert "OPSBOT_ADMINS" in run(command, f"{verb.name} x", plain).text
    assert reached == []


def _route(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    reached.append("route")
    return HttpResponse(200, "ok\n")


def test_every_http_route_is_behind_the_policy(tmp_path: Path, ctx: CommandContext) -> None:
    routed = dataclasses.replace(PROBE, routes=(Route("GET", re.compile("/probe"), _route),))
    runtime = Runtime(settings_with(tmp_path, DENY_ALL), ctx.aws, ctx.store)
    token = issue_token(ctx.store, "UBAD001")
    for command in [*COMMANDS, routed]:
        for route in command.routes:
            path = {"/probe": "/probe"}.get(route.pattern.pattern, "/eb/shop-prod/ip/1")
            response = route_request(runtime, [command], route.method, path, f"Bearer {token}")
            assert response.status == 403 and "policy rule `locked out`" in response.body, command.name
    good = issue_token(ctx.store, "UUSER01")
    assert route_request(runtime, [routed], "GET", "/probe", f"Bearer {good}").status == 200
    assert reached == ["route"]


def test_a_rule_allowing_a_destructive_verb_is_enough_for_the_features_own_admin_check(
    tmp_path: Path, ctx: CommandContext
) -> None:
    (capacity,) = [c for c in COMMANDS if c.name == "/lambda-capacity"]
    settings = settings_with(
        tmp_path, '[[policy]]\nname = "sre"\nallow = ["/lambda-capacity prune"]\nusers = ["UUSER01"]\n'
    )
    reply = run(capacity, "prune --region us-east-1", as_(ctx, settings))
    assert reply.ok, reply.text


def test_a_rule_naming_no_command_or_verb_stops_the_start(tmp_path: Path, ctx: CommandContext) -> None:
    from bot.slack.app import build_app

    typo = '[[policy]]\nname = "no follows"\ndeny = ["/tail --folow"]\n'
    settings = dataclasses.replace(settings_with(tmp_path, typo), slack_signing_secret="s", slack_bot_token="xoxb-1")
    with pytest.raises(SettingsError, match="'no follows': no command or verb '/tail --folow'"):
        build_app(Runtime(settings, ctx.aws, ctx.store), COMMANDS, verify_token=False)
    allowed = settings_with(tmp_path, '[[policy]]\nallow = ["/tail --follow"]\nusers = ["U0AAA11"]\n')
    fine = dataclasses.replace(settings, policy_rules=allowed.policy_rules)
    build_app(Runtime(fine, ctx.aws, ctx.store), COMMANDS, verify_token=False)
