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
from bot.text import Mrkdwn, plural, user_mention
from commands.lambda_capacity import ACTION_CANCEL, ACTION_DELETE, NAME
from commands.lambda_capacity.parse import CapacityRequest
from commands.lambda_capacity.storage import (
    PLAN_TTL_SECONDS,
    CodeStorageReport,
    PruneCandidate,
    PruneOutcome,
    PrunePlan,
    human_bytes,
)


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


def top_rows(report: CodeStorageReport, n: int) -> list[tuple[Mrkdwn, ...]]:
    top = [f for f in report.top(n) if f.code_bytes]
    if not top:
        return []
    rows: list[tuple[Mrkdwn, ...]] = [(Mrkdwn("Function"), Mrkdwn("Storage"), Mrkdwn("Versions"))]
    return rows + [_escaped(f.name, human_bytes(f.code_bytes), f"{len(f.versions):,}") for f in top]


def _escaped(*cells: str) -> tuple[Mrkdwn, ...]:
    """A table row of what AWS named (functions, regions) and what we measured."""
    return tuple(Mrkdwn.escape(c) for c in cells)


def render_region(report: CodeStorageReport, top: int, now: float, forecast: str) -> list[dict[str, Any]]:
    # The texts quote what AWS named and said; escaping leaves their *bold* and `code` as they are.
    blocks = [
        header(Mrkdwn.escape(f"Lambda code storage · {report.region}")),
        section(Mrkdwn.escape(f"{_headline(report)} · as of {_age(now - report.scanned_at)}\n{attribution(report)}")),
    ]
    if report.account_note:
        blocks.append(context(Mrkdwn("_{}_").format(report.account_note)))
    blocks.append(section(Mrkdwn.escape(forecast)))
    estimate = prune_estimate(report)
    if estimate:
        blocks.append(section(Mrkdwn.escape(estimate)))
    rows = top_rows(report, top)
    if rows:
        count = len(rows) - 1
        blocks.append(section(Mrkdwn("*Top {} functions by storage* (all versions, $LATEST included)").format(count)))
        blocks.extend(table(rows, {1, 2}))
    blocks.append(context(Mrkdwn("That scan took {:,} AWS calls. `{} --refresh` rescans.").format(report.calls, NAME)))
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
        overview = [_escaped("Region", "Code storage", "Functions")]
        overview += [_escaped(r.region, storage_summary(r), f"{r.function_count:,}") for r in shown]
        blocks += [header(Mrkdwn("Lambda code storage · all regions")), *table(overview, {2})]
    for report in shown:
        blocks.extend(render_region(report, request.top, now, outlook[report.region]))
        text.append(f"{report.region}: {_headline(report).replace('*', '')}")
    if empty:
        blocks.append(
            context(Mrkdwn("No Lambda code in {}: {}").format(plural(len(empty), "region"), ", ".join(empty)))
        )
    for region, why in sorted(failed.items()):  # `why` is AWS's message
        blocks.append(context(Mrkdwn(":warning: {}: {}").format(region, why)))
        text.append(f"{region}: {why}")
    if not shown and not failed:
        text.append("No Lambda code storage in any region.")
    return Reply(
        text=Mrkdwn("Lambda code storage — ") + "; ".join(text), blocks=fit_blocks(blocks), ok=bool(shown or not failed)
    )


def _versions_text(candidates: list[PruneCandidate]) -> str:
    numbers = sorted(int(c.version) for c in candidates)
    return ("version " if len(numbers) == 1 else "versions ") + ", ".join(str(n) for n in numbers)


def render_plan(plan: PrunePlan, report: CodeStorageReport) -> Reply:
    amount, n = human_bytes(plan.total_bytes), len(plan.candidates)
    by_function: dict[str, list[PruneCandidate]] = {}
    for c in plan.candidates:
        by_function.setdefault(c.function, []).append(c)
    rows = [_escaped("Function", "Versions to delete", "Frees")]
    rows += [
        _escaped(name, _versions_text(cs), human_bytes(sum(c.code_size for c in cs)))
        for name, cs in sorted(by_function.items(), key=lambda kv: -sum(c.code_size for c in kv[1]))
    ]
    scope = Mrkdwn("`{}`").format(plan.function) if plan.function else plural(plan.function_count, "function")
    summary = Mrkdwn(
        "Delete *{}* of {} in {}, freeing *{}* (of {} used).\nKept: the newest {} versions of each function, "
        "every version an alias routes to (weights included), every version an event source mapping "
        "invokes, and $LATEST. Requested by {}; an admin must confirm within {} minutes."
    ).format(
        plural(n, "version"),
        scope,
        plan.region,
        amount,
        human_bytes(report.usage_bytes),
        plan.keep,
        user_mention(plan.requested_by),
        PLAN_TTL_SECONDS // 60,
    )
    confirm = confirm_dialog(
        Mrkdwn("Delete Lambda versions?"),
        Mrkdwn("This deletes {} in {} ({}). It cannot be undone.").format(plural(n, "version"), plan.region, amount),
        confirm=Mrkdwn("Delete"),
        deny=Mrkdwn("Keep them"),
        style="danger",
    )
    label = Mrkdwn("Delete {} ({})").format(plural(n, "version"), amount)
    delete = button(label, ACTION_DELETE, plan.id, "danger", confirm)
    buttons = actions("lambda_capacity_prune", delete, button(Mrkdwn("Cancel"), ACTION_CANCEL, plan.id))
    # fit_blocks keeps the trailing buttons whatever it must leave out of a long list
    blocks = [header(Mrkdwn("Prune plan · {}").format(plan.region)), section(summary), *table(rows, {2}), buttons]
    text = Mrkdwn("Prune plan: delete {} in {}, freeing {}.").format(plural(n, "version"), plan.region, amount)
    return Reply(text=Mrkdwn("\n").join([text, *aligned(rows, {2})]), blocks=fit_blocks(blocks))


def render_outcome(plan: PrunePlan, outcome: PruneOutcome, approver: str) -> Reply:
    freed = human_bytes(sum(c.code_size for c in outcome.deleted))
    total = len(plan.candidates)
    head = Mrkdwn("Pruned {}: deleted {:,} of {}, freed {}. Approved by {}, requested by {}.").format(
        plan.region,
        len(outcome.deleted),
        plural(total, "version"),
        freed,
        user_mention(approver),
        user_mention(plan.requested_by),
    )
    lines = [f"deleted  {c.function}:{c.version}  {human_bytes(c.code_size)}" for c in outcome.deleted]
    lines += [f"skipped  {c.function}:{c.version}  {why}" for c, why in outcome.skipped]
    lines += [f"FAILED   {c.function}:{c.version}  {why}" for c, why in outcome.failed]
    blocks = [section(head)]
    if outcome.failed:
        failed = plural(len(outcome.failed), "deletion")
        blocks.append(section(Mrkdwn(":warning: {} failed; those versions are still there.").format(failed)))
    blocks.extend(code_sections([Mrkdwn.escape(line) for line in lines]))  # `why` is AWS's message
    text = head
    if outcome.failed:
        text += Mrkdwn(" Failed: ") + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.failed)
    if outcome.skipped:
        text += Mrkdwn(" Skipped: ") + "; ".join(f"{c.function}:{c.version} ({why})" for c, why in outcome.skipped)
    return Reply(text=text, blocks=fit_blocks(blocks), replace_original=True, ok=not outcome.failed)
