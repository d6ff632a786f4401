"""/eb-ip's part of the App Home: the reader's personal tokens, with a button that revokes them."""

from __future__ import annotations

from typing import Any

from bot.command import CommandContext
from bot.reply import Reply
from bot.slack.blocks import actions, button, confirm_dialog, context
from bot.text import Mrkdwn, plural
from commands.eb_ip import ACTION_REVOKE_MINE


def home_blocks(ctx: CommandContext) -> list[dict[str, Any]]:
    confirm = confirm_dialog(
        Mrkdwn("Revoke your tokens?"),
        Mrkdwn("Every ssh ProxyCommand and script using them stops working."),
        Mrkdwn("Revoke"),
        Mrkdwn("Keep"),
    )
    revoke = button(Mrkdwn("Revoke my tokens"), ACTION_REVOKE_MINE, "me", style="danger", confirm=confirm)
    return [
        context(Mrkdwn("Personal tokens let ssh and scripts ask opsbot's HTTP routes; `/eb-ip token` issues one.")),
        actions("eb-ip-tokens", revoke),
    ]


def press_revoke(_value: str, ctx: CommandContext) -> Reply:
    """Revoke the presser's own tokens: the button names no one else, whatever value it carries."""
    count = ctx.store.revoke_tokens(ctx.user_id)
    ctx.store.audit(ctx.user_id, "token.revoke", user=ctx.user_id, revoked=count, via="home")
    return Reply.private(
        Mrkdwn("Revoked {} of yours.").format(plural(count, "token")) if count else Mrkdwn("You had no active tokens.")
    )
