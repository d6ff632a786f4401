"""Words shared by every command: plurals and escaping for Slack's mrkdwn."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`1 instance`, `3 instances`, `1,024 versions`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def escape_mrkdwn(text: str) -> str:
    """Slack's three escapes (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
