"""The subscription-filter target: `logs_handler` on Lambda, one post per batch to its route's channel.

CloudWatch Logs invokes it asynchronously and retries an invocation that raised. The post goes
through `ctx.post`, which writes it to the durable outbox (bot.slack.outbox) before anything is
sent; from there the outbox retries 429, 5xx and timeouts itself, and the invocation's flush (or
the next invocation's) sends it. So a batch is done once its post is queued: the handler raises,
and CloudWatch retries the batch, only when the post could not be queued (no Slack token, the
store refused). The batch is remembered by its event ids only after that, so a retry of a batch
already queued posts nothing twice, and one whose post failed posts it then.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from bot.command import CommandContext
from bot.reply import Reply
from commands.tail.invocations import group_invocations
from commands.tail.options import LogRoute, TailOptions
from commands.tail.render import keep_at_level, log_reply
from commands.tail.subscription import MalformedPayload, SubscriptionBatch, decode_subscription

log = logging.getLogger(__name__)

FORWARDED = "tail-forwarded"  # batch digest -> when it was queued
MALFORMED = "tail-malformed"  # "count" -> how many payloads were not subscription payloads
# CloudWatch keeps retrying an asynchronous invocation for up to 6 hours; a day covers it.
REMEMBER_SECONDS = 24 * 3600


class NotDelivered(RuntimeError):
    """The batch's post could not be queued; raised so CloudWatch Logs invokes again."""


def batch_key(batch: SubscriptionBatch) -> str:
    """The same for every delivery of one batch: its group, stream and every event id."""
    digest = hashlib.sha256(f"{batch.log_group}\n{batch.log_stream}".encode())
    for event in batch.events:
        digest.update(b"\n" + event.event_id.encode())
    return digest.hexdigest()


def forward(batch: SubscriptionBatch, route: LogRoute, ctx: CommandContext) -> Reply | None:
    """The batch's message for `route`, or None when nothing in it reaches the route's level."""
    grouped = keep_at_level(group_invocations(batch.events), route.min_level)
    if not grouped.invocations and not grouped.orphans.lines:
        return None
    name = batch.log_group.removeprefix("/aws/lambda/")
    return log_reply(name, grouped, ctx.settings.timezone, filename=f"{name.strip('/').replace('/', '-')}.txt")


def handle_event(event: Mapping[str, Any], ctx: CommandContext) -> dict[str, Any]:
    try:
        batch = decode_subscription(event)
    except MalformedPayload as exc:
        count = _count_malformed(ctx)
        log.error("logs_handler: not a CloudWatch Logs subscription payload (%s); %d so far", exc, count)
        return {"status": "malformed", "reason": str(exc)}
    if batch.is_control:
        return {"status": "control"}
    route = TailOptions.from_settings(ctx.settings).route_for(batch.log_group)
    if route is None:
        log.warning("logs_handler: no route for %s; %d events not forwarded", batch.log_group, len(batch.events))
        return {"status": "unrouted", "log_group": batch.log_group}
    key = batch_key(batch)
    if ctx.store.get(FORWARDED, key) is not None:
        return {"status": "duplicate", "events": len(batch.events)}
    reply = forward(batch, route, ctx)
    if reply is not None:
        if ctx.post is None:
            raise NotDelivered("logs_handler has no Slack token to post with (SLACK_BOT_TOKEN or its SSM parameter)")
        try:
            ctx.post(route.channel, reply)
        except Exception as exc:
            raise NotDelivered(f"could not queue the post to {route.channel}: {exc}") from exc
    now = ctx.now().timestamp()
    ctx.store.put(FORWARDED, key, {"at": now}, expires_at=now + REMEMBER_SECONDS)
    return {"status": "posted" if reply else "below_level", "events": len(batch.events), "channel": route.channel}


def _count_malformed(ctx: CommandContext) -> int:
    try:
        for _ in range(5):
            stored = ctx.store.get(MALFORMED, "count")
            if stored is None:
                if ctx.store.add(MALFORMED, "count", 1):
                    return 1
                continue
            if ctx.store.claim(MALFORMED, "count", stored.value, int(stored.value) + 1):
                return int(stored.value) + 1
    except Exception:  # counting is for the operator; the handler must not fail on it
        log.exception("logs_handler: could not count a malformed payload")
    return -1
