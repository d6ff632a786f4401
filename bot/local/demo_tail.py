"""The demo's /tail and forwarder scenes, on the log groups of bot.local.seeds_logs.

/tail reads moto's CloudWatch Logs over HTTP like any command. The forwarder scene calls
`commands.tail.forwarder.handle_event` as Lambda would call `logs_handler` (the Lambda entry only
adds the container's settings and a flush), with a real subscription payload built from moto's
events and `post=` the demo's SlackDelivery, so its posts take the one way out to Slack: the
durable outbox, paced and retried. Then Slack refuses (503, then 429 with Retry-After) and the
batch still arrives once, and CloudWatch delivering the batch again posts nothing. Last, the
poller (`opsbot serve` without the forwarder Lambda) ticks twice on another route.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.local.seeds_logs import (
    JSON_ENVIRONMENTS,
    ORDERS,
    ORDERS_JSON,
    classic_invocation,
    json_invocation,
    log_group,
    log_streams,
    put_rows,
    request_id,
    seed_demo_logs,
    stored_events,
    stream_name,
    subscription_event,
)

if TYPE_CHECKING:
    from bot.local.demo import DemoBot, Entry

LOGS_CHANNEL = "C0LOGS"
POLLED_CHANNEL = "C0LOGSPOLL"
# The demo bot's [commands.tail]: the forwarder's route (a subscription filter on /aws/lambda/orders).
TAIL_CONFIG = f"""\
[commands.tail]
follow_poll_seconds = 1

[[commands.tail.routes]]
log_group = "{log_group(ORDERS)}"
channel = "{LOGS_CHANNEL}"
"""
# A bot that polls instead (no forwarder Lambda): `opsbot serve` reads the route every 30 s.
POLLER_CONFIG = f"""\
[commands.tail]
poll_every_seconds = 30
first_read_seconds = 900

[[commands.tail.routes]]
log_group = "{log_group(ORDERS_JSON)}"
channel = "{POLLED_CHANNEL}"
"""
POLL_EVERY = 30
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-4d5e-4f90-a1b2-c3d4e5f6a7b8")


def tail_scene(bot: DemoBot) -> None:
    from bot.aws import AwsClients

    seed_demo_logs(AwsClients(), bot.clock())
    bot.narrate(
        "/tail: a Lambda function's recent CloudWatch logs, one block per invocation: duration, memory, "
        "cold start and how it ended; the classic text format and Lambda's JSON format read alike."
    )
    bot.slash(f"/tail {ORDERS}")
    bot.slash(f"/tail {ORDERS_JSON} --since 1h")
    bot.slash(f"/tail {ORDERS} --filter ERROR")
    bot.slash("/tail no-such-function")


def follow_scene(bot: DemoBot) -> None:
    """`--follow`: the first reply is a channel message, and an invocation that runs meanwhile lands
    in its thread; moto's Live Tail answers one snapshot and ends, so the thread shows the fallback."""
    import time

    from bot.aws import AwsClients
    from bot.local.demo import CHANNEL, ENGINEER, Entry
    from bot.local.slack_requests import send_signed, slash_command_form

    bot.narrate(
        "/tail --follow: new invocations go into the thread of the first reply, here for 10 s; "
        "an invocation of orders runs 3 s in."
    )
    said = f"/tail {ORDERS} --follow 10s"
    url = bot.standin.new_response_url(CHANNEL)
    form = slash_command_form("/tail", said.removeprefix("/tail "), url, user_id=ENGINEER, channel_id=CHANNEL)
    before = {m["ts"] for m in bot.standin.messages(CHANNEL)}
    sent = send_signed(f"{bot.base_url}/slack/events", bot.signing_secret, form)
    time.sleep(3)
    at_ms = int(bot.clock().timestamp() * 1000)
    put_rows(AwsClients(), log_group(ORDERS), classic_invocation(at_ms, 5, stream=stream_name(at_ms, "f0110w")))
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        new = [m for m in bot.standin.messages(CHANNEL) if m["ts"] not in before and "Reading" not in m.get("text", "")]
        if any("Stopped following" in m.get("text", "") for m in new):
            break
        time.sleep(0.3)
    shown = [{**m, "response_type": "thread" if "thread_ts" in m else "in_channel"} for m in new]
    bot.transcript.append(Entry(ENGINEER, said, f"HTTP {sent.status} in {sent.seconds * 1000:.0f} ms", replies=shown))


def forwarder_scene(bot: DemoBot) -> None:
    from bot.aws import AwsClients
    from bot.local.demo import Entry
    from commands.tail.forwarder import handle_event

    aws = AwsClients()
    seed_demo_logs(aws, bot.clock())
    group = log_group(ORDERS)
    (stream,) = log_streams(aws, group)
    events = stored_events(aws, group, stream)
    # CloudWatch sends a stream's events in batches: here the first two invocations, then the other two.
    third = next(
        i for i, e in enumerate(events) if e["message"].startswith(f"START RequestId: {request_id(ORDERS, 3)}")
    )
    first, second = (subscription_event(group, stream, part) for part in (events[:third], events[third:]))
    ctx = bot.runtime.context("lambda:logs_handler", "", post=bot.delivery.post)

    bot.narrate(
        "The forwarder: CloudWatch Logs pushes each batch of a subscribed log group to the logs_handler Lambda, "
        "which posts it, grouped as /tail groups, to its route's channel through the durable outbox."
    )
    bot.transcript.append(
        Entry("ops", "cat opsbot.toml", "shell", replies=[{"text": TAIL_CONFIG.rstrip(), "response_type": "http"}])
    )

    def invoke(event: dict[str, Any], said: str, fails: str = "") -> None:
        before = len(bot.standin.messages(LOGS_CHANNEL))
        attempts = len(bot.standin.calls_to("chat.postMessage"))
        result = handle_event(event, ctx)
        bot.delivery.flush(60)
        posted = bot.standin.messages(LOGS_CHANNEL)[before:]
        tries = len(bot.standin.calls_to("chat.postMessage")) - attempts
        ack = f"returned {json.dumps(result)}; {_posts(len(posted))} to #{LOGS_CHANNEL}"
        if tries != len(posted):
            ack += f" after {tries} attempts ({fails})"
        replies = [{**m, "response_type": "in_channel"} for m in posted]
        bot.transcript.append(Entry("CloudWatch Logs", said, ack, replies=replies))

    count = len(events[:third])
    invoke(first, f"[invokes logs_handler: {count} events of {stream}, gzip+base64]")
    bot.narrate("Slack refuses the next post twice: 503, then 429 with Retry-After: 1. The outbox waits and retries.")
    bot.standin.fail_next("chat.postMessage", status=503)
    bot.standin.fail_next("chat.postMessage", status=429, retry_after=1)
    said = f"[invokes logs_handler: the next {len(events) - third} events]"
    invoke(second, said, fails="503, then 429 Retry-After: 1, then ok")
    bot.narrate("CloudWatch retries an invocation it thinks failed: the same batch again posts nothing.")
    invoke(second, "[invokes logs_handler again with the same batch]")
    bot.transcript.append(_channel_check(bot, LOGS_CHANNEL, ORDERS, 4))
    _poller(bot)


def _poller(bot: DemoBot) -> None:
    from bot.aws import AwsClients
    from bot.local.demo import Entry
    from commands.tail.poller import run_tick

    bot.narrate(
        "Without the forwarder Lambda, `opsbot serve` polls its routes instead: each tick posts only the "
        "lines the last one did not, and keeps its cursor in the state store."
    )
    bot.transcript.append(
        Entry("ops", "cat opsbot.toml", "shell", replies=[{"text": POLLER_CONFIG.rstrip(), "response_type": "http"}])
    )
    settings = bot.runtime.settings
    options = tomllib.loads(POLLER_CONFIG)["commands"]["tail"]
    polling = replace(
        bot.runtime, settings=replace(settings, command_options={**settings.command_options, "tail": options})
    )
    ctx = polling.context("job:tail_poller", "", post=bot.delivery.post)

    def tick(said: str) -> None:
        before = len(bot.standin.messages(POLLED_CHANNEL))
        bot.clock.skip(POLL_EVERY)
        read = sum(run_tick(ctx).values())
        bot.delivery.flush(60)
        posted = bot.standin.messages(POLLED_CHANNEL)[before:]
        ack = f"{read} new events, {_posts(len(posted))} to #{POLLED_CHANNEL}"
        replies = [{**m, "response_type": "in_channel"} for m in posted]
        bot.transcript.append(Entry("opsbot poller", said, ack, replies=replies))

    tick("[a tick: the route's first read, the last 15 minutes]")
    now_ms = int(bot.clock().timestamp() * 1000)
    stream = stream_name(now_ms, JSON_ENVIRONMENTS[0])
    put_rows(AwsClients(), log_group(ORDERS_JSON), json_invocation(now_ms - 5_000, 4, stream=stream))
    tick(f"[{POLL_EVERY} s later, after one more invocation]")
    tick(f"[{POLL_EVERY} s later, nothing new]")
    bot.transcript.append(_channel_check(bot, POLLED_CHANNEL, ORDERS_JSON, 4))


def _channel_check(bot: DemoBot, channel: str, function: str, invocations: int) -> Entry:
    """What the channel holds: each invocation's request id, counted over every message and file."""
    from bot.local.demo import Entry

    messages = bot.standin.messages(channel)
    texts = [json.dumps([m.get("blocks"), m.get("attachments"), m.get("text")]) for m in messages]
    texts += [u["content"].decode() for u in bot.standin.uploads.values() if u.get("channel") == channel]
    seen: dict[str, int] = {}
    for text in texts:
        for rid in set(_REQUEST_ID.findall(text)):
            seen[rid] = seen.get(rid, 0) + 1
    expected = [request_id(function, n) for n in range(1, invocations + 1)]
    lines = [f"{rid}: {seen.get(rid, 0)}×" for rid in expected]
    verdict = "each invocation once" if all(seen.get(rid) == 1 for rid in expected) else "NOT each invocation once"
    said = f"[#{channel}: {_posts(len(messages))}; how often each request id appears]"
    return Entry("check", said, verdict, replies=[{"text": "\n".join(lines), "response_type": "http"}])


def _posts(count: int) -> str:
    return "1 message" if count == 1 else f"{count} messages"
