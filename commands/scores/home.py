"""/scores' part of the App Home: the games being polled and when each is polled next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.command import CommandContext
from bot.slack.blocks import context, section
from bot.text import Mrkdwn
from commands.scores.history import games, load_poll_state


def home_blocks(ctx: CommandContext) -> list[dict[str, Any]]:
    lines = []
    for game in sorted(games(ctx.store), key=lambda g: g.name):
        state = load_poll_state(ctx.store, game.name)
        due = max(state.last_at + game.every, ctx.now().timestamp()) if state.last_at else ctx.now().timestamp()
        at = datetime.fromtimestamp(due, ctx.settings.timezone)
        trouble = Mrkdwn(" · last poll failed: {}").format(state.last_error[:200]) if state.failures else Mrkdwn("")
        lines.append(
            Mrkdwn("`{}` every {:g} s, next poll {}{}").format(game.name, game.every, f"{at:%H:%M:%S %Z}", trouble)
        )
    if not lines:
        return [context(Mrkdwn("No game is being polled. An admin starts one with `/scores start URL`."))]
    return [section(Mrkdwn("*Games being polled*\n") + Mrkdwn("\n").join(lines))]
