"""`/scores archive`: a game's history CSV, final charts and summary committed to a bare repository behind
a real sshd, with the key from moto's S3 under SSE-KMS; checked with the git CLI."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

from bot.aws import AwsClients
from bot.command import CommandContext, run_command
from bot.local.scoreboard import ScoreboardGame
from bot.local.sshd import LocalSshd, MemoryKey, git
from bot.settings import load_settings
from bot.state import Store
from commands.scores import COMMAND
from commands.scores.history import Game, save_game
from commands.scores.poller import run_tick
from tests.bot.remote.conftest import archive_config, store_key
from tests.commands.scores.conftest import ADMIN, USER, Clock


def archiving_ctx(tmp_path: Path, store: Store, clock: Clock, sshd: LocalSshd, bare: Path, user: str) -> CommandContext:
    config = tmp_path / "opsbot.toml"
    config.write_text(
        archive_config(sshd, bare, "scoreboards") + '[commands.scores]\nallow_http_hosts = ["127.0.0.1"]\n'
    )
    settings = load_settings({"OPSBOT_CONFIG": str(config), "OPSBOT_ADMINS": ADMIN})
    return CommandContext(settings, AwsClients(), store, user_id=user, channel_id="COPS0001", clock=clock)


def test_archive_commits_history_charts_and_summary_and_answers_with_commit_and_branch(
    tmp_path: Path,
    store: Store,
    clock: Clock,
    moto: str,
    sshd: LocalSshd,
    client_key: MemoryKey,
    simulator: tuple[str, ScoreboardGame],
) -> None:
    store_key(AwsClients(), client_key.private_text)
    bare = sshd.bare_repository()
    admin = archiving_ctx(tmp_path, store, clock, sshd, bare, ADMIN)
    base, _game = simulator
    assert run_command(COMMAND, f"start {base}/prod/scores --every 30s --name gd", admin).ok
    for _ in range(3):
        clock.advance(30)
        run_tick(admin)

    reply = run_command(COMMAND, "archive gd", admin)

    assert reply.ok, reply.text
    head = git("-C", str(bare), "rev-parse", "scoreboards").strip()
    assert reply.text.endswith(f"commit `{head}` on `scoreboards`.")
    names = [n for n in git("-C", str(bare), "ls-tree", "-r", "--name-only", "scoreboards").split() if "/" in n]
    folder = names[0].rsplit("/", 1)[0]
    assert folder.startswith("scores/gd/")
    assert sorted(name.rsplit("/", 1)[1] for name in names) == ["history.csv", "profit.png", "rank.png", "summary.md"]
    history = list(csv.DictReader(io.StringIO(git("-C", str(bare), "show", f"scoreboards:{folder}/history.csv"))))
    assert len(history) == 4 * 6 and {row["game"] for row in history} == {"gd"}  # 4 polls of 6 teams
    summary = git("-C", str(bare), "show", f"scoreboards:{folder}/summary.md")
    assert summary.startswith("# gd: the final ranking\n")
    assert all(f"| {team} |" in summary for team in {row["team"] for row in history})
    profit = _game.profits(4)["Unicorn Ops"]  # the 4th poll's; shown as on the board, e.g. "1,234.5"
    shown = f"{profit:,.2f}".rstrip("0").rstrip(".") if profit != int(profit) else f"{profit:,.0f}"
    assert re.search(rf"\| Unicorn Ops \| :\w+: {re.escape(shown)} \|", summary) and "Cell(" not in summary
    show = ["git", "-C", str(bare), "cat-file", "-p", f"scoreboards:{folder}/rank.png"]
    assert subprocess.run(show, capture_output=True, check=True).stdout.startswith(b"\x89PNG\r\n\x1a\n")
    assert store.audit_log("archive")[0].detail["commit"] == head


def test_archive_is_for_admins_and_needs_scores(tmp_path: Path, store: Store, clock: Clock, moto: str) -> None:
    settings = load_settings({"OPSBOT_ADMINS": ADMIN})
    user = CommandContext(settings, AwsClients(), store, user_id=USER, clock=clock)
    assert run_command(COMMAND, "archive", user).text.startswith("Only opsbot admins may archive a scoreboard.")
    admin = CommandContext(settings, AwsClients(), store, user_id=ADMIN, clock=clock)
    save_game(store, Game("quiet", "https://scores.example.com/prod/scores", 30.0))
    assert run_command(COMMAND, "archive quiet", admin).text == "`quiet` has no scores yet: nothing to archive."
