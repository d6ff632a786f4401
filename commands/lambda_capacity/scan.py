"""Reading a region's code storage from AWS, paced under Lambda's shared control-plane quota, and the
cache that lets the next answer skip the scan."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from bot.aws import AwsClients, describe_aws_error
from bot.aws.pacing import bucket_for, pace_client
from bot.command import CommandContext, CommandError
from commands.lambda_capacity.options import CapacityOptions
from commands.lambda_capacity.storage import (
    _UNPACED,
    CACHE_NAMESPACE,
    DEFAULT_RATE,
    LATEST,
    PAGE_SIZE,
    AccountStorage,
    CodeStorageReport,
    FunctionReferences,
    FunctionStorage,
    LayerVersionStorage,
    Progress,
    VersionStorage,
    _quiet,
    alias_versions,
    mapped_versions,
    prune_candidates,
    sample_series,
)


class CallCount:
    """AWS calls a scan made (pages included), for the report and the benchmark."""

    def __init__(self) -> None:
        self.n = 0


def lambda_client(aws: AwsClients, region: str, rate: float = DEFAULT_RATE) -> Any:
    """The shared Lambda client for `region`, paced to `rate` requests per second."""
    client = aws.client("lambda", region)
    pace_client(client, bucket_for(f"lambda:{region}", rate), exempt=_UNPACED)
    return client


def read_account_storage(client: Any, calls: CallCount | None = None) -> tuple[AccountStorage | None, str]:
    """GetAccountSettings, or None and a sentence saying why the listed total is used instead."""
    if calls:
        calls.n += 1
    try:
        doc = client.get_account_settings()
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or exc.response.get("Error", {}).get("Code") in ("404", "UnknownOperationException"):
            why = "this endpoint does not implement GetAccountSettings (HTTP 404, as on moto)"
        else:
            why = describe_aws_error(exc)
        return None, f"Quota unknown: {why}. Usage shown is the listed total."
    usage, limit = doc.get("AccountUsage", {}), doc.get("AccountLimit", {})
    account = AccountStorage(
        int(usage.get("TotalCodeSize", 0)), int(limit.get("TotalCodeSize", 0)), int(usage.get("FunctionCount", 0))
    )
    return account, ""


def list_function_storage(client: Any, calls: CallCount, progress: Progress = _quiet) -> list[FunctionStorage]:
    versions: dict[str, list[VersionStorage]] = {}
    package: dict[str, str] = {}
    seen = 0
    pages = client.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page_number, page in enumerate(pages, start=1):
        calls.n += 1
        for fn in page.get("Functions", []):
            name = fn["FunctionName"]
            versions.setdefault(name, []).append(VersionStorage(str(fn.get("Version", LATEST)), int(fn["CodeSize"])))
            package[name] = fn.get("PackageType", "Zip")
            seen += 1
        progress(f"Scanned {seen:,} versions ({page_number} {'page' if page_number == 1 else 'pages'})…")
    return [FunctionStorage(name, tuple(v), package[name]) for name, v in versions.items()]


def list_versions_of(client: Any, function: str, calls: CallCount) -> FunctionStorage | None:
    """One function's versions; `function` may be an ARN, the result is named by its short name."""
    found: list[VersionStorage] = []
    package, name = "Zip", function
    pages = client.get_paginator("list_versions_by_function").paginate(
        FunctionName=function, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    try:
        for page in pages:
            calls.n += 1
            for fn in page.get("Versions", []):
                found.append(VersionStorage(str(fn.get("Version", LATEST)), int(fn["CodeSize"])))
                package, name = fn.get("PackageType", package), fn.get("FunctionName", name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    # mappings and aliases are matched by short name, so an ARN must not leak into the plan
    return FunctionStorage(name, tuple(found), package) if found else None


def list_layer_storage(
    client: Any, calls: CallCount, known_sizes: Mapping[str, int] | None = None, progress: Progress = _quiet
) -> list[LayerVersionStorage]:
    known = known_sizes or {}
    found: list[LayerVersionStorage] = []
    for page in client.get_paginator("list_layers").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        calls.n += 1
        for layer in page.get("Layers", []):
            name = layer["LayerName"]
            paginator = client.get_paginator("list_layer_versions")
            for versions in paginator.paginate(LayerName=name, PaginationConfig={"PageSize": PAGE_SIZE}):
                calls.n += 1
                for lv in versions.get("LayerVersions", []):
                    arn, number = lv["LayerVersionArn"], int(lv["Version"])
                    size = known.get(arn)
                    if size is None:
                        calls.n += 1
                        size = int(
                            client.get_layer_version(LayerName=name, VersionNumber=number)["Content"]["CodeSize"]
                        )
                    found.append(LayerVersionStorage(arn, name, number, size))
        progress(f"Read {len(found):,} layer version{'' if len(found) == 1 else 's'}…")
    return found


def list_mapped_versions(client: Any, calls: CallCount) -> dict[str, frozenset[str]]:
    """One listing for the whole region: cheaper than asking per function."""
    arns: list[str] = []
    for page in client.get_paginator("list_event_source_mappings").paginate():
        calls.n += 1
        arns.extend(m.get("FunctionArn", "") for m in page.get("EventSourceMappings", []))
    return mapped_versions(arns)


def list_aliased_versions(client: Any, function: str, calls: CallCount) -> frozenset[str]:
    aliases: list[Mapping[str, Any]] = []
    for page in client.get_paginator("list_aliases").paginate(FunctionName=function):
        calls.n += 1
        aliases.extend(page.get("Aliases", []))
    return alias_versions(aliases)


def read_references(
    client: Any,
    functions: Iterable[FunctionStorage],
    keep: int,
    calls: CallCount,
    progress: Progress = _quiet,
    alias_budget: int | None = None,
) -> dict[str, FunctionReferences]:
    """References of the functions that have anything beyond the newest `keep` versions.

    With `alias_budget`, aliases are read for at most that many functions, the ones with the
    most to free first; the others are marked `aliases_read=False`.
    """
    mapped = list_mapped_versions(client, calls)
    refs: dict[str, FunctionReferences] = {}
    crowded = []
    for function in functions:
        if not function.is_image and len(function.published) > keep:
            refs[function.name] = FunctionReferences(mapped=mapped.get(function.name, frozenset()), aliases_read=False)
            free = sum(c.code_size for c in prune_candidates(function, refs[function.name], keep))
            crowded.append((free, function.name))
    crowded.sort(key=lambda item: (-item[0], item[1]))
    todo = crowded if alias_budget is None else crowded[:alias_budget]
    for i, (_, name) in enumerate(todo, start=1):
        refs[name] = FunctionReferences(list_aliased_versions(client, name, calls), refs[name].mapped)
        if i % 25 == 0:
            progress(f"Checked aliases of {i:,} of {len(todo):,} functions…")
    return refs


def scan_region(
    aws: AwsClients,
    region: str,
    *,
    now: float,
    rate: float = DEFAULT_RATE,
    keep: int | None = None,
    function: str | None = None,
    known_layer_sizes: Mapping[str, int] | None = None,
    alias_budget: int | None = None,
    progress: Progress = _quiet,
) -> CodeStorageReport:
    """Read one region's code storage; with `keep`, also what a prune keeping K versions frees
    (exactly, or for the `alias_budget` functions with the most to free and as a range beyond).

    With `function`, only that function is read (ListVersionsByFunction), for a targeted prune.
    """
    client = lambda_client(aws, region, rate)
    calls = CallCount()
    account, note = read_account_storage(client, calls)
    if function:
        one = list_versions_of(client, function, calls)
        functions = [one] if one else []
        layers: list[LayerVersionStorage] = []
    else:
        functions = list_function_storage(client, calls, progress)
        layers = list_layer_storage(client, calls, known_layer_sizes, progress)
    refs = read_references(client, functions, keep, calls, progress, alias_budget) if keep is not None else {}
    return CodeStorageReport(
        region=region,
        scanned_at=now,
        functions=tuple(sorted(functions, key=lambda f: f.name)),
        layers=tuple(layers),
        account=account,
        account_note=note,
        calls=calls.n,
        keep=keep,
        references=refs,
    )


def cached_report(ctx: CommandContext, region: str) -> CodeStorageReport | None:
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
    cached = cached_report(ctx, region)
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


def region_or_default(ctx: CommandContext, region: str | None) -> str:
    region = region or ctx.aws.default_region
    if not region:
        raise CommandError("No AWS region is configured: set AWS_DEFAULT_REGION or pass --region.")
    return region
