"""The delivery queue's sender: one SQS batch (Lambda's event source mapping, ReportBatchItemFailures)
sent to Slack at the pace, returning what must come back.

Per message group (a lane) in the batch, in order, groups side by side so one busy channel holds
up no other: the log posts queued behind each other merge (bot.slack.merge); a record past its
deadline is dropped and logged; Slack's final refusal goes to the dead-letter queue (and to the
caller while their response_url lasts); a failure worth retrying returns that message and every
later one of its group, due again after the backoff. A group's next batch reaches a sender only
once this one returns, so before it returns the sender waits out each channel's pace: the 1 message
a second holds across containers without a shared clock. A merged post whose file then fails
re-queues the file alone (the post is out; its sources are done).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.slack.delivery import SlackDelivery
from bot.slack.merge import merge, run_length
from bot.slack.queue import DeliveryQueue, Queued

log = logging.getLogger(__name__)

STOP_BEFORE_END = 10.0  # seconds of an invocation kept to hand back what it did not get to


class QueueSender:
    def __init__(self, delivery: SlackDelivery, queue: DeliveryQueue) -> None:
        self.delivery = delivery
        self.queue = queue

    def handle(self, event: Mapping[str, Any], until: float) -> dict[str, list[dict[str, str]]]:
        """Lambda's answer to one batch: the message ids to come back (`batchItemFailures`)."""
        groups: dict[str, list[Queued]] = {}
        for sqs_record in event.get("Records") or ():
            queued = self.queue.read(sqs_record)
            if queued is not None:  # what is not ours is logged and dropped (reported done)
                groups.setdefault(queued.group, []).append(queued)
        failed: list[str] = []
        if groups:
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="sender") as pool:
                for ids in pool.map(lambda items: self._send_group(items, until), groups.values()):
                    failed += ids
        channels = {item.record["channel"] for items in groups.values() for item in items}
        wait = min(self.delivery.pacer.free_in(channels), max(0.0, until - time.time()))
        if wait > 0:
            time.sleep(wait)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _send_group(self, items: Sequence[Queued], until: float) -> list[str]:
        """The group's records in order; the ids of those that come back."""
        i = 0
        while i < len(items):
            if time.time() >= until:
                # Out of time: the rest goes back at once, for the next invocation.
                for item in items[i:]:
                    self.queue.retry_in(item, 0)
                return [item.message_id for item in items[i:]]
            item = items[i]
            if item.record["deadline"] <= time.time():
                log.error("gave up on a %s to %s: past its deadline", item.record["kind"], item.record["lane"])
                self.queue.done(item)
                i += 1
                continue
            count = run_length([other.record for other in items[i:]])
            sources = items[i : i + count]
            back = self._send_run(sources, items[i:])
            if back is not None:
                return back
            for source in sources:
                self.queue.done(source)
            i += count
        return []

    def _send_run(self, sources: Sequence[Queued], rest: Sequence[Queued]) -> list[str] | None:
        """Send one record, or a merged run as its post and file; None once it is done with, or
        the ids that come back (`rest`: the run and everything behind it in the group)."""
        first = sources[0]
        if first.record["kind"] == "update" and any(_same_edit(first, later) for later in rest[1:]):
            return None  # a newer edit of the same message is in the batch: only that one goes
        parts = merge([source.record for source in sources])
        for j, part in enumerate(parts):
            self.delivery.pace(part)
            outcome = self.delivery.attempt(part)
            if part["kind"] != "upload" and part["paced"]:
                self.delivery.pacer.answered(part["channel"])
            if outcome.sent:
                continue
            if not outcome.retry:
                log.error("Slack refused a %s to %s, dropped: %s", part["kind"], part["lane"], outcome.reason)
                self.delivery.refused(part, outcome)
                for source in sources:
                    self.queue.dead_letter(source, outcome.reason)
                return None
            log.warning("a %s to %s failed (%s); it stays queued", part["kind"], part["lane"], outcome.reason)
            if j > 0:  # the merged post is out: only its file goes back, as a record of its own
                self.queue.enqueue({**part, "attempts": part.get("attempts", 0) + 1})
                return None
            # The failed one is due after the backoff; those behind it at once, since SQS holds a
            # group back while any of its messages is in flight: they follow it, in order.
            self.queue.retry_in(first, self.delivery.policy.backoff(first.receives, outcome.retry_after))
            for item in rest[1:]:
                self.queue.retry_in(item, 0)
            return [item.message_id for item in rest]
        return None


def _same_edit(first: Queued, later: Queued) -> bool:
    edits = first.record["body"].get("replace_key")
    return later.record["kind"] == "update" and later.record["body"].get("replace_key") == edits
