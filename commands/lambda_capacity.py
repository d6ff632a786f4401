"""/lambda-capacity: where a region's Lambda code storage goes, and a prune an admin confirms.

`/lambda-capacity [--region R | --all-regions] [--top N] [--refresh]` shows usage against the
quota, what functions and layers account for it, the growth forecast and what a prune would
free. `/lambda-capacity prune [--keep K] [function] [--region R]` (admins) shows a plan with a
Delete button; another admin may press it. Scanning lives in bot.code_storage, shared with the
monitor, and carrying out a confirmed plan in bot.code_storage_prune; this module parses,
renders, and answers the command and its buttons.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws import describe_aws_error
from bot.capacity_monitor import forecast_text, number_option, recorded_forecast
from bot.code_storage import (
    CACHE_NAMESPACE,
    DEFAULT_RATE,
    PLAN_TTL_SECONDS,
    CodeStorageReport,
    PruneCandidate,
    PrunePlan,
    human_bytes,
    sample_series,
    scan_region,
)
from bot.code_storage_prune import PlanExpired, PlanUsed, PruneOutcome, carry_out, claim_plan, store_plan
from bot.command import CommandContext, CommandError, SlashCommand, UsageError, require_admin
from bot.reply import Reply, code_sections, context, fit_blocks, header, section
from bot.settings import SettingsError

NAME = "/lambda-capacity"
ACTION_DELETE = "lambda_capacity_prune_delete"
ACTION_CANCEL = "lambda_capacity_prune_cancel"
MAX_PLAN_LINES = 100  # functions listed in a plan; the buttons must fit in Slack's 50 blocks
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_FUNCTION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:([A-Za-z0-9_-]{1,64})(:[^:]+)?$")


# -- parse


@dataclass(frozen=True)
class CapacityRequest:
    region: str | None = None  # None: the default region
    all_regions: bool = False
    top: int = 10
    refresh: bool = False


@dataclass(frozen=True)
class PruneRequest:
    region: str | None = None
    keep: int = 3
    function: str | None = None


@dataclass(frozen=True)
class CapacityOptions:
    """[commands.lambda-capacity] in the settings file."""

    rate: float = DEFAULT_RATE
    cache_seconds: float = 300.0
    keep: int = 3
    alias_budget: int = 100  # ListAliases calls the estimate may spend (~7 s at 15 req/s)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CapacityOptions:
        try:
            return cls(
                rate=number_option(options, "rate_per_second", DEFAULT_RATE, minimum=0.1) or DEFAULT_RATE,
                cache_seconds=number_option(options, "cache_seconds", 300.0) or 0.0,
                keep=int(number_option(options, "keep", 3, minimum=1) or 3),
                alias_budget=int(number_option(options, "estimate_alias_checks", 100) or 0),
            )
        except SettingsError as exc:
            raise CommandError(str(exc)) from None


def _int_between(flag: str, raw: str | None, low: int, high: int) -> int:
    if raw is None or not raw.isdigit() or not low <= int(raw) <= high:
        raise UsageError(f"{flag} takes a whole number from {low} to {high}, got {raw or 'nothing'}.")
    return int(raw)


def _region(raw: str | None) -> str:
    if raw is None or not _REGION.match(raw):
        raise UsageError(f"--region takes an AWS region such as eu-west-1, got {raw or 'nothing'}.")
    return raw


def parse(text: str, default_keep: int = 3) -> CapacityRequest | PruneRequest:
    words = text.split()
    prune = bool(words) and words[0].lower() == "prune"
    if prune:
        words = words[1:]
    region: str | None = None
    all_regions = refresh = False
    top, keep = 10, default_keep
    positional: list[str] = []
    it = iter(words)
    for word in it:
        if word == "--region":
            region = _region(next(it, None))
        elif word == "--all-regions" and not prune:
            all_regions = True
        elif word == "--top" and not prune:
            top = _int_between("--top", next(it, None), 1, 100)
        elif word == "--refresh" and not prune:
            refresh = True
        elif word == "--keep" and prune:
            keep = _int_between("--keep", next(it, None), 1, 100)
        elif word.startswith("-"):
            raise UsageError(f"Unknown option {word}{' for prune' if prune else ''}.")
        else:
            positional.append(word)
    if region and all_regions:
        raise UsageError("Use either --region or --all-regions, not both.")
    if not prune:
        if positional:
            raise UsageError(f"Unexpected {positional[0]!r}: did you mean `{NAME} prune {positional[0]}`?")
        return CapacityRequest(region, all_regions, top, refresh)
    if len(positional) > 1:
        raise UsageError("prune takes at most one function name.")
    function = positional[0] if positional else None
    arn = _FUNCTION_ARN.match(function or "")
    if arn:  # mappings and aliases name functions by their short name; the ARN names the region
        if arn.group(3):
            raise UsageError("prune takes a function, not one of its versions or aliases.")
        if region and region != arn.group(1):
            raise UsageError(f"That function is in {arn.group(1)}, not {region}.")
        region, function = arn.group(1), arn.group(2)
    elif function and not _FUNCTION.match(function):
        raise UsageError(f"{function!r} is not a Lambda function name or ARN.")
    return PruneRequest(region, keep, function)


# -- render


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _age(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _headline(report: CodeStorageReport) -> str:
    functions = _n(report.function_count, "function")
    if report.limit_bytes:
        used, limit = human_bytes(report.usage_bytes), human_bytes(report.limit_bytes)
        return f"*{used} of {limit} ({report.percent:.1f}%)* · {functions}"
    return f"*{human_bytes(report.usage_bytes)} listed* · {functions}"


def _attribution(report: CodeStorageReport) -> str:
    lines = [
        f"Functions: {human_bytes(report.function_bytes)} in {_n(report.version_count, 'version')}",
        f"Layers: {human_bytes(report.layer_bytes)} in {_n(len(report.layers), 'layer version')}",
    ]
    if report.unexplained_bytes is not None:
        lines.append(f"Not in the listing: {human_bytes(report.unexplained_bytes)}")
    images = sum(1 for f in report.functions if f.is_image)
    if images:
        lines.append(f"{_n(images, 'container-image function')} (images use no code storage)")
    return "\n".join(lines)


def _prune_estimate(report: CodeStorageReport) -> str:
    candidates = report.prune_candidates()
    if candidates is None:
        return ""
    unread = report.prune_candidates(aliases_read=False) or []
    if not candidates and not unread:
        return f"Nothing to prune: no function has unreferenced versions beyond its newest {report.keep}."
    exact = sum(c.code_size for c in candidates)
    functions = len({c.function for c in candidates})
    amount = f"*{human_bytes(exact)}* ({_n(len(candidates), 'version')} of {_n(functions, 'function')})"
    if unread:
        upper = human_bytes(exact + sum(c.code_size for c in unread))
        amount = (
            f"between {amount} and *{upper}*: the aliases of {_n(len({c.function for c in unread}), 'function')} "
            "with less to free were not read, to spare Lambda's request quota; a prune plan reads them all"
        )
    return (
        f"A prune keeping the newest {report.keep} versions would free {amount}. Versions behind an alias "
        f"or an event source mapping are kept. Admins: `{NAME} prune --region {report.region}`"
    )


def _top_table(report: CodeStorageReport, n: int) -> list[str]:
    top = [f for f in report.top(n) if f.code_bytes]
    if not top:
        return []
    width = min(40, max(len("Function"), *(len(f.name) for f in top)))
    lines = [f"{'Function':<{width}}  {'Storage':>10}  {'Versions':>8}"]
    for f in top:
        name = f.name if len(f.name) <= width else f.name[: width - 1] + "…"
        lines.append(f"{name:<{width}}  {human_bytes(f.code_bytes):>10}  {len(f.versions):>8,}")
    return lines


def render_region(report: CodeStorageReport, top: int, now: float, forecast: str) -> list[dict[str, Any]]:
    blocks = [
        header(f"Lambda code storage · {report.region}"),
        section(f"{_headline(report)} · as of {_age(now - report.scanned_at)}\n{_attribution(report)}"),
    ]
    if report.account_note:
        blocks.append(context(f"_{report.account_note}_"))
    blocks.append(section(forecast))
    estimate = _prune_estimate(report)
    if estimate:
        blocks.append(section(estimate))
    table = _top_table(report, top)
    if table:
        blocks.append(section(f"*Top {len(table) - 1} functions by storage* (all versions, $LATEST included)"))
        blocks.extend(code_sections(table))
    blocks.append(context(f"That scan took {report.calls:,} AWS calls. `{NAME} --refresh` rescans."))
    return blocks


def render_capacity(
    reports: list[CodeStorageReport],
    failed: Mapping[str, str],
    request: CapacityRequest,
    now: float,
    outlook: Mapping[str, str],
) -> Reply:
    shown = [r for r in reports if r.usage_bytes or r.functions or not request.all_regions]
    empty = sorted(r.region for r in reports if r not in shown)
    blocks: list[dict[str, Any]] = []
    text: list[str] = []
    if len(shown) > 1:  # the overview first: Slack's 50-block limit may cut the details
        width = max(len(r.region) for r in shown)
        overview = [f"{r.region:<{width}}  {_headline(r).replace('*', '')}" for r in shown]
        blocks += [header("Lambda code storage · all regions"), *code_sections(overview)]
    for report in shown:
        blocks.extend(render_region(report, request.top, now, outlook[report.region]))
        text.append(f"{report.region}: {_headline(report).replace('*', '')}")
    if empty:
        blocks.append(context(f"No Lambda code in {_n(len(empty), 'region')}: {', '.join(empty)}"))
    for region, why in sorted(failed.items()):
        blocks.append(context(f":warning: {region}: {why}"))
        text.append(f"{region}: {why}")
    if not shown and not failed:
        text.append("No Lambda code storage in any region.")
    return Reply(
        text="Lambda code storage — " + "; ".join(text), blocks=fit_blocks(blocks), ok=bool(shown or not failed)
    )


def _versions_text(candidates: list[PruneCandidate]) -> str:
    numbers = sorted(int(c.version) for c in candidates)
    return ("version " if len(numbers) == 1 else "versions ") + ", ".join(str(n) for n in numbers)


def render_plan(plan: PrunePlan, report: CodeStorageReport) -> Reply:
    amount, n = human_bytes(plan.total_bytes), len(plan.candidates)
    by_function: dict[str, list[PruneCandidate]] = {}
    for c in plan.candidates:
        by_function.setdefault(c.function, []).append(c)
    lines = [
        f"{name}: {_versions_text(cs)} ({human_bytes(sum(c.code_size for c in cs))})"
        for name, cs in sorted(by_function.items(), key=lambda kv: -sum(c.code_size for c in kv[1]))
    ]
    scope = f"`{plan.function}`" if plan.function else _n(plan.function_count, "function")
    summary = (
        f"Delete *{_n(n, 'version')}* of {scope} in {plan.region}, freeing *{amount}* "
        f"(of {human_bytes(report.usage_bytes)} used).\nKept: the newest {plan.keep} versions of each function, "
        f"every version an alias routes to (weights included), every version an event source mapping "
        f"invokes, and $LATEST. Requested by <@{plan.requested_by}>; an admin must confirm within "
        f"{PLAN_TTL_SECONDS // 60} minutes."
    )
    confirm = {
        "title": {"type": "plain_text", "text": "Delete Lambda versions?"},
        "text": {
            "type": "mrkdwn",
            "text": f"This deletes {_n(n, 'version')} in {plan.region} ({amount}). It cannot be undone.",
        },
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep them"},
        "style": "danger",
    }
    buttons = {
        "type": "actions",
        "block_id": "lambda_capacity_prune",
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_DELETE,
                "text": {"type": "plain_text", "text": f"Delete {_n(n, 'version')} ({amount})"},
                "style": "danger",
                "value": plan.id,
                "confirm": confirm,
            },
            {
                "type": "button",
                "action_id": ACTION_CANCEL,
                "text": {"type": "plain_text", "text": "Cancel"},
                "value": plan.id,
            },
        ],
    }
    if len(lines) > MAX_PLAN_LINES:
        lines = [*lines[:MAX_PLAN_LINES], f"… and {len(lines) - MAX_PLAN_LINES:,} more functions"]
    blocks = [header(f"Prune plan · {plan.region}"), section(summary), *code_sections(lines), buttons]
    return Reply(text=f"Prune plan: delete {_n(n, 'version')} in {plan.region}, freeing {amount}.", blocks=blocks)


def render_outcome(plan: PrunePlan, outcome: PruneOutcome, approver: str) -> Reply:
    freed = human_bytes(sum(c.code_size for c in outcome.deleted))
    total = len(plan.candidates)
    head = (
        f"Pruned {plan.region}: deleted {len(outcome.deleted):,} of {_n(total, 'version')}, freed {freed}. "
        f"Approved by <@{approver}>, requested by <@{plan.requested_by}>."
    )
    lines = [f"deleted  {c.function}:{c.version}  {human_bytes(c.code_size)}" for c in outcome.deleted]
    lines += [f"skipped  {c.function}:{c.version}  {why}" for c, why in outcome.skipped]
    lines += [f"FAILED   {c.function}:{c.version}  {why}" for c, why in outcome.failed]
    blocks = [section(head)]
    if outcome.failed:
        failed = _n(len(outcome.failed), "deletion")
        blocks.append(section(f":warning: {failed} failed; those versions are still there."))
    blocks.extend(code_sections(lines))
    text = head
    if outcome.failed:
        text += " Failed: " + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.failed)
    if outcome.skipped:
        text += " Skipped: " + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.skipped)
    return Reply(text=text, blocks=fit_blocks(blocks), replace_original=True, ok=not outcome.failed)


# -- scanning with the cache


def _cached(ctx: CommandContext, region: str) -> CodeStorageReport | None:
    stored = ctx.store.get(CACHE_NAMESPACE, region)
    if not stored or not stored.value:
        return None
    try:
        return CodeStorageReport.from_json(stored.value)
    except (KeyError, TypeError, ValueError):
        return None  # written by another version of the bot: scan again


def fresh_report(
    ctx: CommandContext, region: str, opts: CapacityOptions, *, refresh: bool, progress: Callable[[str], None]
) -> CodeStorageReport:
    """The cached report if young enough, else a new scan (cached and sampled for the forecast)."""
    now = ctx.now().timestamp()
    cached = _cached(ctx, region)
    if cached and not refresh and cached.keep == opts.keep and now - cached.scanned_at < opts.cache_seconds:
        return cached
    known = {lv.arn: lv.code_size for lv in cached.layers} if cached else {}
    report = scan_region(
        ctx.aws,
        region,
        now=now,
        rate=opts.rate,
        keep=opts.keep,
        known_layer_sizes=known,
        alias_budget=opts.alias_budget,
        progress=progress,
    )
    _remember(ctx, report)
    return report


def _remember(ctx: CommandContext, report: CodeStorageReport) -> None:
    """Cache a whole-region report for the next answer and sample it for the forecast."""
    ctx.store.put(CACHE_NAMESPACE, report.region, report.to_json())
    ctx.store.add_sample(sample_series(report.region), report.scanned_at, report.usage_bytes)


def _default_region(ctx: CommandContext, region: str | None) -> str:
    region = region or ctx.aws.default_region
    if not region:
        raise CommandError("No AWS region is configured: set AWS_DEFAULT_REGION or pass --region.")
    return region


def _outlook(ctx: CommandContext, report: CodeStorageReport, now: float) -> str:
    forecast = recorded_forecast(ctx.store, report.region, now=now, limit_bytes=report.limit_bytes)
    return forecast_text(forecast, now, ctx.settings.timezone)


def show_capacity(request: CapacityRequest, ctx: CommandContext, opts: CapacityOptions) -> Reply:
    regions = ctx.aws.regions("lambda") if request.all_regions else [_default_region(ctx, request.region)]
    lock = threading.Lock()

    def progress_of(region: str) -> Callable[[str], None]:
        def report(text: str) -> None:
            with lock:  # regions scan in parallel; the Slack progress line is one message
                ctx.progress(f"{region}: {text}" if request.all_regions else text)

        return report

    def one(region: str) -> CodeStorageReport | str:
        try:
            return fresh_report(ctx, region, opts, refresh=request.refresh, progress=progress_of(region))
        except (ClientError, BotoCoreError) as exc:
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


# -- prune: plan, confirm, carry out


def make_plan(request: PruneRequest, ctx: CommandContext, opts: CapacityOptions) -> Reply:
    require_admin(ctx, "prune Lambda versions")
    region = _default_region(ctx, request.region)
    now = ctx.now().timestamp()
    report = scan_region(
        ctx.aws, region, now=now, rate=opts.rate, keep=request.keep, function=request.function, progress=ctx.progress
    )
    if request.function and not report.functions:
        raise CommandError(f"There is no function {request.function} in {region}.")
    if not request.function:  # a whole-region scan: as good as any for the next answer
        _remember(ctx, report)
    plan = store_plan(ctx.store, report, keep=request.keep, requested_by=ctx.user_id, function=request.function)
    if plan is None:
        scope = request.function or region
        return Reply(text=f"Nothing to prune in {scope}: no unreferenced versions beyond the newest {request.keep}.")
    return render_plan(plan, report)


def _claim(ctx: CommandContext, plan_id: str, outcome: str) -> PrunePlan | Reply:
    """The plan this press may use, or the reply saying why it may not."""
    claim = claim_plan(ctx.store, plan_id, ctx.user_id, outcome, ctx.now().timestamp())
    if claim is None:
        raise CommandError(f"This prune plan is unknown to the bot; run `{NAME} prune` again.")
    if isinstance(claim, PlanUsed):
        if claim.outcome == "expired":
            return Reply.private("This prune plan expired; nothing was deleted.")
        return Reply.private(
            f"This prune plan was already {claim.outcome} by <@{claim.used_by}>; nothing more was done."
        )
    if isinstance(claim, PlanExpired):
        return Reply(
            text=f"This prune plan expired ({PLAN_TTL_SECONDS // 60} minutes); nothing was deleted. "
            f"Run `{NAME} prune --region {claim.plan.region}` for a new one.",
            replace_original=True,
        )
    return claim


def press_delete(plan_id: str, ctx: CommandContext) -> Reply:
    require_admin(ctx, "delete Lambda versions")  # whoever presses, not whoever asked
    claimed = _claim(ctx, plan_id, "carried out")
    if isinstance(claimed, Reply):
        return claimed
    opts = CapacityOptions.from_options(ctx.settings.options_for(NAME))
    outcome = carry_out(claimed, ctx.aws, ctx.store, approved_by=ctx.user_id, rate=opts.rate, progress=ctx.progress)
    return render_outcome(claimed, outcome, ctx.user_id)


def press_cancel(plan_id: str, ctx: CommandContext) -> Reply:
    require_admin(ctx, "cancel a prune")
    claimed = _claim(ctx, plan_id, "cancelled")
    if isinstance(claimed, Reply):
        return claimed
    return Reply(text=f"Prune plan cancelled by <@{ctx.user_id}>; nothing was deleted.", replace_original=True)


# -- wiring


def handle(text: str, ctx: CommandContext) -> Reply:
    opts = CapacityOptions.from_options(ctx.settings.options_for(NAME))
    request = parse(text, opts.keep)
    if isinstance(request, PruneRequest):
        return make_plan(request, ctx, opts)
    return show_capacity(request, ctx, opts)


HELP = f"""\
Shows Lambda code storage against the per-region quota (from GetAccountSettings), what functions \
(every version, $LATEST included) and layers account for it, growth and what a prune would free.
• `{NAME}` — the default region; `--region R` or `--all-regions`; `--top N` (1–100, default 10); \
`--refresh` rescans instead of using a result younger than a few minutes.
• `{NAME} prune [--keep K] [function] [--region R]` — admins: plans deleting versions beyond the newest K \
(default 3) that no alias (incl. routing weights) or event source mapping uses; nothing is deleted until an \
admin presses *Delete*."""

COMMAND = SlashCommand(
    name=NAME,
    summary="Lambda code storage per region: usage, top functions, forecast, and safe pruning",
    usage_hint="[--region R | --all-regions] [--top N] [--refresh] | prune [--keep K] [function] [--region R]",
    help=HELP,
    handle=handle,
    buttons={ACTION_DELETE: press_delete, ACTION_CANCEL: press_cancel},
)
