"""The outbox on Lambda: an SQS FIFO queue, one message group per lane (a channel, or one
response_url), instead of records in the state table.

SQS does what the table outbox did by hand, without a hot partition or a scan per send: a
group's messages come out in order, and while a batch of a group is in flight no other consumer
gets that group, so one sender at a time paces a channel, across containers; the visibility
timeout is the lease (a sender that dies mid-send leaves its batch to reappear); a message Slack
refuses for good goes to the dead-letter queue. The sender is `bot.slack.sender`.

A record is the same JSON dict as the table outbox's (bot.slack.outbox). One over SQS's message
size is kept in the state store, and the message carries its key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.outbox import Record
from bot.state import Store

log = logging.getLogger(__name__)

LARGE = "outbox-large"  # record key -> a record too big for an SQS message
MAX_MESSAGE_BYTES = 256 * 1024  # SQS's limit for years; newer queues take 1 MiB, this fits both
MAX_VISIBILITY = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility


def group_of(lane: str) -> str:
    """A MessageGroupId (at most 128 characters): a channel id as it is, a response_url lane hashed."""
    channel, _, url = lane.partition(" ")
    return f"{channel}-{hashlib.sha256(url.encode()).hexdigest()[:40]}" if url else channel


@dataclass(frozen=True)
class Queued:
    """One SQS message of a sender's batch, as Lambda hands it over."""

    message_id: str
    receipt: str
    group: str
    receives: int  # ApproximateReceiveCount: 1 on the first delivery
    record: Record
    large: bool = False  # the record is kept in the state store


class DeliveryQueue:
    def __init__(self, client: Any, url: str, store: Store, dead_letter_url: str = "") -> None:
        self.client = client
        self.url = url
        self.store = store
        self.dead_letter_url = dead_letter_url

    def enqueue(self, record: Record) -> str:
        """Send the record to its lane's group; its key (the deduplication id) is returned."""
        key = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        body = json.dumps({"key": key, **record})
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            # Kept until the sender has had every chance: the record's deadline, and an hour.
            self.store.put(LARGE, key, record, expires_at=float(record["deadline"]) + 3600)
            body = json.dumps({"key": key, "large": True})
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            MessageGroupId=group_of(record["lane"]),
            MessageDeduplicationId=key,
        )
        return key

    def read(self, sqs_record: Mapping[str, Any]) -> Queued | None:
        """One record of Lambda's SQS event; None (logged) for a body that is not ours."""
        attributes = sqs_record.get("attributes") or {}
        try:
            body = json.loads(sqs_record["body"])
            large = bool(body.get("large"))
            if large:
                stored = self.store.get(LARGE, str(body["key"]))
                if stored is None:
                    log.error("a queued record kept in the state store is gone (%s); dropped", body["key"])
                    return None
                body = {"key": body["key"], **stored.value}
            queued = Queued(
                message_id=str(sqs_record["messageId"]),
                receipt=str(sqs_record.get("receiptHandle", "")),
                group=str(attributes.get("MessageGroupId", "")),
                receives=int(attributes.get("ApproximateReceiveCount", 1)),
                record=body,
                large=large,
            )
            for field in ("lane", "channel", "kind", "body", "deadline", "queued_at"):
                if field not in body:
                    raise KeyError(field)
            return queued
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.error("not a delivery record in the queue (%s: %s); dropped", type(exc).__name__, exc)
            return None

    def done(self, queued: Queued) -> None:
        """What a large record left in the store goes once it is delivered or dropped."""
        if queued.large:
            self.store.delete(LARGE, queued.record["key"])

    def retry_in(self, queued: Queued, seconds: float) -> None:
        """Let the message come back after `seconds` (the backoff or Retry-After), not the whole
        visibility timeout. Best effort: if SQS refuses, the timeout brings it back anyway."""
        try:
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=queued.receipt, VisibilityTimeout=int(min(MAX_VISIBILITY, seconds))
            )
        except Exception as exc:  # the retry still happens, only later
            log.warning("could not shorten a queued record's wait: %s", exc)

    def dead_letter(self, queued: Queued, reason: str) -> None:
        """Keep what Slack refused for good where an operator can look (and redrive it)."""
        if not self.dead_letter_url:
            return
        body = json.dumps({"refused": reason, **queued.record})
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            body = json.dumps({"refused": reason, "key": queued.record.get("key"), "kind": queued.record["kind"]})
        self.client.send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=body,
            MessageGroupId=queued.group or "refused",
            MessageDeduplicationId=str(queued.record.get("key") or queued.message_id),
        )
