"""run_command: the one place where access is checked, help answered and errors become replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from bot.aws import AwsClients
from bot.command import CommandContext, SlashCommand, run_command
from bot.reply import Reply
from bot.settings import load_settings
from bot.state import Store

calls: list[str] = []


def _handle(text: str, ctx: CommandContext) -> Reply:
    calls.append(text)
    if text == "denied":
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform: ec2:DescribeInstances"}},
            "DescribeInstances",
        )
    return Reply(f"ran {text}")


PROBE = SlashCommand(name="/probe", summary="Probe", usage_hint="[x]", help="Probes.", handle=_handle)


@pytest.fixture
def make_ctx(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.probe]\nusers = ["U0OK"]\nchannels = ["C0OPS"]\n')
    settings = load_settings({"OPSBOT_CONFIG": str(config)})
    store = Store.open(str(tmp_path / "s.db"))

    def make(user: str, channel: str, trusted: bool = False) -> CommandContext:
        return CommandContext(settings, AwsClients(), store, user_id=user, channel_id=channel, trusted=trusted)

    return make


def test_denied_user_gets_an_ephemeral_refusal_and_nothing_runs(make_ctx) -> None:  # type: ignore[no-untyped-def]
    calls.clear()
    for user, channel in (("U0OTHER", "C0OPS"), ("U0OK", "C0RANDOM")):
        reply = run_command(PROBE, "x", make_ctx(user, channel))
        assert (reply.ok, reply.public) == (False, False)
        assert reply.text == "Sorry, you are not allowed to run /probe here."
    assert calls == []
    assert run_command(PROBE, "x", make_ctx("U0OK", "C0OPS")).text == "ran x"
    assert run_command(PROBE, "x", make_ctx("cli", "cli", trusted=True)).text == "ran x"


@pytest.mark.parametrize("word", ["help", "HELP", " --help ", "-h", "?"])
def test_help_words_answer_usage_privately(make_ctx, word: str) -> None:  # type: ignore[no-untyped-def]
    reply = run_command(PROBE, word, make_ctx("U0OK", "C0OPS"))
    assert reply.public is False and reply.ok
    assert reply.text.startswith("*/probe* — Probe\nUsage: `/probe [x]`")


def test_very_long_text_is_refused_before_parsing(make_ctx) -> None:  # type: ignore[no-untyped-def]
    calls.clear()
    reply = run_command(PROBE, "a" * 5000, make_ctx("U0OK", "C0OPS"))
    assert not reply.ok and "too long" in reply.text and calls == []


def test_aws_errors_are_translated_once(make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = run_command(PROBE, "denied", make_ctx("U0OK", "C0OPS"))
    assert reply.text == "Access denied: the bot's AWS role lacks the IAM permission ec2:DescribeInstances."
    assert reply.public is False


def test_a_usage_note_from_the_settings_follows_the_usage_in_help_and_after_a_usage_error(make_ctx) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from bot.command import UsageError
    from bot.settings import Settings

    def handle(text: str, ctx: CommandContext) -> Reply:
        raise UsageError(f"No {text}.")

    def note(settings: Settings) -> str:
        return f"Configured: {sorted(settings.access)}."

    noted = replace(PROBE, handle=handle, usage_note=note)
    ctx = make_ctx("U0OK", "C0OPS")
    assert (
        run_command(noted, "help", ctx).text
        == "*/probe* — Probe\nUsage: `/probe [x]`\nConfigured: ['probe'].\n\nProbes."
    )
    assert run_command(noted, "x", ctx).text == "No x.\nUsage: `/probe [x]`\nConfigured: ['probe']."
    assert run_command(replace(noted, usage_note=lambda s: ""), "x", ctx).text == "No x.\nUsage: `/probe [x]`"
