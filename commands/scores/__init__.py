"""/scores: a live scoreboard kept from the first poll, with ranking tables and charts.

`/scores start <url>` (admins) polls a game's scoreboard endpoint into the state store;
`/scores [GAME] [--all]` shows the ranking, `/scores chart` draws it, `/scores mark`, `freeze`,
`export` and `stop` do what they say. The poller is `poller.JOB` in `opsbot serve` and
`scores_handler` on Lambda.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from bot.command import CommandContext, CommandError, SlashCommand, Verb, first_word, require_admin
from bot.reply import Reply
from bot.text import EMPTY, Mrkdwn
from commands.scores.archive import archive_game
from commands.scores.board import board_reply, chart_alone, chart_reply, export_reply, poll_trouble, top_chart
from commands.scores.chart import ChartSpec
from commands.scores.fetch import FetchError, UrlRules, check_url
from commands.scores.history import (
    DEFAULT_GAME,
    Game,
    add_mark,
    games,
    load_poll_state,
    load_snapshot,
    pick_game,
    remove_game,
    save_game,
    set_freeze,
)
from commands.scores.home import home_blocks
from commands.scores.options import ENV_OPTIONS, NAME, ScoresOptions, kept_interval, poller_interval
from commands.scores.parse import (
    AddMark,
    ArchiveGame,
    DrawChart,
    ExportHistory,
    SetFreeze,
    ShowBoard,
    StartPolling,
    StopPolling,
    parse,
)
from commands.scores.poller import JOB, LAMBDA_ENTRY, backfill, fetcher_for, run_tick
from commands.scores.ranking import Snapshot


def start(request: StartPolling, ctx: CommandContext, options: ScoresOptions) -> Reply:
    require_admin(ctx, "start polling a scoreboard")
    try:
        check_url(request.url, UrlRules(options.allow_http_hosts, options.allow_private_hosts))
    except FetchError as exc:
        raise CommandError(f"That URL is refused: {exc}.") from None
    name = request.name or (games(ctx.store)[0].name if len(games(ctx.store)) == 1 else DEFAULT_GAME)
    now = ctx.now().timestamp()
    tick = poller_interval(ctx.settings)
    every = kept_interval(request.every, tick)
    game = Game(name, request.url, every, ctx.user_id, now)
    save_game(ctx.store, game)
    ctx.store.audit(ctx.user_id, "scores.start", game=name, url=request.url, every=every)
    history = backfill(ctx.store, game, fetcher_for(options), round(now, 3))
    first = [o for o in run_tick(ctx) if o.game == name]  # the history starts now, not at the next tick
    result = Mrkdwn("")
    if first and first[0].ok:
        result = Mrkdwn("The first poll stored {} scores.").format(first[0].stored)
    elif first:  # the error quotes the scoreboard's answer (an HTTP status line): escaped
        result = Mrkdwn("The first poll failed ({}); the poller keeps trying.").format(first[0].error)
    # the interval said is the one kept: the poller looks at games once a tick
    asked = Mrkdwn(" (asked {:g} s: the poller ticks every {:g} s)").format(request.every, tick)
    off = Mrkdwn("" if tick else " The background poller is off in these settings.")
    said = Mrkdwn("Polling `{}` every {:g} s{}. {}{}{}").format(
        name,
        every,
        asked if every != request.every else EMPTY,
        result,
        Mrkdwn(" ") + history if history else EMPTY,
        off,
    )
    return Reply(said.strip())


def stop(request: StopPolling, ctx: CommandContext) -> Reply:
    require_admin(ctx, "stop polling a scoreboard")
    name = pick_game(ctx.store, request.game)
    if not remove_game(ctx.store, name):
        raise CommandError(f"`{name}` is not being polled; its history is kept.")
    ctx.store.audit(ctx.user_id, "scores.stop", game=name)
    return Reply(Mrkdwn("Stopped polling `{0}`. Its history stays: `/scores {0}`, `/scores export {0}`.").format(name))


def post_chart(snapshot: Snapshot, spec: ChartSpec, ctx: CommandContext, delivered: bool) -> None:
    """After the table: the chart of the same snapshot, in the same channel (not if the table was refused)."""
    if delivered and ctx.post is not None:
        ctx.post(ctx.channel_id, chart_alone(snapshot, ctx.settings.timezone, spec))


def handle(text: str, ctx: CommandContext) -> Reply:
    options = ScoresOptions.from_settings(ctx.settings)
    tz, now = ctx.settings.timezone, ctx.now()
    request = parse(text, tz, now)
    if isinstance(request, StartPolling):
        return start(request, ctx, options)
    if isinstance(request, StopPolling):
        return stop(request, ctx)
    if isinstance(request, ArchiveGame):
        require_admin(ctx, "archive a scoreboard")
    game = pick_game(ctx.store, request.game)
    if isinstance(request, AddMark):
        add_mark(ctx.store, game, now.timestamp(), request.label)
        # parse.mark_label lets through only shown()'s echo-safe characters and spaces
        return Reply(Mrkdwn("Marked `{}` on `{}` at {:%H:%M:%S}.").format(request.label, game, now.astimezone(tz)))
    if isinstance(request, SetFreeze):
        require_admin(ctx, "freeze a scoreboard")
        set_freeze(ctx.store, game, request.at.timestamp() if request.at else None)
        ctx.store.audit(ctx.user_id, "scores.freeze", game=game, at=request.at)
        if request.at is None:
            return Reply(Mrkdwn("`{}` is no longer frozen.").format(game))
        return Reply(
            Mrkdwn("`{}` freezes at {:%Y-%m-%d %H:%M %Z}: after that, only admins see it move.").format(
                game, request.at.astimezone(tz)
            )
        )
    snapshot = load_snapshot(ctx.store, game, now.timestamp(), ctx.is_admin)
    if isinstance(request, ExportHistory):
        return export_reply(snapshot, tz)
    if isinstance(request, ArchiveGame):
        return archive_game(snapshot, ctx, options)
    if isinstance(request, DrawChart):
        spec = ChartSpec(request.top, request.since.timestamp() if request.since else None, request.rank)
        board = board_reply(
            snapshot, tz, options, trouble=poll_trouble(load_poll_state(ctx.store, game), now.timestamp(), tz)
        )
        if ctx.post is None or not snapshot.series:
            return chart_reply(snapshot, tz, options, spec) if snapshot.series else board
        if options.native_chart:  # opt-in: before the caption; the fallback (and the PNG) go without it
            native = top_chart(snapshot, tz, spec.since)
            board = replace(board, blocks=[*board.blocks[:-1], native, board.blocks[-1]])
        # The table goes out at once; the chart, which takes a second or two to draw, follows it.
        return replace(board, afterwards=partial(post_chart, snapshot, spec))

    assert isinstance(request, ShowBoard)
    trouble = poll_trouble(load_poll_state(ctx.store, game), now.timestamp(), tz)
    return board_reply(snapshot, tz, options, request.all, trouble)


HELP = """\
Tracks a game's scoreboard from its JSON endpoint, from the first poll on.
• `/scores [GAME] [--all]` — the ranking now: rank, team, profit, change and move over the last period; top 20, \
or every team with `--all`.
• `/scores chart [GAME] [--since 1h] [--top N] [--rank]` — a line per team and the top-list beside it; \
`--rank` adds rank over time. Lead changes and marks are drawn on the time axis.
• `/scores mark load spike [--game GAME]` — an event marker on the charts.
• `/scores export [GAME]` — the history as CSV. Admins: `/scores archive [GAME]` commits the history, \
the final charts and a summary to the configured git repository.
• Admins: `/scores start <url> [--every 30s] [--name GAME]`, `/scores stop [GAME]`, \
`/scores freeze <18:00 | in 30m | ISO time | now | off> [--game GAME]` \
(after it, others see the board as at the freeze)."""

COMMAND = SlashCommand(
    name=NAME,
    summary="Scoreboard tracking with ranking tables and charts",
    usage_hint=(
        "[GAME] [--all] | chart [--since 1h] [--top N] [--rank] | start URL | stop | mark | freeze | export | archive"
    ),
    help=HELP,
    handle=handle,
    jobs=(JOB,),
    lambda_entries=(LAMBDA_ENTRY,),
    env_options=ENV_OPTIONS,
    home=home_blocks,
    aws=False,  # a scoreboard is on the web: `--account` means nothing here
    verbs=tuple(
        Verb(verb, first_word(verb), destructive=verb in ("start", "stop", "freeze"))
        for verb in ("start", "stop", "freeze", "mark", "archive", "export", "chart")
    ),
)
