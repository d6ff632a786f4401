"""The demo's /scores scene: the scoreboard simulator over HTTP, an admin starts the poller, the
poller's ticks (each 10 s later on the bot's clock) keep the live table and post the chart on the
lead change, then users ask for the board, mark the load spike and draw the chart with ranks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.local.scoreboard import ScoreboardGame, scoreboard_server

if TYPE_CHECKING:
    from bot.local.demo import DemoBot

POSTER_CHANNEL = "C0SCORES"
# The simulator is plain http on loopback; the game lasts minutes, so change is over one; the poster
# keeps its table and charts in a channel of its own.
SCORES_CONFIG = f"""\
[commands.scores]
allow_http_hosts = ["127.0.0.1"]
period_minutes = 1
channel = "{POSTER_CHANNEL}"
"""
EVERY = 10


def scores_scene(bot: DemoBot) -> None:
    from bot.local.demo import ADMIN, Entry
    from commands.scores import JOB
    from commands.scores.poller import run_tick

    job = bot.runtime.context(f"job:{JOB.name}", "", post=bot.delivery.post)

    def ticks(count: int) -> None:
        for _ in range(count):
            bot.clock.skip(EVERY)
            run_tick(job)  # the job's tick, waiting for its polls: the demo's clock moves only after them

    with scoreboard_server(ScoreboardGame()) as (base, _game):
        bot.narrate(
            "/scores: a GameDay scoreboard polled from its first minute (here the simulator, over HTTP), "
            "ranked, charted and posted."
        )
        bot.slash(f"/scores start {base}/prod/scores --every {EVERY}s --name gameday", user=ADMIN)
        ticks(11)
        bot.slash("/scores")
        ticks(8)
        bot.slash('/scores mark "load spike"')
        ticks(4)
        bot.slash("/scores chart --rank", files=1)
    bot.delivery.flush(60)
    posted = bot.standin.messages(POSTER_CHANNEL)
    updates = [c for c in bot.standin.calls_to("chat.update") if c.params.get("channel") == POSTER_CHANNEL]
    files = [(u["filename"], u["content"]) for u in bot.standin.uploads.values() if u.get("channel") == POSTER_CHANNEL]
    bot.transcript.append(
        Entry(
            who="opsbot poller",
            said=f"[23 ticks, {EVERY} s apart, in #{POSTER_CHANNEL}]",
            ack=f"{len(posted)} messages, {len(updates)} edits in place",
            replies=[{**m, "response_type": "in_channel"} for m in posted if not m.get("files")],
            files=files,
        )
    )
