"""One module per slash command; this list is everything the bot answers.

Each module exposes `COMMAND: SlashCommand`: parse the text into a typed request, query AWS
through the client passed in, build a result, render it. No command imports another.
"""

from __future__ import annotations

from bot.command import SlashCommand
from bot.reply import Reply
from commands import eb_ip, lambda_capacity, scores, tail


def _not_yet(name: str, summary: str) -> SlashCommand:
    """Declared in manifest.yml so installs need no re-approval later; answers honestly meanwhile."""

    def handle(_text: str, _ctx: object) -> Reply:
        return Reply.error(f"{name} is not available in this version of opsbot yet.")

    return SlashCommand(name=name, summary=summary, usage_hint="", help="Not available yet.", handle=handle)


COMMANDS: tuple[SlashCommand, ...] = (
    eb_ip.COMMAND,
    lambda_capacity.COMMAND,
    tail.COMMAND,
    scores.COMMAND,
)


def find(name: str) -> SlashCommand | None:
    """The command called `name` (with or without the leading slash)."""
    wanted = "/" + name.lstrip("/")
    return next((c for c in COMMANDS if c.name == wanted), None)
