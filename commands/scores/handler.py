"""/scores' answer: start and stop polling, marks, freezes, the board, its chart, export and archive."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from bot.command import CommandContext, CommandError, require_admin
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
from commands.scores.options import ScoresOptions, kept_interval, poller_interval
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
from commands.scores.poller import backfill, fetcher_for, run_tick
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
