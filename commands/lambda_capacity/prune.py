"""Carrying out a Lambda prune plan: kept until a button press claims it, then re-checked and deleted.

The plan and the rules that chose its versions are in bot.code_storage; /lambda-capacity shows
the plan, its buttons and the outcome. This module keeps the plan's record in the store, lets
exactly one press use it, re-reads the references each version has now, and deletes version by
version, so one refusal from AWS costs that version and not the rest. It does no Slack I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bot.aws import AWS_ERRORS, AwsClients, describe_aws_error
from bot.command import CommandContext, CommandError, require_admin
from bot.reply import Reply
from bot.state import Store
from bot.text import Mrkdwn, user_mention
from commands.lambda_capacity.options import NAME, CapacityOptions
from commands.lambda_capacity.parse import PruneRequest
from commands.lambda_capacity.render import render_outcome, render_plan
from commands.lambda_capacity.scan import (
    CallCount,
    _remember,
    lambda_client,
    list_aliased_versions,
    list_mapped_versions,
    region_or_default,
    scan_region,
)
from commands.lambda_capacity.storage import (
    CACHE_NAMESPACE,
    PLAN_NAMESPACE,
    PLAN_TTL_SECONDS,
    CodeStorageReport,
    FunctionReferences,
    Progress,
    PruneOutcome,
    PrunePlan,
)

# -- the plan's record: the plan, who used it and how


def store_plan(
    store: Store, report: CodeStorageReport, *, keep: int, requested_by: str, function: str | None
) -> PrunePlan | None:
    """A plan to delete the report's prune candidates, kept unused for a press; None if there are none."""
    candidates = report.prune_candidates() or []
    if not candidates:
        return None
    plan = PrunePlan(
        id=secrets.token_urlsafe(12),
        region=report.region,
        keep=keep,
        requested_by=requested_by,
        created_at=report.scanned_at,
        candidates=tuple(candidates),
        function=function,
    )
    store.put(PLAN_NAMESPACE, plan.id, {"plan": plan.to_json(), "used_by": None, "outcome": None})
    store.audit(requested_by, "lambda-capacity.plan", plan=plan.id, region=plan.region, versions=len(candidates))
    return plan


@dataclass(frozen=True)
class PlanUsed:
    """An earlier press used the plan up: carried it out, cancelled it or found it expired."""

    used_by: str | None
    outcome: str | None  # "carried out", "cancelled" or "expired"


@dataclass(frozen=True)
class PlanExpired:
    """This press found the plan too old; it is now used up as "expired"."""

    plan: PrunePlan


def claim_plan(
    store: Store, plan_id: str, user_id: str, outcome: str, now: float
) -> PrunePlan | PlanUsed | PlanExpired | None:
    """The plan, marked used by this press (with `outcome`) before anything is deleted.

    Otherwise why this press may not use it; None when the store has no such plan. A double
    press arrives on two threads, or two Lambda invocations, at once: the store's atomic claim
    lets exactly one of them mark the plan; the other reads it again and finds it used.
    """
    while True:
        stored = store.get(PLAN_NAMESPACE, plan_id)
        if stored is None:
            return None
        record = dict(stored.value)
        if record.get("outcome") == "expired" or record.get("used_by"):
            return PlanUsed(record.get("used_by"), record.get("outcome"))
        plan = PrunePlan.from_json(record["plan"])
        expired = plan.expired(now)
        record.update(used_by=user_id, outcome="expired" if expired else outcome)
        if store.claim(PLAN_NAMESPACE, plan_id, stored.value, record):
            return PlanExpired(plan) if expired else plan


# -- carrying it out


def _current_references(client: Any, plan: PrunePlan) -> dict[str, FunctionReferences | str]:
    """References now, not when the plan was made: an alias may have moved since."""
    calls = CallCount()
    names = sorted({c.function for c in plan.candidates})
    try:
        mapped = list_mapped_versions(client, calls)
    except AWS_ERRORS as exc:
        return dict.fromkeys(names, describe_aws_error(exc))
    refs: dict[str, FunctionReferences | str] = {}
    for name in names:
        try:
            refs[name] = FunctionReferences(list_aliased_versions(client, name, calls), mapped.get(name, frozenset()))
        except AWS_ERRORS as exc:
            refs[name] = describe_aws_error(exc)  # unknown references: do not delete
    return refs


def carry_out(
    plan: PrunePlan, aws: AwsClients, store: Store, *, approved_by: str, rate: float, progress: Progress
) -> PruneOutcome:
    """Delete the plan's versions that nothing references now; audit each deletion and failure."""
    client = lambda_client(aws, plan.region, rate)
    refs = _current_references(client, plan)
    outcome = PruneOutcome([], [], [])
    for i, c in enumerate(plan.candidates, start=1):
        current = refs[c.function]
        if isinstance(current, str):
            outcome.skipped.append((c, f"references unreadable: {current}"))
            continue
        if c.version in current.protected:
            why = "now behind an alias" if c.version in current.aliased else "now used by an event source mapping"
            outcome.skipped.append((c, why))
            continue
        try:
            client.delete_function(FunctionName=c.function, Qualifier=c.version)
        except AWS_ERRORS as exc:
            reason = describe_aws_error(exc)
            outcome.failed.append((c, reason))
            store.audit(
                approved_by,
                "lambda-capacity.delete-failed",
                function=c.function,
                version=c.version,
                plan=plan.id,
                reason=reason,
            )
            continue
        outcome.deleted.append(c)
        store.audit(
            approved_by,
            "lambda-capacity.delete",
            function=c.function,
            version=c.version,
            bytes=c.code_size,
            plan=plan.id,
            region=plan.region,
            requested_by=plan.requested_by,
        )
        if i % 10 == 0:
            progress(f"Deleted {len(outcome.deleted):,} of {len(plan.candidates):,} versions…")
    store.put(CACHE_NAMESPACE, plan.region, None)  # the cached report still counts the deleted versions
    return outcome


# -- prune: plan, confirm, carry out


def make_plan(request: PruneRequest, ctx: CommandContext, opts: CapacityOptions) -> Reply:
    require_admin(ctx, "prune Lambda versions")
    region = region_or_default(ctx, request.region)
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
        text = Mrkdwn("Nothing to prune in {}: no unreferenced versions beyond the newest {}.")
        return Reply(text=text.format(scope, request.keep))
    return render_plan(plan, report)


def _claim(ctx: CommandContext, plan_id: str, outcome: str) -> PrunePlan | Reply:
    """The plan this press may use, or the reply saying why it may not."""
    claim = claim_plan(ctx.store, plan_id, ctx.user_id, outcome, ctx.now().timestamp())
    if claim is None:
        raise CommandError(f"This prune plan is unknown to the bot; run `{NAME} prune` again.")
    if isinstance(claim, PlanUsed):
        if claim.outcome == "expired":
            return Reply.private(Mrkdwn("This prune plan expired; nothing was deleted."))
        return Reply.private(
            Mrkdwn("This prune plan was already {} by {}; nothing more was done.").format(
                claim.outcome, user_mention(claim.used_by or "")
            )
        )
    if isinstance(claim, PlanExpired):
        text = Mrkdwn(
            "This prune plan expired ({} minutes); nothing was deleted. Run `{} prune --region {}` for a new one."
        )
        return Reply(text=text.format(PLAN_TTL_SECONDS // 60, NAME, claim.plan.region), replace_original=True)
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
    text = Mrkdwn("Prune plan cancelled by {}; nothing was deleted.").format(user_mention(ctx.user_id))
    return Reply(text=text, replace_original=True)
