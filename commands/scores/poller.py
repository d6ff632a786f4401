"""The poller: each tick, every game that is due is fetched, read and stored; failures are counted.

It runs as the feature's background job in `opsbot serve` (`JOB`, ticking at `tick_seconds`) and
as `scores_handler` on a Lambda schedule (`LAMBDA_ENTRY`). A game is taken for a tick with a
compare-and-set on its poll record, so two pollers sharing a store poll it once. Nothing here raises
out of a tick: one game's failure is logged and counted, and the next game and the next tick run.
After a poll the poster may post the chart: on a lead change, and every `post_every_minutes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.command import CommandContext, Job, LambdaEntry
from bot.state import Store
from commands.scores.ctfd import read_top, top_url
from commands.scores.fetch import FetchError, UrlRules, fetch
from commands.scores.history import (
    POLLS,
    Game,
    PollState,
    games,
    has_history,
    known_games,
    load_snapshot,
    record_samples,
    save_game,
    save_poll_state,
)
from commands.scores.options import ScoresOptions, kept_interval, poller_interval
from commands.scores.ranking import ranking_at
from commands.scores.samples import PayloadError, Reading, json_body, read_body

log = logging.getLogger(__name__)

Fetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class PollOutcome:
    game: str
    ok: bool
    stored: int = 0
    skipped: int = 0
    error: str = ""
    lead_change: tuple[str, str] | None = None  # (previous, leader)


def fetcher_for(options: ScoresOptions) -> Fetcher:
    rules = UrlRules(options.allow_http_hosts, options.allow_private_hosts)
    return lambda url: fetch(url, rules, options.timeout_seconds, options.max_body_bytes)


def take_turn(store: Store, game: Game, now: float) -> PollState | None:
    """The game's poll state if it is due and this poller won it (compare-and-set), else None."""
    stored = store.get(POLLS, game.name)
    if stored is None:
        store.add(POLLS, game.name, asdict(PollState()))
        stored = store.get(POLLS, game.name)
        if stored is None:
            return None
    try:
        state = PollState(**stored.value)
    except TypeError:
        state = PollState()
    if state.last_at and now - state.last_at < game.every - 0.5:  # half a second of scheduler jitter
        return None
    taken = replace(state, last_at=now, polls=state.polls + 1)
    return taken if store.claim(POLLS, game.name, stored.value, asdict(taken)) else None


def poll_game(store: Store, game: Game, state: PollState, fetcher: Fetcher, now: float) -> PollOutcome:
    """One poll: fetch, read, store. The state passed in is updated and saved."""
    try:
        reading: Reading = read_body(fetcher(game.url), round(now, 3))
    except (FetchError, PayloadError) as exc:
        state.failures += 1
        state.last_error = str(exc)
        state.failing_since = state.failing_since or now
        save_poll_state(store, game.name, state)
        log.warning("scores: poll of %s failed (%s failures so far): %s", game.name, state.failures, exc)
        return PollOutcome(game.name, ok=False, error=str(exc))
    for row in reading.skipped[:5]:
        log.info("scores: %s row %s skipped: %s", game.name, row.index, row.reason)
    stored = record_samples(store, game.name, reading.samples)
    state.skipped += len(reading.skipped)
    state.last_ok, state.last_error, state.failing_since = now, "", 0.0
    change = None
    snapshot = load_snapshot(store, game.name, now, is_admin=True)
    top = [team for rank, team, _ in ranking_at(snapshot.series, snapshot.as_of) if rank == 1]
    if top:
        leader = state.leader if state.leader in top else top[0]
        if state.leader and leader != state.leader:
            change = (state.leader, leader)
        state.leader = leader
    save_poll_state(store, game.name, state)
    return PollOutcome(game.name, True, stored, len(reading.skipped), lead_change=change)


def backfill(store: Store, game: Game, fetcher: Fetcher, now: float) -> str:
    """A CTFd game's history before its first poll, from the solves `/api/v1/scoreboard/top` lists;
    what was done, in a sentence ("" for other endpoints, or a game that has a history already)."""
    url = top_url(game.url)
    if url is None or has_history(store, game.name):
        return ""
    try:
        reading = read_top(json_body(fetcher(url)), before=now)
    except (FetchError, PayloadError) as exc:
        return f"No history from CTFd's solves ({exc})."
    stored = record_samples(store, game.name, reading.samples)
    teams = len({s.team for s in reading.samples})
    return f"The history before it, from CTFd's solves: {stored} scores of {teams} teams."


def start_configured_games(store: Store, options: ScoresOptions, now: float) -> None:
    """The settings' games join the store unless it knows them already (a stopped one stays stopped)."""
    known = set(known_games(store))
    for configured in options.games:
        if configured.name not in known:
            every = kept_interval(configured.every, options.tick_seconds)
            save_game(store, Game(configured.name, configured.url, every, "settings", now))
            log.info("scores: polling %s every %gs, from the settings", configured.name, every)


def run_tick(ctx: CommandContext, fetcher: Fetcher | None = None) -> list[PollOutcome]:
    options = ScoresOptions.from_settings(ctx.settings)
    fetcher = fetcher or fetcher_for(options)
    # The samples' own time (ms): a snapshot taken at `now` must include what this tick stored.
    now = round(ctx.now().timestamp(), 3)
    start_configured_games(ctx.store, options, now)
    outcomes = []
    for game in games(ctx.store):
        try:
            state = take_turn(ctx.store, game, now)
            if state is None:
                continue
            outcome = poll_game(ctx.store, game, state, fetcher, now)
            outcomes.append(outcome)
            if outcome.ok:
                post_if_due(ctx, options, game.name, state, outcome, now)
        except Exception:
            log.exception("scores: polling %s failed unexpectedly", game.name)
            outcomes.append(PollOutcome(game.name, ok=False, error="unexpected error (in the log)"))
    return outcomes


def post_if_due(
    ctx: CommandContext, options: ScoresOptions, game: str, state: PollState, outcome: PollOutcome, now: float
) -> None:
    """Post the chart to the configured channel on a lead change, and every `post_every_minutes`;
    between charts, edit one message holding the live table (a new one below each chart)."""
    if not options.channel or ctx.post is None:
        return
    on_lead = options.post_on_lead_change and outcome.lead_change is not None
    periodic = options.post_every_seconds is not None and now - state.last_chart_at >= options.post_every_seconds
    if not (on_lead or periodic):
        if options.live_table:
            from commands.scores.board import board_reply

            board = board_reply(load_snapshot(ctx.store, game, now, is_admin=False), ctx.settings.timezone, options)
            live = f"scores-table/{game}/{state.last_chart_at:.0f}"
            ctx.post(options.channel, replace(board, replace_key=live))
        return
    from commands.scores.board import chart_reply  # the renderer; kept out of the poll path's imports

    note = f"Lead change: *{outcome.lead_change[1]}* overtakes {outcome.lead_change[0]}." if outcome.lead_change else ""
    snapshot = load_snapshot(ctx.store, game, now, is_admin=False)
    ctx.post(options.channel, chart_reply(snapshot, ctx.settings.timezone, options, note=note))
    state.last_chart_at = now
    save_poll_state(ctx.store, game, state)


def run_job(ctx: CommandContext) -> None:
    run_tick(ctx)


def run_scheduled(_event: Mapping[str, Any], ctx: CommandContext) -> dict[str, Any]:
    outcomes = run_tick(ctx)
    return {
        "polled": [o.game for o in outcomes],
        "failed": {o.game: o.error for o in outcomes if not o.ok},
    }


JOB = Job("scores-poller", poller_interval, run_job)
LAMBDA_ENTRY = LambdaEntry("scores_handler", run_scheduled)
