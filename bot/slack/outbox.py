"""The durable queue in front of Slack: what must go out is written to the state store first,
and leaves it only once Slack has it or can never take it.

A record is a plain JSON dict (see `Outbox.enqueue`). Records of one lane (a channel, or one
response_url for ephemeral replies) go out in key order; keys start with the time they were
queued. Any process sharing the store may send a record, but only the one holding its lease
(`owner`, `lease_until`, taken with Store.claim): a process that dies leaves its lease to expire.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings import SettingsError
from bot.slack.merge import merge, run_length
from bot.state import Store

NAMESPACE = "outbox"
POSTED = "outbox-posted"  # channel + replace_key -> the ts of the message later posts under the key edit
POSTED_SECONDS = 90 * 86400  # a key unused this long starts a new message
# Slack accepts a response_url for 30 minutes after the command; leave a minute of clock slack.
RESPONSE_URL_SECONDS = 29 * 60

Record = dict[str, Any]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long and how often to keep trying (in seconds), and how fast Slack may be sent to."""

    first_retry: float = 1.0
    max_retry: float = 30.0  # the backoff's cap (Retry-After is honoured even when longer)
    post_deadline: float = 3600.0  # an alert or a job's post that is an hour late no longer helps
    lease: float = 60.0  # covers one attempt and its pacer wait; a dead process's items wait this long
    late_after: float = 30.0  # a reply this late says so
    sweep_every: float = 10.0  # how often `opsbot serve` looks for records no lane is sending
    wait: float = 120.0  # how long a Lambda invocation keeps delivering before it returns
    # Slack's posting limits: about 1 message a second per channel, short bursts allowed, and a
    # workspace-wide ceiling of several hundred a minute.
    channel_burst: float = 3
    workspace_per_minute: float = 300
    workspace_burst: float = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryPolicy:
        env = os.environ if env is None else env
        names = {
            "first_retry": "OPSBOT_DELIVERY_RETRY_SECONDS",
            "max_retry": "OPSBOT_DELIVERY_MAX_RETRY_SECONDS",
            "post_deadline": "OPSBOT_DELIVERY_POST_DEADLINE_SECONDS",
            "lease": "OPSBOT_DELIVERY_LEASE_SECONDS",
            "late_after": "OPSBOT_DELIVERY_LATE_SECONDS",
            "sweep_every": "OPSBOT_DELIVERY_SWEEP_SECONDS",
            "wait": "OPSBOT_DELIVERY_WAIT_SECONDS",
            "channel_burst": "OPSBOT_DELIVERY_CHANNEL_BURST",
            "workspace_per_minute": "OPSBOT_DELIVERY_WORKSPACE_PER_MINUTE",
            "workspace_burst": "OPSBOT_DELIVERY_WORKSPACE_BURST",
        }
        values = {}
        for field_name, variable in names.items():
            raw = env.get(variable)
            if not raw:
                continue
            try:
                values[field_name] = float(raw)
            except ValueError:
                raise SettingsError(f"{variable}: expected a number, got {raw!r}") from None
            if values[field_name] <= 0:
                raise SettingsError(f"{variable}: must be more than 0, got {raw!r}")
        return cls(**values)

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt, after `attempts` failed ones."""
        if retry_after is not None:
            return retry_after
        return float(min(self.max_retry, self.first_retry * 2 ** min(attempts - 1, 30)))


def late_note(seconds: float, failed: bool = True) -> str:
    """What a late message says: Slack failed it (`failed`), or it only waited its turn in the pace."""
    if seconds < 90:
        took = f"{seconds:.0f} s"
    elif seconds < 90 * 60:
        took = f"{seconds / 60:.0f} min"
    else:
        took = f"{seconds / 3600:.1f} h"
    if not failed:
        return f"Delivered {took} late: it waited its turn behind earlier messages to this channel."
    return f"Delivered late: Slack was unreachable for {took}."


_sequence = itertools.count()


class Outbox:
    def __init__(self, store: Store, policy: DeliveryPolicy) -> None:
        self.store = store
        self.policy = policy
        # Unique per process (and per container on Lambda): leases say which sender holds a record.
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def new_record(
        self, lane: str, channel: str, kind: str, body: Mapping[str, Any], *, paced: bool, url: str = ""
    ) -> Record:
        """A record as every outbox keeps it (the table's, and the queue's on Lambda)."""
        now = time.time()
        return {
            "lane": lane,
            "channel": channel,
            "kind": kind,
            "body": dict(body),
            "url": url,
            "paced": paced,
            "queued_at": now,
            "deadline": now + (RESPONSE_URL_SECONDS if url else self.policy.post_deadline),
            "attempts": 0,
            "next_at": 0.0,
            "owner": "",
            "lease_until": 0.0,
        }

    def enqueue(self, record: Record) -> str:
        """Write a record; raises StoreError if the store cannot hold it."""
        key = f"{time.time_ns():020d}-{next(_sequence) % 1_000_000:06d}-{uuid.uuid4().hex[:6]}"
        # The sender drops (and logs) a record past its deadline; the expiry only clears what nobody drains.
        self.store.add(NAMESPACE, key, record, expires_at=record["deadline"] + 3600)
        return key

    def records(self) -> list[tuple[str, Record]]:
        return [(key, stored.value) for key, stored in self.store.items(NAMESPACE)]

    def head(self, lane: str) -> tuple[str, Record] | None:
        """The oldest record of a lane: nothing behind it may go first."""
        return next(((key, record) for key, record in self.records() if record.get("lane") == lane), None)

    def held_by_other(self, record: Record) -> bool:
        return record["owner"] not in ("", self.owner) and record["lease_until"] > time.time()

    def take(self, key: str, record: Record) -> Record | None:
        """Lease the record to this process; None if another live process holds it."""
        if self.held_by_other(record):
            return None
        mine = {**record, "owner": self.owner, "lease_until": time.time() + self.policy.lease}
        return mine if self.store.claim(NAMESPACE, key, record, mine) else None

    def retry_later(self, key: str, record: Record, retry_after: float | None) -> Record | None:
        attempts = record["attempts"] + 1
        next_at = time.time() + self.policy.backoff(attempts, retry_after)
        later = {**record, "attempts": attempts, "next_at": next_at, "lease_until": next_at + self.policy.lease}
        return later if self.store.claim(NAMESPACE, key, record, later) else None

    def merge_run(self, key: str, record: Record) -> Record:
        """Merge the log posts queued right behind the head (`key`, held by this process) into it
        (bot.slack.merge); the head as it now is. The merged file is written first, under a key
        right behind the head, and the merged post names what it replaces: a process that dies
        half-way leaves a head that still deletes those, so nothing goes out twice."""
        behind = [(k, r) for k, r in self.records() if r.get("lane") == record["lane"] and k > key]
        free = list(itertools.takewhile(lambda kr: not self.held_by_other(kr[1]), behind))
        count = run_length([record, *(r for _, r in free)])
        if count == 1:
            return record
        post, upload = merge([record, *(r for _, r in free[: count - 1])])
        file_key = f"{key}+"  # sorts right behind the head, before anything queued after it
        replaced = [k for k, _ in free[: count - 1] if k != file_key]
        upload = {**upload, "owner": "", "lease_until": 0.0}
        self.store.put(NAMESPACE, file_key, upload, expires_at=post["deadline"] + 3600)
        merged = {**post, "replaces": replaced}
        if not self.store.claim(NAMESPACE, key, record, merged):
            return record
        return self.drop_replaced(key, merged)

    def drop_replaced(self, key: str, record: Record) -> Record:
        """Delete the records a merged head replaces (again, if a process died before it could)."""
        for replaced in record.get("replaces", ()):
            self.store.delete(NAMESPACE, replaced)
        rest = {k: v for k, v in record.items() if k != "replaces"}
        return rest if self.store.claim(NAMESPACE, key, record, rest) else record

    def release(self, key: str, record: Record) -> None:
        """Let any process take the record at once (a Lambda invocation that has to return)."""
        self.store.claim(NAMESPACE, key, record, {**record, "owner": "", "lease_until": 0.0})

    def release_mine(self) -> None:
        """Hand back every record this process holds."""
        for key, record in self.records():
            if record.get("owner") == self.owner:
                self.release(key, record)

    def remove(self, key: str) -> None:
        self.store.delete(NAMESPACE, key)

    def posted_ts(self, channel: str, replace_key: str) -> str:
        stored = self.store.get(POSTED, f"{channel} {replace_key}")
        return str(stored.value.get("ts", "")) if stored is not None and isinstance(stored.value, dict) else ""

    def keep_posted_ts(self, channel: str, replace_key: str, ts: str) -> None:
        self.store.put(POSTED, f"{channel} {replace_key}", {"ts": ts}, expires_at=time.time() + POSTED_SECONDS)

    def superseded(self, key: str, record: Record) -> bool:
        """Whether a later record of the lane edits the same message (the same replace_key)."""
        edits = record["body"].get("replace_key")
        return any(
            later > key and other.get("lane") == record["lane"] and other["body"].get("replace_key") == edits
            for later, other in self.records()
        )
