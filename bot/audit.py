"""The audit trail: who ran what, where, in which account, how it ended and how long it took.

Every command and button press the plumbing dispatches is one record in the Store, kept for the
configured retention (OPSBOT_AUDIT_DAYS) and then gone for every reader. Keys sort newest first,
so the latest entries are one bounded read on either backend; questions by user or account are
answered from the newest `SCAN` entries. Command text is kept as typed (bounded) and escaped
only where it is shown: Slack (mrkdwn) or CSV (no formulas).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from bot.state import Store

NAMESPACE = "audit.v1"
SCAN = 1000  # the newest entries a question by user or account looks through
MAX_TEXT = 200
_FAR = 10**11  # epoch seconds past any date kept: `_FAR - at` sorts the newest first


@dataclass(frozen=True)
class AuditRecord:
    at: float
    user_id: str
    channel_id: str
    account: str  # "" where no accounts are configured
    command: str  # "/lambda-capacity", or "/lambda-capacity button:delete"
    text: str  # as typed, at most MAX_TEXT characters
    outcome: str  # "ok", "error", "refused"
    seconds: float


def record(store: Store, entry: AuditRecord, retention_days: float) -> None:
    key = f"{_FAR - entry.at:017.6f}#{uuid.uuid4().hex[:8]}"
    value = asdict(entry) | {"text": entry.text[:MAX_TEXT]}
    store.put(NAMESPACE, key, value, expires_at=entry.at + retention_days * 86400)


def recent(store: Store, *, user: str | None = None, account: str | None = None, limit: int = 20) -> list[AuditRecord]:
    """Newest first: the latest `limit` entries, or the latest of one user's or one account's."""
    wanted = limit if user is None and account is None else SCAN
    entries = (AuditRecord(**stored.value) for _key, stored in store.items(NAMESPACE, limit=wanted))
    chosen = [e for e in entries if (user is None or e.user_id == user) and (account is None or e.account == account)]
    return chosen[:limit]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def to_csv(entries: Iterable[AuditRecord]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["at", "user_id", "channel_id", "account", "command", "text", "outcome", "seconds"])
    for e in entries:
        row = [f"{e.at:.3f}", e.user_id, e.channel_id, e.account, e.command, e.text, e.outcome, f"{e.seconds:.3f}"]
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue().encode()
