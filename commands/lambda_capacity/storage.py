"""Where a region's Lambda code storage goes, read with as few control-plane calls as possible.

The quota (75 GB by default, raisable) counts every function version, $LATEST included, and
every layer version; container images do not count. `scan_region` reads it all:

- GetAccountSettings: what AWS itself counts and the quota (1 call).
- ListFunctions with FunctionVersion=ALL: every version of every function, 50 a page. The
  usual approach (ListFunctions, then ListVersionsByFunction per function) costs one call per
  function on top, which is what throttles large accounts.
- ListLayers, ListLayerVersions, then GetLayerVersion per layer version, because only the
  latter carries CodeSize. Layer versions are immutable, so a size once read is reused.
- For the prune estimate only: ListEventSourceMappings once for the region, and ListAliases
  only for functions that have more published versions than are kept anyway, those with the
  most to free first, up to a budget: on a large account one call per function would cost more
  than the whole storage scan. The rest is shown as a range; a prune plan reads them all.

The data classes and pure rules (attribution, prune candidates, the prune plan) take no
client, so the command, the monitor and the tests share them; `bot/` never imports `commands/`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LATEST = "$LATEST"
PAGE_SIZE = 50  # Lambda's maximum for ListFunctions, ListVersionsByFunction, ListLayers
DEFAULT_RATE = 15.0  # Lambda's default control-plane quota, requests per second per region
CACHE_NAMESPACE = "lambda-capacity"
PLAN_NAMESPACE = "lambda-capacity-plan"
PLAN_TTL_SECONDS = 15 * 60
_UNPACED = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})  # a separate quota

Progress = Callable[[str], None]


def sample_series(region: str) -> str:
    return f"lambda-code-bytes:{region}"


def _quiet(_text: str) -> None:
    pass


@dataclass(frozen=True)
class VersionStorage:
    version: str  # "$LATEST" or a published version number
    code_size: int


@dataclass(frozen=True)
class FunctionStorage:
    name: str
    versions: tuple[VersionStorage, ...]  # $LATEST and every published version
    package_type: str = "Zip"

    @property
    def is_image(self) -> bool:
        return self.package_type == "Image"

    @property
    def code_bytes(self) -> int:
        return 0 if self.is_image else sum(v.code_size for v in self.versions)

    @property
    def published(self) -> list[VersionStorage]:
        """Published versions, newest first."""
        numbered = [v for v in self.versions if v.version.isdigit()]
        return sorted(numbered, key=lambda v: int(v.version), reverse=True)


@dataclass(frozen=True)
class LayerVersionStorage:
    arn: str
    layer: str
    version: int
    code_size: int


@dataclass(frozen=True)
class AccountStorage:
    """What GetAccountSettings says: the numbers the quota is enforced on."""

    usage_bytes: int
    limit_bytes: int
    function_count: int


@dataclass(frozen=True)
class FunctionReferences:
    aliased: frozenset[str] = frozenset()  # versions an alias points at, routing weights included
    mapped: frozenset[str] = frozenset()  # versions an event source mapping invokes
    aliases_read: bool = True  # False: over the estimate's budget, `aliased` is unknown

    @property
    def protected(self) -> frozenset[str]:
        return self.aliased | self.mapped


@dataclass(frozen=True)
class PruneCandidate:
    function: str
    version: str
    code_size: int


@dataclass(frozen=True)
class CodeStorageReport:
    region: str
    scanned_at: float  # epoch seconds
    functions: tuple[FunctionStorage, ...]
    layers: tuple[LayerVersionStorage, ...]
    account: AccountStorage | None
    account_note: str = ""  # why `account` is missing
    calls: int = 0
    keep: int | None = None  # the prune estimate's K; None when references were not read
    references: Mapping[str, FunctionReferences] = field(default_factory=dict)

    @property
    def function_bytes(self) -> int:
        return sum(f.code_bytes for f in self.functions)

    @property
    def layer_bytes(self) -> int:
        return sum(layer.code_size for layer in self.layers)

    @property
    def listed_bytes(self) -> int:
        return self.function_bytes + self.layer_bytes

    @property
    def usage_bytes(self) -> int:
        return self.account.usage_bytes if self.account else self.listed_bytes

    @property
    def limit_bytes(self) -> int | None:
        return self.account.limit_bytes if self.account else None

    @property
    def percent(self) -> float | None:
        limit = self.limit_bytes
        return 100.0 * self.usage_bytes / limit if limit else None

    @property
    def unexplained_bytes(self) -> int | None:
        """What AWS counts that the listing does not show (e.g. functions being deleted)."""
        return self.account.usage_bytes - self.listed_bytes if self.account else None

    @property
    def function_count(self) -> int:
        return self.account.function_count if self.account else len(self.functions)

    @property
    def version_count(self) -> int:
        return sum(len(f.versions) for f in self.functions if not f.is_image)

    def top(self, n: int) -> list[FunctionStorage]:
        return sorted(self.functions, key=lambda f: (-f.code_bytes, f.name))[:n]

    def prune_candidates(self, aliases_read: bool = True) -> list[PruneCandidate] | None:
        """None when the scan did not read references (then no estimate is honest).

        With aliases_read=False: the candidates of functions whose aliases were not read, an
        upper bound (some of them may be behind an alias).
        """
        if self.keep is None:
            return None
        out: list[PruneCandidate] = []
        for function in self.functions:
            refs = self.references.get(function.name, FunctionReferences())
            if refs.aliases_read == aliases_read:
                out.extend(prune_candidates(function, refs, self.keep))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "scanned_at": self.scanned_at,
            "functions": [
                [f.name, f.package_type, [[v.version, v.code_size] for v in f.versions]] for f in self.functions
            ],
            "layers": [[lv.arn, lv.layer, lv.version, lv.code_size] for lv in self.layers],
            "account": [self.account.usage_bytes, self.account.limit_bytes, self.account.function_count]
            if self.account
            else None,
            "account_note": self.account_note,
            "calls": self.calls,
            "keep": self.keep,
            "references": {
                name: [sorted(r.aliased), sorted(r.mapped), r.aliases_read] for name, r in self.references.items()
            },
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CodeStorageReport:
        account = doc.get("account")
        return cls(
            region=doc["region"],
            scanned_at=float(doc["scanned_at"]),
            functions=tuple(
                FunctionStorage(name, tuple(VersionStorage(str(v), int(s)) for v, s in versions), package_type)
                for name, package_type, versions in doc["functions"]
            ),
            layers=tuple(LayerVersionStorage(a, n, int(v), int(s)) for a, n, v, s in doc["layers"]),
            account=AccountStorage(*(int(x) for x in account)) if account else None,
            account_note=doc.get("account_note", ""),
            calls=int(doc.get("calls", 0)),
            keep=doc.get("keep"),
            references={
                name: FunctionReferences(frozenset(aliased), frozenset(mapped), bool(read))
                for name, (aliased, mapped, read) in doc.get("references", {}).items()
            },
        )


@dataclass(frozen=True)
class PrunePlan:
    """Deletions an admin asked for, shown before anything is deleted; used once, then kept for audit."""

    id: str
    region: str
    keep: int
    requested_by: str
    created_at: float  # epoch seconds
    candidates: tuple[PruneCandidate, ...]
    function: str | None = None  # the one function the plan was limited to

    @property
    def total_bytes(self) -> int:
        return sum(c.code_size for c in self.candidates)

    @property
    def function_count(self) -> int:
        return len({c.function for c in self.candidates})

    def expired(self, now: float) -> bool:
        return now - self.created_at > PLAN_TTL_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "keep": self.keep,
            "requested_by": self.requested_by,
            "created_at": self.created_at,
            "function": self.function,
            "candidates": [[c.function, c.version, c.code_size] for c in self.candidates],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PrunePlan:
        return cls(
            id=doc["id"],
            region=doc["region"],
            keep=int(doc["keep"]),
            requested_by=doc["requested_by"],
            created_at=float(doc["created_at"]),
            candidates=tuple(PruneCandidate(f, str(v), int(s)) for f, v, s in doc["candidates"]),
            function=doc.get("function"),
        )


@dataclass(frozen=True)
class PruneOutcome:
    deleted: list[PruneCandidate]
    skipped: list[tuple[PruneCandidate, str]]  # and why: referenced now, or references unreadable
    failed: list[tuple[PruneCandidate, str]]  # and what AWS said


# -- pure rules


def prune_candidates(function: FunctionStorage, references: FunctionReferences, keep: int) -> list[PruneCandidate]:
    """Published versions beyond the newest `keep` that nothing references; never $LATEST.

    Image versions free no code storage, so they are never candidates here.
    """
    if function.is_image:
        return []
    return [
        PruneCandidate(function.name, v.version, v.code_size)
        for v in function.published[keep:]
        if v.version not in references.protected
    ]


def alias_versions(aliases: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Versions aliases route to: the primary version and every weighted additional one."""
    versions: set[str] = set()
    for alias in aliases:
        versions.add(str(alias.get("FunctionVersion", "")))
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        versions.update(str(v) for v in weights)
    versions.discard(LATEST)
    versions.discard("")
    return frozenset(versions)


def mapped_versions(function_arns: Iterable[str]) -> dict[str, frozenset[str]]:
    """Function name -> versions that event source mappings invoke by a version-qualified ARN.

    An unqualified ARN invokes $LATEST and an alias-qualified one is covered by the alias.
    """
    found: dict[str, set[str]] = {}
    for arn in function_arns:
        parts = arn.split(":")  # arn:aws:lambda:region:account:function:name[:qualifier]
        if len(parts) >= 8 and parts[7].isdigit():
            found.setdefault(parts[6], set()).add(parts[7])
    return {name: frozenset(v) for name, v in found.items()}


def human_bytes(n: float) -> str:
    """Binary units, as the Lambda console and quota page count them."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{sign}{n / size:.1f} {unit}"
    return f"{sign}{int(n)} B"
