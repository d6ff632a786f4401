"""/lambda-capacity's answer: scan (every region side by side), forecast, plan a prune or archive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.aws import AWS_ERRORS, describe_aws_error
from bot.command import CommandContext
from bot.reply import Reply
from commands.lambda_capacity.archive import archive_report
from commands.lambda_capacity.forecast import forecast_text, recorded_forecast
from commands.lambda_capacity.options import NAME, CapacityOptions
from commands.lambda_capacity.parse import ArchiveRequest, CapacityRequest, PruneRequest, parse
from commands.lambda_capacity.prune import make_plan
from commands.lambda_capacity.render import render_capacity
from commands.lambda_capacity.scan import fresh_report, region_or_default
from commands.lambda_capacity.storage import CodeStorageReport


def _outlook(ctx: CommandContext, report: CodeStorageReport, now: float) -> str:
    forecast = recorded_forecast(ctx.store, report.region, now=now, limit_bytes=report.limit_bytes)
    return forecast_text(forecast, now, ctx.settings.timezone)


def show_capacity(request: CapacityRequest, ctx: CommandContext, opts: CapacityOptions) -> Reply:
    regions = ctx.aws.regions("lambda") if request.all_regions else [region_or_default(ctx, request.region)]
    lock = threading.Lock()

    def progress_of(region: str) -> Callable[[str], None]:
        def report(text: str) -> None:
            with lock:  # regions scan in parallel; the Slack progress line is one message
                ctx.progress(f"{region}: {text}" if request.all_regions else text)

        return report

    def one(region: str) -> CodeStorageReport | str:
        try:
            return fresh_report(ctx, region, opts, refresh=request.refresh, progress=progress_of(region))
        except AWS_ERRORS as exc:
            if not request.all_regions:
                raise
            return describe_aws_error(exc)  # e.g. an opt-in region this account has not enabled

    # Each region has its own quota and bucket, so regions scan side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        results = dict(zip(regions, pool.map(one, regions), strict=True))
    reports = [r for r in results.values() if isinstance(r, CodeStorageReport)]
    failed = {region: r for region, r in results.items() if isinstance(r, str)}
    now = ctx.now().timestamp()
    outlook = {r.region: _outlook(ctx, r, now) for r in reports}
    return render_capacity(reports, failed, request, now, outlook)


def handle(text: str, ctx: CommandContext) -> Reply:
    opts = CapacityOptions.from_options(ctx.settings.options_for(NAME))
    request = parse(text, opts.keep)
    if isinstance(request, ArchiveRequest):
        return archive_report(request.region, ctx)
    if isinstance(request, PruneRequest):
        return make_plan(request, ctx, opts)
    return show_capacity(request, ctx, opts)
