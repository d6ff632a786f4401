"""One package per slash command; this list is everything the bot answers.

Each package exposes `COMMAND: SlashCommand`, which declares its handler and everything else it
contributes (routes, buttons, jobs, Lambda entry points). No feature imports another.
"""

from __future__ import annotations

from bot.command import SlashCommand
from commands import audit, eb_ip, lambda_capacity, scores, tail

COMMANDS: tuple[SlashCommand, ...] = (
    eb_ip.COMMAND,
    lambda_capacity.COMMAND,
    tail.COMMAND,
    scores.COMMAND,
    audit.COMMAND,
)


def find(name: str) -> SlashCommand | None:
    """The command called `name` (with or without the leading slash)."""
    wanted = "/" + name.lstrip("/")
    return next((c for c in COMMANDS if c.name == wanted), None)
