"""The poller against the simulator over real HTTP, into a real SQLite store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.command import CommandContext, CommandError
from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from bot.reply import Reply
from bot.settings import Settings, load_settings
from bot.state import Store, StoreError
from commands.scores import JOB
from commands.scores.history import Game, games, load_poll_state, load_snapshot, remove_game, save_game
from commands.scores.poller import run_tick
from tests.commands.scores.conftest import Clock, Posted, scores_settings


def _start(ctx: CommandContext, url: str, every: float = 30.0, name: str = "gd") -> None:
    save_game(ctx.store, Game(name, url, every))


def test_each_due_poll_stores_every_teams_score(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    ctx = make_ctx()
    _start(ctx, f"{base}/prod/scores")
    for _ in range(3):
        assert [o.ok for o in run_tick(ctx)] == [True]
        assert run_tick(ctx) == []  # not due again within the interval
        clock.advance(30)
    snapshot = load_snapshot(ctx.store, "gd", clock().timestamp(), is_admin=True)
    assert set(snapshot.series) == set(game.teams)
    assert all(len(points) == 3 for points in snapshot.series.values())
    assert snapshot.series["Unicorn Ops"][-1][1] == game.profits(3)["Unicorn Ops"]


def test_the_history_survives_a_restart(
    tmp_path: Path, make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, _ = simulator
    ctx = make_ctx()
    _start(ctx, f"{base}/prod/scores")
    run_tick(ctx)
    clock.advance(30)
    run_tick(ctx)
    reopened = Store.open(str(tmp_path / "state.db"))  # the `store` fixture's file, as a new process would
    snapshot = load_snapshot(reopened, "gd", clock().timestamp(), is_admin=True)
    assert {len(p) for p in snapshot.series.values()} == {2}


def test_a_failed_poll_is_counted_and_the_next_one_still_runs(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock, store: Store
) -> None:
    base, _ = simulator
    ctx = make_ctx()
    _start(ctx, f"{base}/status/503", name="down")
    _start(ctx, f"{base}/not-json", name="html")
    _start(ctx, f"{base}/prod/scores", name="up")
    for _ in range(2):
        outcomes = {o.game: o for o in run_tick(ctx)}
        assert {g: o.ok for g, o in outcomes.items()} == {"down": False, "html": False, "up": True}
        clock.advance(30)
    assert load_poll_state(store, "down").failures == 2 and load_poll_state(store, "down").last_error == "HTTP 503"
    assert "not JSON" in load_poll_state(store, "html").last_error
    assert load_snapshot(store, "down", clock().timestamp(), True).series == {}  # no hole filled, no wrong point


def test_a_refused_redirect_is_a_failed_poll(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], store: Store
) -> None:
    base, _game = simulator
    ctx = make_ctx()
    _start(ctx, f"{base}/redirect?to=http://169.254.169.254/latest/meta-data/")
    (outcome,) = run_tick(ctx)
    assert not outcome.ok and "another host" in outcome.error


def test_two_pollers_on_one_store_poll_each_game_once_per_tick(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    _start(make_ctx(), f"{base}/prod/scores")
    contexts = [make_ctx() for _ in range(4)]
    for _ in range(3):
        barrier = threading.Barrier(len(contexts))

        def tick(ctx: CommandContext, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            run_tick(ctx)

        threads = [threading.Thread(target=tick, args=(c,)) for c in contexts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.advance(30)
    assert game.requests.count("/prod/scores") == 3


def test_the_poster_posts_the_chart_on_a_lead_change(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock, posted: Posted
) -> None:
    base, _game = simulator
    ctx = make_ctx(channel="C0SCORES")
    _start(ctx, f"{base}/prod/scores")
    changes = []
    for _ in range(14):
        changes += [o.lead_change for o in run_tick(ctx) if o.lead_change]
        clock.advance(30)
    assert changes == [("Unicorn Ops", "Lambda Llamas")]
    ((channel, reply),) = [(channel, reply) for channel, reply in posted.messages if reply.files]
    assert channel == "C0SCORES" and "Lambda Llamas" in reply.text and "overtakes" in reply.text
    assert reply.files[0].content.startswith(b"\x89PNG")
    tables = [reply.replace_key for _, reply in posted.messages if not reply.files]
    assert len(tables) == 13 and len(set(tables)) == 2, "one live table before the chart, a new one after it"


def test_the_games_in_the_settings_are_polled_from_the_first_tick(
    tmp_path: Path, make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock
) -> None:
    base, game = simulator
    settings = settings_with_games(tmp_path, f'name = "gameday"\nurl = "{base}/prod/scores"\nevery_seconds = 30')
    assert [(o.game, o.ok) for o in run_tick(make_ctx(settings=settings))] == [("gameday", True)]
    (started,) = games(make_ctx().store)
    assert (started.url, started.every, started.started_by) == (f"{base}/prod/scores", 30.0, "settings")
    clock.advance(30)
    assert [o.game for o in run_tick(make_ctx(settings=settings))] == ["gameday"]  # a restart: the same game
    assert game.requests.count("/prod/scores") == 2


def test_a_game_in_the_store_wins_over_the_settings_and_a_stopped_one_stays_stopped(
    tmp_path: Path,
    make_ctx: Callable[..., CommandContext],
    simulator: tuple[str, ScoreboardGame],
    clock: Clock,
    store: Store,
) -> None:
    base, _game = simulator
    _start(make_ctx(), f"{base}/prod/scores?step=3", every=60, name="gameday")
    settings = settings_with_games(tmp_path, f'name = "gameday"\nurl = "{base}/prod/scores"\nevery_seconds = 30')
    ctx = make_ctx(settings=settings)
    run_tick(ctx)
    assert [(g.url, g.every) for g in games(store)] == [(f"{base}/prod/scores?step=3", 60.0)]
    remove_game(store, "gameday")  # /scores stop
    clock.advance(60)
    assert run_tick(ctx) == [] and games(store) == []


def test_a_bad_game_in_the_settings_names_the_setting(tmp_path: Path, make_ctx: Callable[..., CommandContext]) -> None:
    settings = settings_with_games(tmp_path, 'name = "game day"\nurl = "https://scores.example/prod/scores"')
    with pytest.raises(CommandError, match=r"\[\[commands.scores.games\]\] name"):
        run_tick(make_ctx(settings=settings))
    settings = settings_with_games(tmp_path, 'name = "gd"\nurl = "https://scores.example/"\nevery_seconds = 1')
    with pytest.raises(CommandError, match="every_seconds: expected a number from 5 to 3600"):
        run_tick(make_ctx(settings=settings))
    settings = settings_with_games(tmp_path, 'name = "gd"\nurl = "file:///etc/passwd"')
    with pytest.raises(CommandError, match="url of gd: expected an http"):
        run_tick(make_ctx(settings=settings))


def settings_with_games(tmp_path: Path, *games: str) -> Settings:
    """[commands.scores] with one [[commands.scores.games]] table per argument, as an operator writes them."""
    lines = ["[commands.scores]", 'allow_http_hosts = ["127.0.0.1"]']
    for game in games:
        lines += ["", "[[commands.scores.games]]", game]
    config = tmp_path / "games.toml"
    config.write_text("\n".join(lines) + "\n")
    return load_settings({"OPSBOT_ADMINS": "UADMIN1", "OPSBOT_CONFIG": str(config)})


def test_a_chart_posted_right_after_a_poll_holds_that_polls_scores(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock, posted: Posted
) -> None:
    base, _game = simulator
    clock.advance(0.9996)  # a time whose milliseconds round up
    ctx = make_ctx(channel="C0SCORES", post_every_minutes=1)
    _start(ctx, f"{base}/prod/scores")
    run_tick(ctx)
    ((_, chart),) = posted.messages
    assert chart.files and "Unicorn Ops" in chart.text


def test_a_chart_that_could_not_be_queued_is_posted_at_the_next_tick(
    make_ctx: Callable[..., CommandContext], simulator: tuple[str, ScoreboardGame], clock: Clock, posted: Posted
) -> None:
    base, _game = simulator
    ctx = make_ctx(channel="C0SCORES", post_every_minutes=1)
    _start(ctx, f"{base}/prod/scores")

    def outbox_down(_channel: str, _reply: Reply) -> None:
        raise StoreError("the outbox is unreachable")

    ctx.post = outbox_down
    run_tick(ctx)  # the chart is due (none posted yet) but cannot be queued: logged, not raised
    ctx.post = posted
    clock.advance(30)  # half the chart's minute: due only if the failed one did not count
    run_tick(ctx)
    assert [bool(reply.files) for _, reply in posted.messages] == [True]


def test_the_poller_job_is_on_only_with_a_scores_table(tmp_path: Path) -> None:
    from bot.settings import load_settings

    assert JOB.interval(load_settings({})) is None
    assert JOB.interval(scores_settings(tmp_path, tick_seconds=15)) == 15
    assert JOB.interval(scores_settings(tmp_path, poller=False)) is None


def _wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_healthy_game_keeps_its_polls_beside_a_peer_dribbling_a_byte_a_second(
    make_ctx: Callable[..., CommandContext], clock: Clock, store: Store
) -> None:
    # A peer sends its headers a byte a second: within any per-read timeout, for longer than the test.
    with scoreboard_server(ScoreboardGame(dribble_seconds=1.0, dribble_bytes=40)) as (base, game):
        ctx = make_ctx(timeout_seconds=60)
        _start(ctx, f"{base}/dribble/headers", every=5, name="a-slow")  # first in the store's order
        _start(ctx, f"{base}/prod/scores", every=5, name="b-healthy")
        for tick in range(1, 7):
            JOB.run(ctx)  # what `opsbot serve` runs each tick
            polled = _wait_for(lambda tick=tick: load_poll_state(store, "b-healthy").last_ok == clock().timestamp())
            assert polled, f"the healthy game missed its poll at tick {tick}"
            clock.advance(5)
        assert game.requests.count("/prod/scores") == 6
        assert (load_poll_state(store, "a-slow").polls, game.requests.count("/dribble/headers")) == (1, 1)
    # The server stopped: the dribbling answer ended, so its poll failed and let go of its game.
    assert _wait_for(lambda: load_poll_state(store, "a-slow").failures == 1)
