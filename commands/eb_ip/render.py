"""/eb-ip's answers as Slack messages (with a monospace text fallback for the terminal)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.reply import Reply
from bot.slack.blocks import aligned, context, fit_blocks, header, section, table
from bot.text import plural
from commands.eb_ip.instances import EnvironmentInstances, EnvironmentSummary

PRIVATE_ONLY = "(private only)"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def render_environments(summaries: list[EnvironmentSummary], region: str) -> Reply:
    title = f"Elastic Beanstalk environments in {region}"
    if not summaries:
        return Reply(f"No {title}.", [section(f"No {title}.")])
    rows = [("environment", "status", "health", "running")]
    rows += [(s.name, s.status, s.health, str(s.instances)) for s in summaries]
    hint = "`/eb-ip ENV` lists an environment's instances, oldest first."
    text = "\n".join([title, *aligned(rows, {3})])
    return Reply(text, fit_blocks([header(title), *table(rows, {3}), context(hint)]))


def instance_rows(found: EnvironmentInstances, tz: ZoneInfo) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("#", "instance", "public ip", "private ip", "launched", "zone")]
    for n, i in enumerate(found.instances, 1):
        rows.append(
            (str(n), i.id, i.public_ip or PRIVATE_ONLY, i.private_ip or "-", local_time(i.launched_at, tz), i.az)
        )
    return rows


def render_table(found: EnvironmentInstances, tz: ZoneInfo) -> Reply:
    title = f"{found.label}: {plural(len(found.instances), 'running instance')}, oldest first"
    rows = instance_rows(found, tz)
    asg = " --asg" if found.asg else ""
    hint = f"Region {found.region}. `/eb-ip {found.name} 1{asg}` gives one address; `ssh-config` sets up ssh."
    text = "\n".join([title, *aligned(rows, {0})])
    return Reply(text, fit_blocks([header(title), *table(rows, {0}), context(hint)]))


def render_nth(found: EnvironmentInstances, n: int, tz: ZoneInfo) -> Reply:
    i = found.nth(n)
    where = i.address + ("" if i.public_ip else f" {PRIVATE_ONLY}")
    text = f"{found.label} #{n} of {len(found.instances)}: {where}, instance {i.id}"
    detail = f"Launched {local_time(i.launched_at, tz)} in {i.az}; private IP {i.private_ip or '-'}; {found.region}."
    blocks = [section(f"*{found.label}* #{n} of {len(found.instances)}: `{where}` · `{i.id}`"), context(detail)]
    return Reply(f"{text}\n{detail}", blocks)
