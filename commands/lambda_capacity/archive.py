"""`/lambda-capacity archive [--region R]` (admins): commit the latest cached report as Markdown and JSON.

The report is the one `/lambda-capacity` last scanned (its cache, whatever its age: the archive says when it
was taken); nothing is scanned here. The commit goes to `[remote.git]` through bot.remote.archive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.command import CommandContext, CommandError, require_admin
from bot.remote.archive import archive_files
from bot.reply import Reply
from bot.slack.blocks import section
from bot.text import Mrkdwn
from commands.lambda_capacity.options import NAME
from commands.lambda_capacity.render import attribution, prune_estimate, storage_summary, top_rows
from commands.lambda_capacity.scan import cached_report, region_or_default
from commands.lambda_capacity.storage import CodeStorageReport


def report_markdown(report: CodeStorageReport) -> str:
    taken = datetime.fromtimestamp(report.scanned_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"# Lambda code storage in {report.region}", "", f"Scanned {taken}.", ""]
    lines += [f"**{storage_summary(report)}**", ""]
    lines += [f"- {line}" for line in attribution(report).splitlines()]
    rows = top_rows(report, 20)
    if rows:
        lines += ["", "## Top functions", "", "| " + " | ".join(rows[0]) + " |", "|---|---:|---:|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]]
    estimate = prune_estimate(report).replace("*", "**")
    if estimate:
        lines += ["", estimate]
    return "\n".join(lines) + "\n"


def archive_report(region: str | None, ctx: CommandContext) -> Reply:
    require_admin(ctx, "archive capacity reports")
    where = region_or_default(ctx, region)
    report = cached_report(ctx, where)
    if report is None:
        raise CommandError(f"There is no report for {where} yet: run `{NAME} --region {where}` first, then archive it.")
    stamp = datetime.fromtimestamp(report.scanned_at, UTC).strftime("%Y-%m-%dT%H%M%SZ")
    base = f"lambda-capacity/{where}/{stamp}"
    files = {
        f"{base}.md": report_markdown(report).encode(),
        f"{base}.json": json.dumps(report.to_json(), indent=2, sort_keys=True).encode() + b"\n",
    }
    done = archive_files(ctx, files, f"Lambda code storage in {where}, scanned {stamp}")
    retried = " (the branch had moved; rebuilt on its new head)" if done.retried else ""
    text = Mrkdwn("Archived the {} report as `{}.md` and `.json`: commit `{}` on `{}`{}.").format(
        where, base, done.commit_id, done.branch, retried
    )
    return Reply(text=text, blocks=[section(text)])
