"""A healthy game's polls beside a scoreboard that answers a byte a second (issue 14, part 4).

    python bench/slow_peer.py [--seconds 90] [--baseline DIR]

Runs the scores poller job the way `opsbot serve` does (`JOB.run` at the start of every 5 s tick)
in a subprocess, with two games polled every 5 s: one on a loopback scoreboard that sends its
headers a byte a second, one on a healthy scoreboard. Counts, at the scoreboards, the healthy
game's polls over `--seconds`; the most there can be is one per tick. With `--baseline DIR` (an
older checkout, e.g. `git archive main | tar -x -C DIR`) the same runs beside it, from DIR's code.
Everything listens on 127.0.0.1 only and is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.local.scoreboard import ScoreboardGame, scoreboard_server  # noqa: E402

TICK = 5.0
TIMEOUT = 5.0  # the poll's timeout_seconds: each read of the old fetch got this much afresh

CHILD = """
import sys, time
from bot.aws import AwsClients
from bot.command import CommandContext
from bot.settings import load_settings
from bot.state import Store
from commands.scores.history import Game, save_game
from commands.scores import JOB

config, db, slow, healthy, tick = sys.argv[1:6]
settings = load_settings({"OPSBOT_CONFIG": config})
store = Store.open(db)
save_game(store, Game("a-slow", slow, float(tick)))
save_game(store, Game("b-healthy", healthy, float(tick)))
ctx = CommandContext(settings, AwsClients(), store, user_id="bench", channel_id="")
while True:  # bot/jobs.py's loop, without the lease: one replica
    JOB.run(ctx)
    time.sleep(float(tick) - time.time() % float(tick))
"""


def run(sources: dict[str, Path], seconds: float) -> dict[str, int]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        children, healthy_games = [], {}
        for n, (label, source) in enumerate(sources.items()):
            slow_base, _ = stack.enter_context(scoreboard_server(ScoreboardGame(dribble_seconds=1.0)))
            healthy_base, healthy = stack.enter_context(scoreboard_server())
            healthy_games[label] = healthy
            config = Path(tmp) / f"{n}.toml"
            config.write_text(
                f'[commands.scores]\nallow_http_hosts = ["127.0.0.1"]\ntick_seconds = {TICK}\n'
                f"timeout_seconds = {TIMEOUT}\nlive_table = false\n"
            )
            args = [str(config), str(Path(tmp) / f"{n}.db"), f"{slow_base}/dribble/headers"]
            args += [f"{healthy_base}/prod/scores", str(TICK)]
            child = subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=source, stderr=subprocess.DEVNULL)
            children.append(child)
        try:
            time.sleep(seconds)
            return {label: game.requests.count("/prod/scores") for label, game in healthy_games.items()}
        finally:
            for child in children:
                child.kill()
                child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--baseline", type=Path, help="an older checkout to run beside this one")
    args = parser.parse_args()
    sources = {"this checkout": ROOT} | ({f"baseline ({args.baseline})": args.baseline} if args.baseline else {})
    counts = run(sources, args.seconds)
    most = int(args.seconds // TICK)
    print(f"healthy game's polls in {args.seconds:g} s beside a 1 byte/s scoreboard (at most {most}, one a tick):")
    for label, count in counts.items():
        print(f"  {label}: {count}")


if __name__ == "__main__":
    main()
