"""The poller: each tick, every game that is due is fetched, read and stored; failures are counted.

It runs as the feature's background job in `opsbot serve` (`JOB`, ticking at `tick_seconds`) and
as `scores_handler` on a Lambda schedule (`LAMBDA_ENTRY`). A game is taken for a tick with a
compare-and-set on its poll record, so two pollers sharing a store poll it once. The poll's result
is saved with a compare-and-set on the record as taken, and only a poll whose save wins posts: a
slow poll that another overtook posts nothing, so a lead change is announced once. Nothing here
raises out of a tick: one game's failure is logged and counted, and the next game and the next
tick run. After a poll the poster may post the chart: on a lead change, and every `post_every_minutes`.

Games are polled side by side on a bounded pool, so one slow scoreboard never delays another. The
job does not wait for a tick's polls: a game still in flight is skipped at the next tick, and the
other games keep their pace. The Lambda entry and `/scores start` wait for theirs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.command import CommandContext
from bot.state import Store
from bot.text import Mrkdwn
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
)
from commands.scores.options import ScoresOptions, kept_interval
from commands.scores.ranking import ranking_at
from commands.scores.samples import PayloadError, Reading, json_body, read_body

log = logging.getLogger(__name__)

Fetcher = Callable[[str], bytes]

MAX_CONCURRENT_POLLS = 8  # a fetch holds a thread up to its deadline; this many slow games at once
_POOL = ThreadPoolExecutor(MAX_CONCURRENT_POLLS, thread_name_prefix="scores-poll")
_IN_FLIGHT: set[tuple[int, str]] = set()  # (id of the store, game): at most one poll of a game at a time
_IN_FLIGHT_LOCK = threading.Lock()


@dataclass(frozen=True)
class PollOutcome:
    game: str
    ok: bool
    stored: int = 0
    skipped: int = 0
    error: str = ""
    lead_change: tuple[str, str] | None = None  # (previous, leader)
    superseded: bool = False  # another run wrote the poll state meanwhile: this one posts nothing


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


def save_if_unchanged(store: Store, game: str, read_as: dict[str, Any], state: PollState) -> bool:
    """Compare-and-set: False if another run wrote the game's poll state since it was `read_as`."""
    return store.claim(POLLS, game, read_as, asdict(state))


def poll_game(store: Store, game: Game, state: PollState, fetcher: Fetcher, now: float) -> PollOutcome:
    """One poll: fetch, read, store. The state passed in is updated and saved, if no other run
    saved one since this run took its turn; otherwise the outcome is `superseded`."""
    read_as = asdict(state)
    try:
        reading: Reading = read_body(fetcher(game.url), round(now, 3))
    except (FetchError, PayloadError) as exc:
        state.failures += 1
        state.last_error = str(exc)
        state.failing_since = state.failing_since or now
        save_if_unchanged(store, game.name, read_as, state)
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
    if not save_if_unchanged(store, game.name, read_as, state):
        log.info("scores: %s was polled by another run meanwhile; this poll posts nothing", game.name)
        return PollOutcome(game.name, True, stored, len(reading.skipped), superseded=True)
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


def run_tick(ctx: CommandContext, fetcher: Fetcher | None = None, wait: bool = True) -> list[PollOutcome]:
    """Poll every due game, side by side; with `wait`, the outcomes of this tick's polls, else none."""
    options = ScoresOptions.from_settings(ctx.settings)
    fetcher = fetcher or fetcher_for(options)
    # The samples' own time (ms): a snapshot taken at `now` must include what this tick stored.
    now = round(ctx.now().timestamp(), 3)
    start_configured_games(ctx.store, options, now)
    polls: list[Future[PollOutcome | None]] = []
    for game in games(ctx.store):
        key = (id(ctx.store), game.name)
        with _IN_FLIGHT_LOCK:
            if key in _IN_FLIGHT:
                continue  # last tick's poll is still running; its deadline ends it
            _IN_FLIGHT.add(key)
        polls.append(_POOL.submit(_poll_if_due, ctx, options, game, fetcher, now, key))
    if not wait:
        return []
    return [outcome for poll in polls if (outcome := poll.result()) is not None]


def _poll_if_due(
    ctx: CommandContext, options: ScoresOptions, game: Game, fetcher: Fetcher, now: float, key: tuple[int, str]
) -> PollOutcome | None:
    try:
        state = take_turn(ctx.store, game, now)
        if state is None:
            return None
        outcome = poll_game(ctx.store, game, state, fetcher, now)
        if outcome.ok and not outcome.superseded:
            post_if_due(ctx, options, game.name, state, outcome, now)
        return outcome
    except Exception:
        log.exception("scores: polling %s failed unexpectedly", game.name)
        return PollOutcome(game.name, ok=False, error="unexpected error (in the log)")
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(key)


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

    note = Mrkdwn("")
    if outcome.lead_change:  # the teams' names are the scoreboard's
        note = Mrkdwn("Lead change: *{}* overtakes {}.").format(outcome.lead_change[1], outcome.lead_change[0])
    snapshot = load_snapshot(ctx.store, game, now, is_admin=False)
    read_as = asdict(state)
    state.last_chart_at = now
    if not save_if_unchanged(ctx.store, game, read_as, state):
        return  # another run saved the game's state since: the chart is its to post
    try:
        ctx.post(options.channel, chart_reply(snapshot, ctx.settings.timezone, options, note=note))
    except BaseException:
        ctx.store.claim(POLLS, game, asdict(state), read_as)  # not queued: due again next tick
        raise


def run_job(ctx: CommandContext) -> None:
    run_tick(ctx, wait=False)


def run_scheduled(_event: Mapping[str, Any], ctx: CommandContext) -> dict[str, Any]:
    outcomes = run_tick(ctx)
    return {
        "polled": [o.game for o in outcomes],
        "failed": {o.game: o.error for o in outcomes if not o.ok},
    }
