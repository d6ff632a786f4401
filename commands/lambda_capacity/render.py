"""/lambda-capacity's answers: the usage report, the prune plan with its buttons, the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.reply import Reply
from bot.slack.blocks import (
    actions,
    aligned,
    button,
    code_sections,
    confirm_dialog,
    context,
    fit_blocks,
    header,
    section,
    table,
)
from bot.text import plural
from commands.lambda_capacity.options import NAME
from commands.lambda_capacity.parse import CapacityRequest
from commands.lambda_capacity.storage import (
    PLAN_TTL_SECONDS,
    CodeStorageReport,
    PruneCandidate,
    PruneOutcome,
    PrunePlan,
    human_bytes,
)

ACTION_DELETE = "lambda_capacity_prune_delete"
ACTION_CANCEL = "lambda_capacity_prune_cancel"


def _age(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def storage_summary(report: CodeStorageReport) -> str:
    if report.limit_bytes:
        used, limit = human_bytes(report.usage_bytes), human_bytes(report.limit_bytes)
        return f"{used} of {limit} ({report.percent:.1f}%)"
    return f"{human_bytes(report.usage_bytes)} listed"


def _headline(report: CodeStorageReport) -> str:
    return f"*{storage_summary(report)}* · {plural(report.function_count, 'function')}"


def attribution(report: CodeStorageReport) -> str:
    lines = [
        f"Functions: {human_bytes(report.function_bytes)} in {plural(report.version_count, 'version')}",
        f"Layers: {human_bytes(report.layer_bytes)} in {plural(len(report.layers), 'layer version')}",
    ]
    if report.unexplained_bytes is not None:
        lines.append(f"Not in the listing: {human_bytes(report.unexplained_bytes)}")
    images = sum(1 for f in report.functions if f.is_image)
    if images:
        lines.append(f"{plural(images, 'container-image function')} (images use no code storage)")
    return "\n".join(lines)


def prune_estimate(report: CodeStorageReport) -> str:
    candidates = report.prune_candidates()
    if candidates is None:
        return ""
    unread = report.prune_candidates(aliases_read=False) or []
    if not candidates and not unread:
        return f"Nothing to prune: no function has unreferenced versions beyond its newest {report.keep}."
    exact = sum(c.code_size for c in candidates)
    functions = len({c.function for c in candidates})
    amount = f"*{human_bytes(exact)}* ({plural(len(candidates), 'version')} of {plural(functions, 'function')})"
    if unread:
        upper = human_bytes(exact + sum(c.code_size for c in unread))
        amount = (
            f"between {amount} and *{upper}*: the aliases of {plural(len({c.function for c in unread}), 'function')} "
            "with less to free were not read, to spare Lambda's request quota; a prune plan reads them all"
        )
    return (
        f"A prune keeping the newest {report.keep} versions would free {amount}. Versions behind an alias "
        f"or an event source mapping are kept. Admins: `{NAME} prune --region {report.region}`"
    )


def top_rows(report: CodeStorageReport, n: int) -> list[tuple[str, ...]]:
    top = [f for f in report.top(n) if f.code_bytes]
    if not top:
        return []
    rows: list[tuple[str, ...]] = [("Function", "Storage", "Versions")]
    return rows + [(f.name, human_bytes(f.code_bytes), f"{len(f.versions):,}") for f in top]


def render_region(report: CodeStorageReport, top: int, now: float, forecast: str) -> list[dict[str, Any]]:
    blocks = [
        header(f"Lambda code storage · {report.region}"),
        section(f"{_headline(report)} · as of {_age(now - report.scanned_at)}\n{attribution(report)}"),
    ]
    if report.account_note:
        blocks.append(context(f"_{report.account_note}_"))
    blocks.append(section(forecast))
    estimate = prune_estimate(report)
    if estimate:
        blocks.append(section(estimate))
    rows = top_rows(report, top)
    if rows:
        blocks.append(section(f"*Top {len(rows) - 1} functions by storage* (all versions, $LATEST included)"))
        blocks.extend(table(rows, {1, 2}))
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
    if len(shown) > 1:  # the overview first: it gets the message's one table, and a cut spares it
        overview = [("Region", "Code storage", "Functions")]
        overview += [(r.region, storage_summary(r), f"{r.function_count:,}") for r in shown]
        blocks += [header("Lambda code storage · all regions"), *table(overview, {2})]
    for report in shown:
        blocks.extend(render_region(report, request.top, now, outlook[report.region]))
        text.append(f"{report.region}: {_headline(report).replace('*', '')}")
    if empty:
        blocks.append(context(f"No Lambda code in {plural(len(empty), 'region')}: {', '.join(empty)}"))
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
    rows = [("Function", "Versions to delete", "Frees")]
    rows += [
        (name, _versions_text(cs), human_bytes(sum(c.code_size for c in cs)))
        for name, cs in sorted(by_function.items(), key=lambda kv: -sum(c.code_size for c in kv[1]))
    ]
    scope = f"`{plan.function}`" if plan.function else plural(plan.function_count, "function")
    summary = (
        f"Delete *{plural(n, 'version')}* of {scope} in {plan.region}, freeing *{amount}* "
        f"(of {human_bytes(report.usage_bytes)} used).\nKept: the newest {plan.keep} versions of each function, "
        f"every version an alias routes to (weights included), every version an event source mapping "
        f"invokes, and $LATEST. Requested by <@{plan.requested_by}>; an admin must confirm within "
        f"{PLAN_TTL_SECONDS // 60} minutes."
    )
    confirm = confirm_dialog(
        "Delete Lambda versions?",
        f"This deletes {plural(n, 'version')} in {plan.region} ({amount}). It cannot be undone.",
        confirm="Delete",
        deny="Keep them",
        style="danger",
    )
    delete = button(f"Delete {plural(n, 'version')} ({amount})", ACTION_DELETE, plan.id, "danger", confirm)
    buttons = actions("lambda_capacity_prune", delete, button("Cancel", ACTION_CANCEL, plan.id))
    # fit_blocks keeps the trailing buttons whatever it must leave out of a long list
    blocks = [header(f"Prune plan · {plan.region}"), section(summary), *table(rows, {2}), buttons]
    text = f"Prune plan: delete {plural(n, 'version')} in {plan.region}, freeing {amount}."
    return Reply(text="\n".join([text, *aligned(rows, {2})]), blocks=fit_blocks(blocks))


def render_outcome(plan: PrunePlan, outcome: PruneOutcome, approver: str) -> Reply:
    freed = human_bytes(sum(c.code_size for c in outcome.deleted))
    total = len(plan.candidates)
    head = (
        f"Pruned {plan.region}: deleted {len(outcome.deleted):,} of {plural(total, 'version')}, freed {freed}. "
        f"Approved by <@{approver}>, requested by <@{plan.requested_by}>."
    )
    lines = [f"deleted  {c.function}:{c.version}  {human_bytes(c.code_size)}" for c in outcome.deleted]
    lines += [f"skipped  {c.function}:{c.version}  {why}" for c, why in outcome.skipped]
    lines += [f"FAILED   {c.function}:{c.version}  {why}" for c, why in outcome.failed]
    blocks = [section(head)]
    if outcome.failed:
        failed = plural(len(outcome.failed), "deletion")
        blocks.append(section(f":warning: {failed} failed; those versions are still there."))
    blocks.extend(code_sections(lines))
    text = head
    if outcome.failed:
        text += " Failed: " + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.failed)
    if outcome.skipped:
        text += " Skipped: " + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.skipped)
    return Reply(text=text, blocks=fit_blocks(blocks), replace_original=True, ok=not outcome.failed)
