"""/eb-ip's answers as Slack messages (with a monospace text fallback for the terminal)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.reply import Reply
from bot.slack.blocks import aligned, context, fit_blocks, header, section, table
from bot.text import Mrkdwn, plural
from commands.eb_ip.instances import EnvironmentInstances, EnvironmentSummary

PRIVATE_ONLY = "(private only)"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def render_environments(summaries: list[EnvironmentSummary], region: str) -> Reply:
    title = Mrkdwn("Elastic Beanstalk environments in {}").format(region)
    if not summaries:
        return Reply(Mrkdwn("No {}.").format(title), [section(Mrkdwn("No {}.").format(title))])
    rows: list[tuple[Mrkdwn, ...]] = [tuple(map(Mrkdwn, ("environment", "status", "health", "running")))]
    rows += [tuple(map(Mrkdwn.escape, (s.name, s.status, s.health, s.instances))) for s in summaries]
    hint = Mrkdwn("`/eb-ip ENV` lists an environment's instances, oldest first.")
    text = Mrkdwn("\n").join([title, *aligned(rows, {3})])
    return Reply(text, fit_blocks([header(title), *table(rows, {3}), context(hint)]))


def instance_rows(found: EnvironmentInstances, tz: ZoneInfo) -> list[tuple[Mrkdwn, ...]]:
    rows: list[tuple[Mrkdwn, ...]] = [
        tuple(map(Mrkdwn, ("#", "instance", "public ip", "private ip", "launched", "zone")))
    ]
    for n, i in enumerate(found.instances, 1):
        cells = (n, i.id, i.public_ip or PRIVATE_ONLY, i.private_ip or "-", local_time(i.launched_at, tz), i.az)
        rows.append(tuple(map(Mrkdwn.escape, cells)))
    return rows


def render_table(found: EnvironmentInstances, tz: ZoneInfo) -> Reply:
    title = Mrkdwn("{}: {}, oldest first").format(found.label, plural(len(found.instances), "running instance"))
    rows = instance_rows(found, tz)
    asg = " --asg" if found.asg else ""
    hint = Mrkdwn("Region {}. `/eb-ip {} 1{}` gives one address; `ssh-config` sets up ssh.").format(
        found.region, found.name, asg
    )
    text = Mrkdwn("\n").join([title, *aligned(rows, {0})])
    return Reply(text, fit_blocks([header(title), *table(rows, {0}), context(hint)]))


def render_nth(found: EnvironmentInstances, n: int, tz: ZoneInfo) -> Reply:
    i = found.nth(n)
    where = i.address + ("" if i.public_ip else f" {PRIVATE_ONLY}")
    count = len(found.instances)
    text = Mrkdwn("{} #{} of {}: {}, instance {}").format(found.label, n, count, where, i.id)
    detail = Mrkdwn("Launched {} in {}; private IP {}; {}.").format(
        local_time(i.launched_at, tz), i.az, i.private_ip or "-", found.region
    )
    line = Mrkdwn("*{}* #{} of {}: `{}` · `{}`").format(found.label, n, count, where, i.id)
    return Reply(text + Mrkdwn("\n") + detail, [section(line), context(detail)])
