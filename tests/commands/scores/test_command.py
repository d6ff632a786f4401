"""/scores as a user sees it: replies, refusals and errors, against the simulator and a SQLite store."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable

import pytest

from bot.command import CommandContext, run_command
from bot.local.scoreboard import ScoreboardGame
from bot.reply import Reply
from commands.scores import COMMAND
from commands.scores.chart import ChartSpec, render_chart
from commands.scores.history import load_snapshot, record_samples
from commands.scores.poller import run_tick
from commands.scores.ranking import Mark
from commands.scores.samples import ScoreSample
from tests.commands.scores.conftest import ADMIN, START, Clock, Posted

Ctx = Callable[..., CommandContext]


def _run(ctx: CommandContext, text: str) -> Reply:
    return run_command(COMMAND, text, ctx)


def _game(make_ctx: Ctx, base: str, clock: Clock, polls: int = 3) -> None:
    admin = make_ctx(ADMIN)
    reply = _run(admin, f"start <{base}/prod/scores> --every 30s --name gd")
    assert reply.ok and "first poll stored 6 scores" in reply.text, reply.text
    for _ in range(polls - 1):
        clock.advance(30)
        from commands.scores.poller import run_tick

        run_tick(admin)


def _table(reply: Reply) -> dict:
    """The table block: the fallback for workspaces without data_table."""
    return next(block for block in reply.fallback_blocks if block["type"] == "table")


def _data_table(reply: Reply) -> dict:
    return next(block for block in reply.blocks if block["type"] == "data_table")


def test_only_admins_start_polling(make_ctx: Ctx, simulator: tuple[str, ScoreboardGame]) -> None:
    base, game = simulator
    reply = _run(make_ctx(), f"start {base}/prod/scores")
    assert not reply.ok and not reply.public and "admins" in reply.text
    assert game.requests == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://scores.example.com/prod/scores", "allow_http_hosts"),
        ("https://10.1.2.3/prod/scores", "private address"),
        ("https://[::1]/prod/scores", "private address"),
        ("https://169.254.169.254/latest/meta-data/", "private address"),
        ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "private address"),  # NAT64 of the metadata address
        ("https://[2002:a9fe:a9fe::]/latest/meta-data/", "private address"),  # 6to4
        ("https://[::ffff:0:7f00:1]/prod/scores", "private address"),  # IPv4-translated loopback
        ("https://[::127.0.0.1]/prod/scores", "private address"),  # IPv4-compatible
        ("https://[::1/prod/scores", "malformed"),
    ],
)
def test_a_url_breaking_the_rules_is_refused_at_start(make_ctx: Ctx, url: str, why: str) -> None:
    reply = _run(make_ctx(ADMIN), f"start {url}")
    assert not reply.ok and not reply.public and why in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "start",
        "start notaurl",
        "start https://x.example --every 1s",
        "start https://x.example --name bad/name",
        "chart --top 0",
        "chart --since banana",
        "chart --rank=yes",
        "freeze banana",
        "mark",
        "mark <!channel> alert",
        "bad/game",
        "gd extra",
        "--nope",
    ],
)
def test_bad_input_gets_a_short_private_error(make_ctx: Ctx, text: str) -> None:
    reply = _run(make_ctx(ADMIN), text)
    assert not reply.ok and not reply.public
    assert "Traceback" not in reply.text and "<!channel>" not in reply.text and len(reply.text) < 700


def test_no_game_yet_says_how_to_start_one(make_ctx: Ctx) -> None:
    reply = _run(make_ctx(), "")
    assert not reply.ok and "/scores start" in reply.text


def test_the_board_is_a_table_with_green_and_red_marks(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    _game(make_ctx, base, clock, polls=22)  # into the load spike: someone is below zero
    reply = _run(make_ctx(), "")
    assert reply.ok and reply.public
    rows = _table(reply)["rows"]
    assert [c.get("text") for c in rows[0]] == ["#", "Team", "Profit", "Change", "Move"]
    assert len(rows) == 1 + len(game.teams)
    emojis = [row[2]["elements"][0]["elements"][0]["name"] for row in rows[1:]]
    profits = sorted(game.profits(22).values(), reverse=True)
    assert emojis == ["large_green_circle" if p >= 0 else "red_circle" for p in profits]
    assert "Lambda Llamas" in reply.text.splitlines()[2]  # the text fallback: the leader on the first row


def test_top_twenty_unless_all(make_ctx: Ctx, clock: Clock, store: object) -> None:
    ctx = make_ctx(ADMIN)
    record_samples(ctx.store, "big", [ScoreSample(clock().timestamp(), f"T{i:02}", float(i)) for i in range(25)])
    ctx.store.put("scores-polls", "big", {})
    assert len(_table(_run(ctx, "big"))["rows"]) == 21
    assert "`--all`" in _run(ctx, "big").text
    assert len(_table(_run(ctx, "big --all"))["rows"]) == 26


def test_the_table_goes_out_first_and_the_chart_of_the_same_snapshot_follows(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock, posted: Posted
) -> None:
    base, _ = simulator
    _game(make_ctx, base, clock, polls=4)
    ctx = make_ctx()
    reply = _run(ctx, "chart gd --since 1h --top 3 --rank")
    assert reply.ok and len(_table(reply)["rows"]) == 1 + 6
    assert "11:01:30 CEST" in reply.text  # the board's time, in Europe/Berlin: the last poll
    assert not reply.files and not posted.messages  # the table goes out first, without waiting for the chart
    assert reply.afterwards is not None
    clock.advance(30)
    run_tick(make_ctx(ADMIN))  # a poll lands while the chart is drawn: the chart still shows the table's board
    reply.afterwards(ctx, True)
    ((channel, chart),) = posted.messages
    assert channel == "CCHAN01" and chart.files[0].content[:4] == b"\x89PNG"
    assert "20250501-110130" in chart.files[0].filename and "11:01:30 CEST" in chart.text
    posted.messages.clear()
    reply.afterwards(ctx, False)  # Slack refused the table: no chart after it
    assert not posted.messages


def test_after_the_freeze_others_see_the_frozen_board(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    _game(make_ctx, base, clock, polls=2)
    assert _run(make_ctx(), "freeze now").ok is False  # only admins freeze
    assert _run(make_ctx(ADMIN), "freeze now").ok
    clock.advance(30)
    from commands.scores.poller import run_tick

    run_tick(make_ctx(ADMIN))
    user_board, admin_board = _run(make_ctx(), ""), _run(make_ctx(ADMIN), "")
    leader = max(game.profits(2).items(), key=lambda kv: kv[1])
    assert "frozen" in user_board.text and "frozen" not in admin_board.text
    assert f"{leader[1]:,.2f}".rstrip("0").rstrip(".") in user_board.text
    assert _run(make_ctx(ADMIN), "freeze off").ok and "frozen" not in _run(make_ctx(), "").text


def test_export_is_a_csv_safe_for_spreadsheets(make_ctx: Ctx, clock: Clock) -> None:
    ctx = make_ctx()
    at = clock().timestamp()
    formulas = ["=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]
    record_samples(ctx.store, "gd", [ScoreSample(at, team, 5.0) for team in [*formulas, "Team B", "Team-C"]])
    ctx.store.put("scores-polls", "gd", {})
    reply = _run(ctx, "export")
    (attachment,) = reply.files
    rows = list(csv.reader(io.StringIO(attachment.content.decode())))
    assert rows[0] == ["game", "time", "epoch_seconds", "team", "value"]
    assert sorted(r[3] for r in rows[1:]) == sorted([*("'" + f for f in formulas), "Team B", "Team-C"])


def test_a_mark_is_kept_and_echoed_safely(make_ctx: Ctx, clock: Clock) -> None:
    ctx = make_ctx()
    record_samples(ctx.store, "gd", [ScoreSample(clock().timestamp(), "A", 1.0)])
    ctx.store.put("scores-polls", "gd", {})
    reply = _run(ctx, 'mark "load spike"')
    assert reply.ok and "`load spike`" in reply.text
    # Kept: the snapshot every chart is drawn from carries it.
    snapshot = load_snapshot(ctx.store, "gd", clock().timestamp() + 60, is_admin=False)
    assert snapshot.marks == (Mark(clock().timestamp(), "load spike"),)


@pytest.mark.parametrize(
    ("options", "spec"),
    [
        ("--top 2", ChartSpec(top=2)),
        ("--since 1m", ChartSpec(since=START.timestamp() + 60)),
        ("--rank", ChartSpec(rank=True)),
    ],
)
def test_the_chart_options_reach_the_chart(
    make_ctx: Ctx, clock: Clock, posted: Posted, options: str, spec: ChartSpec
) -> None:
    ctx = make_ctx()
    for step in range(5):  # two minutes of four teams that keep changing places
        at = START.timestamp() + 30 * step
        record_samples(
            ctx.store, "gd", [ScoreSample(at, t, float((n * 7 + step * 3) % 11)) for n, t in enumerate("ABCD")]
        )
    ctx.store.put("scores-polls", "gd", {})
    clock.advance(120)
    snapshot = load_snapshot(ctx.store, "gd", clock().timestamp(), is_admin=False)
    tz = ctx.settings.timezone

    reply = _run(ctx, f"chart {options}")
    assert reply.afterwards is not None
    reply.afterwards(ctx, True)  # the chart follows the table
    ((_, chart),) = posted.messages
    (drawn,) = chart.files

    assert drawn.content == render_chart(snapshot, tz, spec), f"{options} did not reach the chart"
    assert drawn.content != render_chart(snapshot, tz, ChartSpec())


def test_stop_keeps_the_history(make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock) -> None:
    base, _ = simulator
    _game(make_ctx, base, clock, polls=1)
    assert "Stopped" in _run(make_ctx(ADMIN), "stop").text
    assert _run(make_ctx(), "gd").ok
    assert not _run(make_ctx(ADMIN), "stop gd").ok


def test_until_the_window_has_history_moves_are_since_the_previous_poll(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    _game(make_ctx, base, clock, polls=8)  # 3.5 minutes of a 15-minute window: the chaser has just taken the lead
    reply = _run(make_ctx(), "")
    leader, second = _table(reply)["rows"][1:3]
    assert [leader[1]["text"], leader[4]["text"]] == ["Lambda Llamas", "▲1"]  # not "new"
    assert [second[1]["text"], second[4]["text"]] == ["Unicorn Ops", "▼1"]
    change = game.profits(8)["Lambda Llamas"] - game.profits(7)["Lambda Llamas"]
    assert leader[3]["elements"][0]["elements"][-1]["text"].strip() == f"+{change:,.2f}"
    assert "since the previous poll (11:03:00) until the history spans 15 min" in reply.text


@pytest.mark.parametrize(
    ("options", "asked", "stated"),
    [
        ({}, "5s", "every 5 s."),  # the job ticks at the smallest --every: any game gets what it asks
        ({}, "12s", "every 15 s (asked 12 s: the poller ticks every 5 s)."),
        ({"tick_seconds": 10}, "5s", "every 10 s (asked 5 s: the poller ticks every 10 s)."),
        ({"tick_seconds": 60}, "90s", "every 120 s (asked 90 s: the poller ticks every 60 s)."),
    ],
)
def test_the_interval_stated_is_the_interval_kept(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock, options: dict, asked: str, stated: str
) -> None:
    from commands.scores import JOB
    from commands.scores.history import load_snapshot

    base, _ = simulator
    admin = make_ctx(ADMIN, **options)
    reply = _run(admin, f"start <{base}/prod/scores> --every {asked} --name gd")
    assert reply.ok and stated in reply.text, reply.text
    tick = JOB.interval(admin.settings)
    assert tick is not None
    for _ in range(int(600 // tick)):  # ten minutes of the job's ticks, as `opsbot serve` runs them
        clock.advance(tick)
        run_tick(admin)
    times = load_snapshot(admin.store, "gd", clock().timestamp(), is_admin=True).times
    gaps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
    assert gaps == {float(stated.split()[1])}


def test_the_board_says_the_last_polls_error_and_how_long_polls_have_failed(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, _ = simulator
    admin = make_ctx(ADMIN)
    assert "first poll failed (HTTP 500)" in _run(admin, f"start <{base}/status/500> --every 30s --name gd").text
    for _ in range(4):
        clock.advance(30)
        run_tick(admin)
    reply = _run(make_ctx(), "gd")
    assert reply.text == (
        "No scores for `gd` yet. Polls have failed for 2 min (5 failures in all); the last, at 11:02:00: HTTP 500."
    )
    # polls come back: the board is clean; they fail again: the board stays, with why and since when
    clock.advance(30)
    assert "first poll stored 6" in _run(admin, f"start <{base}/prod/scores> --every 30s --name gd").text
    assert "Polls have failed" not in _run(make_ctx(), "gd").text
    clock.advance(30)
    _run(admin, f"start <{base}/not-json> --every 30s --name gd")
    clock.advance(90)
    run_tick(admin)
    reply = _run(make_ctx(), "gd")
    assert "Lambda Llamas" in reply.text
    note = reply.blocks[-1]["elements"][0]["text"]
    assert ":warning: Polls have failed for 1 min 30 s" not in note  # whole minutes, no seconds
    assert "Polls have failed for 1 min (7 failures in all); the last, at 11:04:30: the answer is not JSON." in note


@pytest.mark.parametrize("path", ["/ctfd/api/v1/scoreboard", "/ctfd/api/v1/scoreboard/top/10"])
def test_a_late_start_on_ctfd_charts_the_game_from_its_first_solve(make_ctx: Ctx, clock: Clock, path: str) -> None:
    from bot.local.scoreboard import scoreboard_server
    from commands.scores.history import load_snapshot

    started = clock().timestamp() - 3600  # the CTF began an hour before the bot was told of it
    with scoreboard_server(ScoreboardGame(ctfd_started=started, ctfd_every=300, ctfd_history=11)) as (base, game):
        admin = make_ctx(ADMIN)
        reply = _run(admin, f"start <{base}{path}> --every 30s --name ctf")
        assert "The first poll stored 6 scores." in reply.text, reply.text  # either shape polls
        assert "The history before it, from CTFd's solves: 66 scores of 6 teams." in reply.text
        assert game.requests[0] == "/ctfd/api/v1/scoreboard/top/50"
        snapshot = load_snapshot(admin.store, "ctf", clock().timestamp(), is_admin=True)
        assert snapshot.times[0] == started + 300 and len(snapshot.times) == 12  # 11 solve times + the poll
        leader = snapshot.series["Lambda Llamas"]
        assert [v for _, v in leader[:11]] == [round(game.profits(k)["Lambda Llamas"]) for k in range(1, 12)]
        # a second start of the same game keeps its history: nothing is backfilled twice
        clock.advance(30)
        again = _run(admin, f"start <{base}{path}> --every 30s --name ctf")
        assert "CTFd" not in again.text and game.requests.count("/ctfd/api/v1/scoreboard/top/50") == 1


def test_the_ranking_is_a_sortable_data_table_within_slacks_limits_with_the_table_block_as_fallback(
    make_ctx: Ctx, clock: Clock
) -> None:
    from bot.slack.data_blocks import check

    ctx = make_ctx(ADMIN)
    at = clock().timestamp()
    record_samples(ctx.store, "big", [ScoreSample(at, f"T{i:02} <!here>", 1000.5 * (i % 7) - 2000) for i in range(30)])
    ctx.store.put("scores-polls", "big", {})
    reply = _run(ctx, "big --all")
    table = _data_table(reply)
    assert check(reply.blocks) == [] and table["page_size"] == 20 and len(table["rows"]) == 31
    first = table["rows"][1]
    assert first[0] == {"type": "raw_number", "value": 1, "text": "1"}
    # Slack does not say whether raw_text parses mentions: escaped like every other text (bot.text.Mrkdwn)
    assert first[1] == {"type": "raw_text", "text": "T06 &lt;!here&gt;"}
    assert first[2] == {"type": "raw_number", "value": 4003.0, "text": "🟢 4,003.00"}  # numeric sort; the sign
    assert [row[2]["text"] for row in table["rows"][-2:]] == ["🔴 -2,000.00", "🔴 -2,000.00"]  # two decimals for all
    fallback = _table(reply)
    amounts = [row[2]["elements"][0]["elements"][-1]["text"] for row in fallback["rows"][1:]]
    assert {len(a.split(".")[1]) for a in amounts} == {2}  # fixed decimals in the old table too


def test_opted_in_the_chart_reply_adds_slacks_own_line_chart_of_the_top_six(
    make_ctx: Ctx, simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    from bot.slack.data_blocks import check

    base, game = simulator
    _game(make_ctx, base, clock, polls=30)
    plain = _run(make_ctx(), "chart gd")
    assert [b["type"] for b in plain.blocks].count("data_visualization") == 0  # off unless opted in
    reply = _run(make_ctx(native_chart=True), "chart gd")
    (native,) = [b for b in reply.blocks if b["type"] == "data_visualization"]
    assert check(reply.blocks) == [] and "data_visualization" not in [b["type"] for b in reply.fallback_blocks]
    chart = native["chart"]
    assert chart["axis_config"]["categories"][-1] == "11:14" and len(chart["axis_config"]["categories"]) == 10
    assert chart["axis_config"]["x_label"] == "Time (CEST)"
    leader = chart["series"][0]
    assert leader["name"] == "Lambda Llamas" and leader["data"][-1]["value"] == game.profits(30)["Lambda Llamas"]
    assert len(chart["series"]) == 6 and reply.afterwards is not None  # the PNG still follows
