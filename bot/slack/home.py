"""The App Home and the answer to an @mention: what opsbot can do, and what it is doing for the reader.

Built from the commands' own declarations (summary, usage, help, and each feature's `home`
section), so a new feature appears here the way its jobs and routes do, and `bot/` names none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.command import CommandContext, SlashCommand
from bot.slack.blocks import context, header, section
from bot.text import EMPTY, Mrkdwn

log = logging.getLogger(__name__)

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
MAX_FEATURE_BLOCKS = 12  # a feature's own part, so every feature fits beside the others
MAX_MENTION_BLOCKS = 50  # a message's limit
INTRO = Mrkdwn(
    "opsbot answers slash commands about this workspace's AWS account, with its own IAM role: "
    "nobody here needs AWS keys. Type a command in any channel, or `help` after one (`/tail help`)."
)


def home_view(commands: Sequence[SlashCommand], ctx: CommandContext, note: Mrkdwn = EMPTY) -> dict[str, Any]:
    """The Home tab for `ctx.user_id`; `note` (already mrkdwn) says what their last button did."""
    blocks = [header(Mrkdwn("opsbot")), section(INTRO)]
    if note:
        blocks.append(context(note))
    for command in commands:
        blocks += [{"type": "divider"}, section(Mrkdwn("*{}* — {}").format(command.name, command.summary))]
        blocks.append(context(command.usage_for(ctx.settings)))
        blocks += _feature_blocks(command, ctx)
        blocks.append(section(Mrkdwn(command.help)))
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def mention_overview(commands: Sequence[SlashCommand], ctx: CommandContext) -> list[dict[str, Any]]:
    """What an @opsbot mention is answered with, in its thread: the commands, and where to see more."""
    blocks = [section(INTRO)]
    for command in commands:
        usage = command.usage_for(ctx.settings)
        blocks.append(section(Mrkdwn("*{}* — {}\n").format(command.name, command.summary) + usage))
    blocks.append(context(Mrkdwn("Open opsbot's *Home* tab for each command's help and what it is doing for you.")))
    return blocks[:MAX_MENTION_BLOCKS]


def _feature_blocks(command: SlashCommand, ctx: CommandContext) -> list[dict[str, Any]]:
    if command.home is None:
        return []
    try:
        blocks = command.home(ctx)
    except Exception:  # one feature's state being unreadable must not blank the whole Home
        log.exception("the App Home section of %s failed", command.name)
        return [
            context(
                Mrkdwn("_What {} is doing could not be read just now; the error is in the bot's log._").format(
                    command.name
                )
            )
        ]
    if len(blocks) > MAX_FEATURE_BLOCKS:
        more = context(Mrkdwn("_…and more: `{}` shows everything._").format(command.name))
        blocks = [*blocks[: MAX_FEATURE_BLOCKS - 1], more]
    return blocks
