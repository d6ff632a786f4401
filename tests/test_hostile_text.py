"""Issue 14: outside text through every renderer never reaches a Slack payload live.

Hostile strings (every kind of mention and link, fences, Slack's escapes, bidi and zero-width
characters, non-ASCII, 10 kB) go where a scoreboard, AWS, a log or a host puts text, and every field
of what would be sent (text, blocks at any depth, attachments, file titles) is checked by the one
helper, tests/live_markup.py. The entry points (HTTP through Bolt, the poller job, logs_handler,
`opsbot run`) are tested beside their features; these are the fast, pure renderers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.command import CommandContext, CommandError, SlashCommand, failure_reply
from bot.reply import Attachment, Reply
from bot.settings import load_settings
from bot.slack.blocks import (
    Cell,
    aligned,
    button,
    code_sections,
    confirm_dialog,
    context,
    fit_blocks,
    fit_text,
    header,
    section,
    table,
)
from bot.slack.outcome import fitted
from bot.text import Mrkdwn
from commands.eb_ip.instances import EnvironmentInstances, EnvironmentSummary, Instance
from commands.eb_ip.render import render_environments, render_nth, render_table
from commands.lambda_capacity.forecast import StorageForecast
from commands.lambda_capacity.monitor import CapacityReading, alert_message
from commands.lambda_capacity.options import MonitorConfig
from commands.lambda_capacity.parse import CapacityRequest
from commands.lambda_capacity.render import render_capacity, render_outcome, render_plan
from commands.lambda_capacity.storage import (
    AccountStorage,
    CodeStorageReport,
    FunctionStorage,
    PruneCandidate,
    PruneOutcome,
    PrunePlan,
    VersionStorage,
)
from commands.scores.board import board_reply, chart_reply, export_reply
from commands.scores.options import ScoresOptions
from commands.scores.ranking import Snapshot
from commands.tail.events import LogEvent
from commands.tail.invocations import group_invocations
from commands.tail.render import log_reply
from tests.live_markup import HOSTILE_PIECES, assert_inert, reply_payload

if TYPE_CHECKING:
    from tests.conftest import Bot

TZ = ZoneInfo("Europe/Berlin")
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC).timestamp()
QUICK = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# One hostile text: a few pieces end to end, or any text hypothesis thinks of.
hostile = st.one_of(
    st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=4).map("".join),
    st.text(min_size=1, max_size=40),
)
names = st.lists(hostile, min_size=1, max_size=6, unique=True)


CALLER = "<@UADMIN1>"  # the one mention the code writes on purpose: the plan's requester


def check(reply: Reply) -> None:
    assert_inert(reply_payload(reply), allowed=[CALLER])
    # What delivery sends, fitted to Slack's limits, is as inert as what the renderer made.
    assert_inert(fitted({"text": fit_text(reply.text), "blocks": reply.blocks}, note="late"), allowed=[CALLER])


@QUICK
@given(text=hostile, cells=names)
def test_every_block_builder_escapes_what_is_not_mrkdwn(text: str, cells: list[str]) -> None:
    rows = [cells, [Cell(c, emoji="red_circle") for c in cells]]
    blocks = [
        header(text),  # type: ignore[arg-type]
        section(text),  # type: ignore[arg-type]
        context(text),  # type: ignore[arg-type]
        *code_sections([text, *cells]),  # type: ignore[list-item]
        *table(rows),  # type: ignore[arg-type]
        *table([cells] * 101),  # type: ignore[list-item]  # monospace past 100 rows
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},  # built by hand: escaped by Reply
    ]
    # The dialog's labels are the code's (too long raises); short hostile ones still come out escaped.
    dialog = confirm_dialog(text[:18], text, text[:5], text[:5])  # type: ignore[arg-type]
    reply = Reply(
        text,  # type: ignore[arg-type]
        blocks=fit_blocks(
            [*blocks, section(Mrkdwn("x")), {"type": "actions", "elements": [button(text, "a", "v", None, dialog)]}]
        ),  # type: ignore[arg-type]
        attachments=[
            {"color": "#2eb886", "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]}
        ],
        files=(Attachment("f.txt", b"", text),),  # type: ignore[arg-type]
    )
    check(reply)
    assert_inert(aligned(rows))
    assert_inert(Reply.error(text).text)  # type: ignore[arg-type]


@QUICK
@given(text=hostile)
def test_an_error_from_aws_or_a_command_is_escaped(text: str) -> None:
    check(failure_reply(CommandError(text), "/probe", "Usage: `/probe`"))
    check(failure_reply(ValueError(text), "/probe"))


@QUICK
@given(teams=names, note=hostile)
def test_scores_boards_tables_and_exports(teams: list[str], note: str) -> None:
    options = ScoresOptions.from_settings(load_settings({}))
    series = {team: [(T0 - 60, float(i)), (T0, float(i * 7 - 3))] for i, team in enumerate(teams)}
    snapshot = Snapshot("gd", T0, series)
    check(board_reply(snapshot, TZ, options))
    check(export_reply(snapshot, TZ))
    many = Snapshot("gd", T0, {f"{team}{n}": [(T0, float(n))] for n in range(101) for team in teams[:1]})
    check(board_reply(many, TZ, options, show_all=True))  # past 100 rows: the monospace form
    lead = Mrkdwn("Lead change: *{}* overtakes {}.").format(teams[0], note)
    check(Reply(lead + Mrkdwn("\n") + board_reply(snapshot, TZ, options).text))


@settings(max_examples=3, deadline=None)
@given(teams=names, note=hostile)
def test_scores_chart_post_with_its_lead_change_note_and_file_title(teams: list[str], note: str) -> None:
    options = ScoresOptions.from_settings(load_settings({}))
    series = {team: [(T0 - 60, float(i)), (T0, float(i * 7 - 3))] for i, team in enumerate(teams)}
    check(chart_reply(Snapshot("gd", T0, series), TZ, options, note=Mrkdwn("Lead: *{}*").format(note)))


@QUICK
@given(words=st.lists(hostile, min_size=6, max_size=6))
def test_eb_ip_environments_instances_and_one_address(words: list[str]) -> None:
    name, status, health, iid, az, region = words
    check(render_environments([EnvironmentSummary(name, status, health, 2)], region))
    launched = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    found = EnvironmentInstances(name, region, False, (Instance(iid, None, "10.0.0.1", launched, az),))
    check(render_table(found, TZ))
    check(render_nth(found, 1, TZ))


@QUICK
@given(functions=names, why=hostile)
def test_lambda_capacity_report_plan_outcome_and_alert(functions: list[str], why: str) -> None:
    storage = tuple(FunctionStorage(f, (VersionStorage("$LATEST", 10), VersionStorage("1", 2**20))) for f in functions)
    report = CodeStorageReport(
        why, T0, storage, (), AccountStorage(2**30, 75 * 2**30, len(functions)), account_note=why
    )
    request = CapacityRequest(all_regions=True)
    check(render_capacity([report, report], {why: why}, request, T0, {why: why}))
    candidates = tuple(PruneCandidate(f, "1", 2**20) for f in functions)
    plan = PrunePlan("p1", why, 3, "UADMIN1", T0, candidates, function=functions[0])
    check(render_plan(plan, report))
    outcome = PruneOutcome(list(candidates[:1]), [(c, why) for c in candidates], [(c, why) for c in candidates])
    check(render_outcome(plan, outcome, "<!channel>"))
    reading = CapacityReading(why, T0, 70 * 2**30, 75 * 2**30, note=why)
    for transition in ("crossed", "recovered"):
        text, blocks = alert_message(reading, MonitorConfig(), transition, StorageForecast(2), TZ, storage)
        check(Reply(text, blocks=blocks))


@QUICK
@given(lines=st.lists(hostile, min_size=1, max_size=8), title=hostile)
def test_tail_invocations_and_orphan_lines(lines: list[str], title: str) -> None:
    rid = "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6"
    messages = [f"START RequestId: {rid} Version: $LATEST", *(f"{line}\n" for line in lines)]
    messages.append(f"END RequestId: {rid}")
    events = [LogEvent(1_746_090_000_000 + i, None, title, str(i), m) for i, m in enumerate(messages)]
    events += [LogEvent(1_746_090_100_000, None, title, "o", lines[0])]  # outside any invocation
    check(log_reply(title, group_invocations(events), TZ, notes=[title], filename="t.txt"))
    check(log_reply(title, group_invocations(events * 40), TZ, filename="t.txt"))  # some go to the file


# -- at the way out: a command that forgets every escape still sends nothing live


def _forgetful(text: str, ctx: CommandContext) -> Reply:
    """A command that puts raw outside text everywhere a Reply holds text (as a bug would)."""
    if text.startswith("raise "):
        raise CommandError(text.removeprefix("raise "))
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return Reply(
        text,  # type: ignore[arg-type]
        blocks=[block, *code_sections([text])],  # type: ignore[list-item]
        attachments=[{"color": "#e01e5a", "blocks": [block]}],
        files=(Attachment("f.txt", b"x", text),),  # type: ignore[arg-type]
    )


FORGETFUL = SlashCommand("/forgetful", "Forgets to escape", "TEXT", "Forgets.", _forgetful)


@pytest.mark.parametrize("text", [*HOSTILE_PIECES[:9], "".join(HOSTILE_PIECES[:-1])])
def test_a_reply_that_forgot_to_escape_reaches_slack_inert_through_bolt(
    serve_bot: Callable[..., Bot], text: str
) -> None:
    bot = serve_bot([FORGETFUL])
    sent = [bot.send(text, command="/forgetful"), bot.send(f"raise {text}", command="/forgetful")]
    for status, url in sent:
        assert status == 200
        bot.reply_to(url)
    bot.standin.wait_for("files.completeUploadExternal")
    assert_inert([call.params for call in bot.standin.calls])
