"""/lambda-capacity's part of the App Home: the monitor's last reading and alarm state, per region."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.command import CommandContext
from bot.slack.blocks import context, section
from bot.text import Mrkdwn
from commands.lambda_capacity.monitor import STATE_NAMESPACE
from commands.lambda_capacity.storage import human_bytes, sample_series


def home_blocks(ctx: CommandContext) -> list[dict[str, Any]]:
    lines = []
    for region, stored in sorted(ctx.store.items(STATE_NAMESPACE)):
        at = float(stored.value.get("at", 0))
        samples = ctx.store.samples(sample_series(region), since=at - 1)
        usage = human_bytes(samples[-1][1]) if samples else "no reading kept"
        when = datetime.fromtimestamp(at, ctx.settings.timezone)
        state = ":red_circle: above the alert threshold" if stored.value.get("alerting") else ":large_green_circle: ok"
        lines.append(Mrkdwn("`{}`  {} at {}  {}").format(region, usage, f"{when:%Y-%m-%d %H:%M %Z}", Mrkdwn(state)))
    if not lines:
        return [context(Mrkdwn("The capacity monitor has taken no reading yet (`monitor_every_seconds` turns it on)."))]
    return [section(Mrkdwn("*Capacity monitor, last reading per region*\n") + Mrkdwn("\n").join(lines))]
