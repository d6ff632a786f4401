"""/tail's part of the App Home: the reader's running follows, each with a button that stops it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.command import CommandContext, CommandError
from bot.reply import Reply
from bot.slack.blocks import actions, button, context, section
from bot.text import Mrkdwn, channel_mention, plural
from commands.tail import ACTION_STOP_FOLLOW
from commands.tail.follows import request_stop, running


def home_blocks(ctx: CommandContext) -> list[dict[str, Any]]:
    mine = sorted((f for f in running(ctx.store) if f.user == ctx.user_id), key=lambda f: f.until)
    if not mine:
        return [context(Mrkdwn("You are following no log group. `/tail my-function --follow 5m` starts one."))]
    blocks = [section(Mrkdwn("*Your {}*").format(plural(len(mine), "follow")))]
    for follow in mine:
        until = datetime.fromtimestamp(follow.until, ctx.settings.timezone)
        text = Mrkdwn("`{}` in {} until {}").format(
            follow.log_group, channel_mention(follow.channel), f"{until:%H:%M %Z}"
        )
        blocks.append(section(text))
        blocks.append(
            actions(f"follow-{follow.follow_id}", button(Mrkdwn("Stop"), ACTION_STOP_FOLLOW, follow.follow_id))
        )
    return blocks


def press_stop(follow_id: str, ctx: CommandContext) -> Reply:
    """Stop one follow: the reader's own (an admin's: anyone's), named by the button's value."""
    follow = next((f for f in running(ctx.store) if f.follow_id == follow_id), None)
    if follow is None:
        return Reply.private(Mrkdwn("That follow has already ended."))
    if follow.user != ctx.user_id and not ctx.is_admin:
        raise CommandError("That follow is someone else's; they or an admin can stop it.")
    request_stop(ctx.store, follow, ctx.user_id)
    return Reply.private(Mrkdwn("Stopping the follow of `{}`; it says so in its thread.").format(follow.log_group))
