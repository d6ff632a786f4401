"""Issue 14 through /scores' real entry points: a scoreboard's team names and its HTTP status line are
outside text. The poller job's live table (with no user action after `/scores start`) and its
lead-change post go through the real delivery to the Slack stand-in; `/scores start` is a signed
request through Bolt. Every payload the stand-in received is checked by tests/live_markup.py."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from slack_sdk import WebClient

from bot.command import CommandContext
from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from bot.local.slack_standin import SlackStandIn
from bot.slack.delivery import SlackDelivery
from bot.slack.pacer import ChannelPacer
from bot.state import Store
from commands.scores import COMMAND
from commands.scores.history import Game, save_game
from commands.scores.poller import run_tick
from tests.commands.scores.conftest import ADMIN, Clock
from tests.live_markup import assert_inert

if TYPE_CHECKING:
    from tests.conftest import Bot

CHANNEL = "C0SCORES"
# Mostly non-ASCII names of 80 characters (the most a name keeps): 20 of them make a table block
# over the 12,000 characters a message may hold, so the live table goes monospace, as in the issue.
PAD = "Ünïcødé-ŧëäm-" * 6
TEAMS = (
    "<!channel> " + PAD,
    "``` closes the fence " + PAD,
    *(f"<!here> {n} " + PAD for n in range(18)),
)


@pytest.fixture
def slack(store: Store) -> Iterator[tuple[SlackStandIn, SlackDelivery]]:
    with SlackStandIn() as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        yield standin, SlackDelivery(client, store, pacer=ChannelPacer(0.0))


def test_the_poller_jobs_live_table_and_lead_change_post_carry_no_live_mention_or_open_fence(
    make_ctx: Callable[..., CommandContext], clock: Clock, slack: tuple[SlackStandIn, SlackDelivery]
) -> None:
    standin, delivery = slack
    standin.refuse_blocks("data_table")  # a workspace without it: the table block, too big, goes monospace
    with scoreboard_server(ScoreboardGame(teams=TEAMS, slow_seconds=3)) as (base, _game):
        ctx = make_ctx(channel=CHANNEL)
        ctx.post = delivery.post
        save_game(ctx.store, Game("gd", f"{base}/prod/scores", 30))
        for _ in range(14):  # the lead changes hands before step 12: the chart and its note are posted
            run_tick(ctx)  # the job's tick, waiting for its polls
            delivery.flush(10)
            clock.advance(30)
    assert_inert([call.params for call in standin.calls])
    posts = standin.calls_to("chat.postMessage") + standin.calls_to("chat.update")
    sections = [b["text"]["text"] for call in posts for b in call.params.get("blocks", []) if b["type"] == "section"]
    assert any(text.startswith("```") and "&lt;!channel&gt;" in text for text in sections), "the monospace table"
    assert any("overtakes" in call.params["text"] for call in posts)
    assert any("&lt;!channel&gt;" in call.params["text"] for call in posts), "the name is shown, escaped"


@pytest.fixture
def bad_status_line() -> Iterator[str]:
    """A 'scoreboard' that answers with a status line of its choosing: outside text in the error."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"<!channel> ``` <https://evil.example|click>\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/scores"
    stop.set()
    thread.join()
    server.close()


def test_scores_start_quotes_the_scoreboards_bad_status_line_escaped(
    serve_bot: Callable[..., Bot], tmp_path: Path, bad_status_line: str
) -> None:
    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.scores]\nallow_http_hosts = ["127.0.0.1"]\n')
    bot = serve_bot([COMMAND], OPSBOT_CONFIG=str(config), OPSBOT_ADMINS=ADMIN)
    status, url = bot.send(f"start {bad_status_line}", command="/scores", user_id=ADMIN)
    assert status == 200
    reply = bot.reply_to(url)
    assert_inert([call.params for call in bot.standin.calls])
    assert "The first poll failed" in reply["text"] and "&lt;!channel&gt;" in reply["text"]
