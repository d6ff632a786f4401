"""Lambda logs into Slack: decode and format speed, a burst into one channel, poll-mode latency; ours beside naive.

    python bench/log_delivery.py [--parts 1,2,3] [--lines 10000] [--seconds 10] [--poll-seconds 60]

1. Subscription payloads (gzip+base64, Lambda's classic text format and some JSON-format records) of
   `--batch-sizes` events: ours is decode_subscription + group_invocations + log_reply (the Slack
   message, ready to send); naive is json.loads and one ``` code block of json.dumps(event) per event.
2. `--lines` marked log lines in `--seconds` to one channel, as CloudWatch would invoke the forwarder:
   a batch per log stream every `--batch-every` s. Ours: commands.tail.forwarder.handle_event with
   the real SlackDelivery (background, SQLite outbox); naive: one chat.postMessage per line with a
   plain WebClient, no pacing, a refused post logged and dropped. The stand-in answers chat.postMessage
   429 (with Retry-After) above `--slack-rate` per channel with a burst of `--slack-burst`: a token
   bucket standing in for Slack's limit ("1 per second per channel, short bursts allowed"; the real
   burst size is unpublished); file shares are not limited. `--lambda-mode` adds ours as on Lambda:
   a container per batch, each with its own SlackDelivery(background=False) flushing after the handler.
3. PutLogEvents at `--rate`/s for `--poll-seconds` on moto, and when each line reaches the stand-in:
   ours is the poller job (bot.jobs.run_forever of commands.tail.JOB) every `--interval` s;
   the baseline is `aws logs tail --follow`'s loop (awscli/customizations/logs/tail.py): FilterLogEvents,
   then 5 s of sleep, resuming at the newest timestamp seen and skipping only the ids seen at
   that timestamp; one post per event. Some lines share a millisecond, some arrive late.
Everything listens on 127.0.0.1 only and is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import itertools
import json
import logging
import math
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ack_latency import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from slack_sdk.errors import SlackApiError  # noqa: E402

from bot.aws import AwsClients  # noqa: E402
from bot.jobs import run_forever  # noqa: E402
from bot.lambda_handler import delivery_for  # noqa: E402
from bot.local.aws import moto_server, use_fake_credentials  # noqa: E402
from bot.local.slack_http import Answer, Params, RecordedCall  # noqa: E402
from bot.local.slack_standin import SlackStandIn  # noqa: E402
from bot.local.sqs_poller import Pollers  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from bot.slack.delivery import SlackDelivery  # noqa: E402
from bot.slack.sender import QueueSender  # noqa: E402
from bot.state import Store  # noqa: E402
from commands.tail import JOB  # noqa: E402
from commands.tail.forwarder import handle_event  # noqa: E402
from commands.tail.invocations import group_invocations  # noqa: E402
from commands.tail.render import log_reply  # noqa: E402
from commands.tail.subscription import decode_subscription  # noqa: E402

TOKEN = "xoxb-standin"
MARKER = re.compile(r"M\d{7}")
AWSCLI_SLEEP = 5.0  # FollowLogEventsGenerator._TIME_TO_SLEEP
SlackEvent = dict[str, Any]


# -- Lambda's log lines, and the subscription payloads that carry them


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Markers:
    """A unique `M0000001` per application line, to find each one again in Slack."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def take(self) -> str:
        return f"M{next(self._next):07d}"


@dataclass(frozen=True)
class Line:
    offset_ms: int
    message: str
    marker: str | None  # application lines carry one; START, END and REPORT do not


def lambda_lines(rng: random.Random, markers: Markers, style: str) -> Iterator[Line]:
    """One log stream's events, invocation after invocation: `node`, `python` (classic) or `json`."""
    ms = 0
    cold = True
    while True:
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        duration = rng.uniform(2, 400)
        used = rng.randint(60, 127)
        if style == "json":
            yield Line(ms, json.dumps({"time": iso(ms), "type": "platform.start", "record": {"requestId": rid}}), None)
        else:
            yield Line(ms, f"START RequestId: {rid} Version: $LATEST\n", None)
        for _ in range(rng.randint(5, 30)):
            ms += rng.randint(0, 3)
            marker = markers.take()
            level = "ERROR" if rng.random() < 0.03 else "INFO"
            text = f"order {rng.randrange(10**6)} {rng.choice(('charged', 'shipped', 'queued'))} [{marker}]"
            if style == "json":
                message = json.dumps({"timestamp": iso(ms), "level": level, "message": text, "requestId": rid})
            elif style == "node":
                message = f"{iso(ms)}\t{rid}\t{level}\t{text}\n"
            else:
                message = f"[{level}]\t{iso(ms)}\t{rid}\t{text}\n"
            yield Line(ms, message, marker)
        ms += 1
        if style == "json":
            metrics: dict[str, Any] = {"durationMs": round(duration, 2), "billedDurationMs": math.ceil(duration)}
            metrics |= {"memorySizeMB": 128, "maxMemoryUsedMB": used, **({"initDurationMs": 234.56} if cold else {})}
            record = {"requestId": rid, "status": "success", "metrics": metrics}
            yield Line(ms, json.dumps({"time": iso(ms), "type": "platform.report", "record": record}), None)
        else:
            yield Line(ms, f"END RequestId: {rid}\n", None)
            init = "Init Duration: 234.56 ms\t" if cold else ""
            yield Line(
                ms,
                f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms\t"
                f"Memory Size: 128 MB\tMax Memory Used: {used} MB\t{init}\n",
                None,
            )
        cold = False
        ms += rng.randint(1, 20)


STYLES = ("node", "python", "node", "json")  # a quarter of the streams log in Lambda's JSON format
_event_ids = itertools.count(37_000_000)


def subscription_event(group: str, stream: str, events: list[tuple[int, str]]) -> SlackEvent:
    """What CloudWatch Logs invokes the subscription's Lambda with: gzip, base64, JSON."""
    body = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["opsbot-forwarder"],
        "logEvents": [{"id": f"{next(_event_ids):056d}", "timestamp": ts, "message": m} for ts, m in events],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}


def stream_name(i: int) -> str:
    return f"2026/01/01/[$LATEST]{uuid.UUID(int=i + 1).hex}"


# -- the two ways to turn a payload into Slack messages


def ours_format(event: SlackEvent) -> tuple[int, int]:
    """(messages, files) for one payload, as the forwarder builds them."""
    batch = decode_subscription(event)
    reply = log_reply(batch.log_group.removeprefix("/aws/lambda/"), group_invocations(batch.events), UTC_ZONE)
    return 1, len(reply.files)


def naive_messages(event: SlackEvent) -> list[dict[str, str]]:
    """What a typical forwarder does: every event its own message, the event's JSON in a code block."""
    body = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return [{"text": "```" + json.dumps(e) + "```"} for e in body["logEvents"]]


# -- the stand-in, with Slack's per-channel limit and a log of what landed


@dataclass(frozen=True)
class Arrival:
    channel: str
    at: float  # time.monotonic()
    kind: str  # "message" or "file"
    markers: tuple[str, ...]


class LimitedStandIn(SlackStandIn):
    """The Slack stand-in, answering chat.postMessage 429 above `rate` per channel (a token bucket of
    `burst`), and remembering every message and file it accepted with the markers in it."""

    def __init__(self, rate: float | None, burst: int) -> None:
        super().__init__(bot_token=TOKEN)
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, when)
        self.arrivals: list[Arrival] = []
        self.refused: Counter[str] = Counter()

    def __enter__(self) -> LimitedStandIn:
        self.start()
        return self

    def _wait_for_token(self, channel: str) -> float:
        now = time.monotonic()
        tokens, then = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * (self.rate or 0))
        if tokens >= 1:
            self._buckets[channel] = (tokens - 1, now)
            return 0.0
        self._buckets[channel] = (tokens, now)
        return (1 - tokens) / (self.rate or 1)

    def _answer(self, method: str, params: Params, headers: dict[str, str], handle: Callable[[], Answer]) -> Answer:
        channel = str(params.get("channel") or params.get("channel_id") or "")
        if method == "chat.postMessage" and self.rate:
            with self._changed:
                wait = self._wait_for_token(channel)
                if wait > 0:
                    self.calls.append(RecordedCall(method, params, headers, time.monotonic()))
                    self.refused[channel] += 1
                    return self._injected(method, 429, max(1, math.ceil(wait)))
        answer = super()._answer(method, params, headers, handle)
        delivered = method in ("chat.postMessage", "files.completeUploadExternal") and answer.status == 200
        if delivered and json.loads(answer.body).get("ok"):
            self._arrived(method, channel, params)
        return answer

    def _arrived(self, method: str, channel: str, params: Params) -> None:
        if method == "chat.postMessage":
            shown = [params.get("blocks", []), params.get("attachments", [])]
            kind, text = "message", str(params.get("text", "")) + json.dumps(shown)
        else:
            ids = [str(f.get("id")) for f in params.get("files", [])]
            kind, text = "file", "\n".join(self.uploads[i]["content"].decode(errors="replace") for i in ids)
        with self._changed:
            self.arrivals.append(Arrival(channel, time.monotonic(), kind, tuple(MARKER.findall(text))))

    def landed(self, channel: str) -> list[Arrival]:
        with self._changed:
            return [a for a in self.arrivals if a.channel == channel]

    def post_times(self, channel: str) -> list[float]:
        """Every chat.postMessage to the channel, refused ones included: what the sender tried."""
        return [c.at for c in self.calls_to("chat.postMessage") if c.params.get("channel") == channel]


def first_arrival(arrivals: list[Arrival]) -> tuple[dict[str, float], int]:
    """Each marker's first arrival, and how many arrivals repeated a marker already seen."""
    first: dict[str, float] = {}
    repeats = 0
    for arrival in sorted(arrivals, key=lambda a: a.at):
        for marker in arrival.markers:
            if marker in first:
                repeats += 1
            else:
                first[marker] = arrival.at
    return first, repeats


def peak_per_second(times: list[float]) -> int:
    ordered, peak, low = sorted(times), 0, 0
    for high, at in enumerate(ordered):
        while ordered[low] <= at - 1.0:
            low += 1
        peak = max(peak, high - low + 1)
    return peak


def tail_settings(tmp: Path, group: str, channel: str, standin: SlackStandIn) -> Settings:
    config = tmp / f"{channel}.toml"
    config.write_text(f'[commands.tail]\n[[commands.tail.routes]]\nlog_group = "{group}"\nchannel = "{channel}"\n')
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": standin.api_url,
        "OPSBOT_STATE": str(tmp / f"{channel}.db"),
        "OPSBOT_CONFIG": str(config),
    }
    return load_settings(env)


UTC_ZONE = load_settings({}).timezone


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells))


# -- part 1: decode and format


def sample_payloads(size: int, count: int) -> list[SlackEvent]:
    """`count` payloads of `size` events, each from one stream (CloudWatch batches per stream)."""
    rng, markers = random.Random(size), Markers()
    payloads = []
    for p in range(count):
        lines = itertools.islice(lambda_lines(rng, markers, STYLES[p % len(STYLES)]), size)
        base = 1_790_000_000_000 + p * 60_000
        events = [(base + line.offset_ms, line.message) for line in lines]
        payloads.append(subscription_event("/aws/lambda/orders", stream_name(p), events))
    return payloads


def lines_kept(payloads: list[SlackEvent]) -> tuple[int, int]:
    """(markers in the payloads, those found in ours' messages and files): the formatter drops nothing."""
    sent = found = 0
    for event in payloads:
        batch = decode_subscription(event)
        reply = log_reply("orders", group_invocations(batch.events), UTC_ZONE)
        wanted = {m for e in batch.events for m in MARKER.findall(e.message)}
        shown = json.dumps([reply.blocks, reply.attachments]) + "".join(f.content.decode() for f in reply.files)
        sent, found = sent + len(wanted), found + len(wanted & set(MARKER.findall(shown)))
    return sent, found


def format_ours(payloads: list[SlackEvent]) -> tuple[int, int]:
    counts = [ours_format(e) for e in payloads]
    return sum(m for m, _ in counts), sum(f for _, f in counts)


def format_naive(payloads: list[SlackEvent]) -> tuple[int, int]:
    return sum(len(naive_messages(e)) for e in payloads), 0


def part_decode(args: argparse.Namespace) -> None:
    print(f"\n1. decode and format: {args.payloads} payloads per batch size, rounds for ≥ {args.min_time:g} s each")
    rows = []
    formatters = (
        ("ours: decode_subscription + group_invocations + log_reply", format_ours),
        ("naive: json.loads, one ``` block per event", format_naive),
    )
    for size in args.batch_sizes:
        payloads = sample_payloads(size, args.payloads)
        events = size * len(payloads)
        for name, run in formatters:
            messages, files = run(payloads)  # and a warm-up: regexes, caches
            rates: list[float] = []
            started = time.perf_counter()
            while time.perf_counter() - started < args.min_time or len(rates) < 3:
                t0 = time.perf_counter()
                run(payloads)
                rates.append(events / (time.perf_counter() - t0))
            per_k = f"{messages * 1000 / events:,.1f}" + (f" + {files * 1000 / events:,.1f} files" if files else "")
            rows.append([name, f"{size:,}", f"{max(rates):,.0f}", f"{statistics.median(rates):,.0f}", per_k])
    print_table(["formatter", "events/batch", "events/s (best)", "median", "Slack messages per 1,000 events"], rows)
    kept = [lines_kept(sample_payloads(size, args.payloads)) for size in args.batch_sizes]
    print(f"  ours shows {sum(f for _, f in kept):,} of the {sum(s for s, _ in kept):,} app lines (message or file)")
    ours = {r[1]: r for r in rows if r[0].startswith("ours")}
    naive = {r[1]: r for r in rows if r[0].startswith("naive")}
    print(
        "  summary: "
        + "; ".join(f"{k} events/batch: ours {ours[k][3]}/s, naive {naive[k][3]}/s" for k in ours)
        + " (medians); ours sends one message (and a file for what does not fit) per batch, naive one per event"
    )


# -- part 2: a burst into one channel


@dataclass
class Burst:
    batches: list[tuple[float, int, SlackEvent]]  # (when, stream, payload), in time order per stream
    markers: set[str]
    events: int


def build_burst(args: argparse.Namespace, group: str) -> Burst:
    rng, markers = random.Random(8), Markers()
    per_stream = args.lines // args.streams
    count = math.ceil(args.seconds / args.batch_every)
    window_ms = args.seconds * 1000
    batches: list[tuple[float, int, SlackEvent]] = []
    wanted: set[str] = set()
    events = 0
    for s in range(args.streams):
        quota = per_stream + (1 if s < args.lines % args.streams else 0)
        lines: list[Line] = []
        for line in lambda_lines(rng, markers, STYLES[s % len(STYLES)]):
            lines.append(line)
            if line.marker:
                wanted.add(line.marker)
                quota -= 1
                if not quota:
                    break
        events += len(lines)
        last = max(lines[-1].offset_ms, 1)
        spread = [(int(x.offset_ms * (window_ms - 1) / last), x.message) for x in lines]  # over the window
        stagger = s * args.batch_every / args.streams
        for k in range(count):
            low, high = k * args.batch_every * 1000, (k + 1) * args.batch_every * 1000
            chunk = [(ts, m) for ts, m in spread if low <= ts < high]
            if chunk:
                batches.append(
                    ((k + 1) * args.batch_every + stagger, s, subscription_event(group, stream_name(s), chunk))
                )
    return Burst(batches, wanted, events)


def rebase(event: SlackEvent, now_ms: int) -> SlackEvent:
    """The payload with its timestamps moved to now: built ahead, sent as if just written."""
    body = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    for e in body["logEvents"]:
        e["timestamp"] += now_ms
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}


def send_burst(burst: Burst, streams: int, handler: Callable[[SlackEvent], None]) -> tuple[float, float]:
    """Each stream's batches at their times, one thread per stream (CloudWatch invokes per stream);
    returns when the first batch went, and when the last handler returned."""
    now_ms = int(time.time() * 1000)
    ready = [(when, s, rebase(e, now_ms)) for when, s, e in burst.batches]
    start = time.monotonic() + 0.2

    def one_stream(s: int) -> None:
        for when, stream, event in ready:
            if stream == s:
                time.sleep(max(0.0, start + when - time.monotonic()))
                handler(event)

    threads = [threading.Thread(target=one_stream, args=(s,), daemon=True) for s in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return start + min(w for w, _, _ in ready), time.monotonic()


def burst_row(name: str, standin: LimitedStandIn, channel: str, burst: Burst, first: float, sent: float) -> list[str]:
    landed = standin.landed(channel)
    arrived, repeats = first_arrival(landed)
    got = set(arrived) & burst.markers
    messages = sum(1 for a in landed if a.kind == "message")
    files = len(landed) - messages
    attempts = sorted(standin.post_times(channel))
    span = attempts[-1] - attempts[0] if len(attempts) > 1 else 0.0
    rate = f"{len(attempts) / span:,.1f}" if span else "-"
    drained = max([*arrived.values(), sent]) - first
    return [
        name,
        f"{len(burst.markers):,}",
        f"{len(attempts):,}",
        f"{standin.refused[channel]:,}",
        f"{messages:,}" + (f" + {files} files" if files else ""),
        f"{len(got):,}",
        f"{len(burst.markers - got):,}",
        f"{repeats:,}",
        f"{rate} / {peak_per_second(attempts):,}",
        f"{drained:.1f} s",
    ]


def wait_for_markers(
    standin: LimitedStandIn, channel: str, burst: Burst, first: float, timeout: float, pending: Callable[[], bool]
) -> None:
    """Until every marker is in Slack, nothing is `pending`, or `timeout`; a progress line every 10 s."""
    deadline, shown = time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        have = len(set(first_arrival(standin.landed(channel))[0]) & burst.markers)
        if have == len(burst.markers) or not pending():
            return
        if time.monotonic() - shown >= 10:
            shown = time.monotonic()
            print(f"   … {have:,} of {len(burst.markers):,} lines at Slack after {shown - first:.0f} s", flush=True)
        time.sleep(0.25)


def burst_ours(args: argparse.Namespace, tmp: Path, burst: Burst, group: str, channel: str) -> tuple[list[str], str]:
    """The forwarder's handler in one long-lived process: the real delivery, its SQLite outbox, its pacer."""
    with LimitedStandIn(args.slack_rate, args.slack_burst) as standin:
        settings = tail_settings(tmp, group, channel, standin)
        store = Store.open(settings.state_url)
        delivery = SlackDelivery.configured(settings, store, background=True)
        ctx = Runtime(settings, AwsClients(), store).context("lambda:logs_handler", "", post=delivery.post)
        statuses: Counter[str] = Counter()
        first, sent = send_burst(burst, args.streams, lambda e: statuses.update([handle_event(e, ctx)["status"]]))
        print(f"   ours: {len(burst.batches)} batches handed over in {sent - first:.1f} s {dict(statuses)}", flush=True)
        wait_for_markers(standin, channel, burst, first, args.drain_timeout, lambda: bool(delivery.outbox.records()))
        delivery.stop()
        late = sum(1 for m in standin.messages(channel) if "Delivered late" in json.dumps(m))
        row = burst_row("ours: forwarder + SlackDelivery", standin, channel, burst, first, sent)
    return row, f'{late} of its messages carry the outbox\'s "Delivered late: Slack was unreachable for …" note'


def burst_ours_on_lambda(
    args: argparse.Namespace, tmp: Path, burst: Burst, group: str, channel: str
) -> tuple[list[str], str]:
    """As on Lambda: every invocation in a container of its own (a burst outruns warm ones) with its own
    SlackDelivery(background=False) on the shared store, flushing for up to DeliveryPolicy.wait."""
    with LimitedStandIn(args.slack_rate, args.slack_burst) as standin:
        settings = tail_settings(tmp, group, f"{channel}L", standin)
        busy: list[float] = []
        threads: list[threading.Thread] = []

        def invocation(event: SlackEvent) -> None:
            started = time.monotonic()
            delivery = SlackDelivery.configured(settings, Store.open(settings.state_url), background=False)
            ctx = Runtime(settings, AwsClients(), delivery.outbox.store).context("lambda", "", post=delivery.post)
            handle_event(event, ctx)
            delivery.flush(delivery.policy.wait)
            busy.append(time.monotonic() - started)

        def invoke(event: SlackEvent) -> None:
            threads.append(threading.Thread(target=invocation, args=(event,), daemon=True))
            threads[-1].start()

        first, sent = send_burst(burst, args.streams, invoke)
        print(f"   ours on Lambda: {len(threads)} invocations started; draining…", flush=True)
        for t in threads:
            t.join()
        row = burst_row("ours on Lambda: a container per batch", standin, f"{channel}L", burst, first, sent)
    return row, f"its {len(busy)} invocations ran {sum(busy):,.0f} s in all (longest {max(busy):.0f} s)"


def burst_ours_on_queue(
    args: argparse.Namespace, tmp: Path, burst: Burst, group: str, channel: str
) -> tuple[list[str], str]:
    """As on Lambda with the delivery queue: the forwarder queues in SQS FIFO (moto), and 4 containers
    of the delivery sender (bot.local.sqs_poller standing in for the event source) send, merging
    what a batch of up to 10 holds of the channel."""
    with moto_server() as moto_url, LimitedStandIn(args.slack_rate, args.slack_burst) as standin:
        use_fake_credentials(moto_url)
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="opsbot-delivery.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        settings = tail_settings(tmp, group, f"{channel}Q", standin)
        env = {"OPSBOT_DELIVERY_QUEUE_URL": url}

        def container() -> SlackDelivery:
            return delivery_for(Runtime(settings, AwsClients(), Store.open(settings.state_url)), env)

        forwarder = container()
        ctx = Runtime(settings, AwsClients(), forwarder.outbox.store).context("lambda", "", post=forwarder.post)
        senders = [container() for _ in range(4)]
        handlers = [QueueSender(d, d.queue).handle for d in senders if d.queue is not None]

        def pending() -> bool:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return (
                attributes["ApproximateNumberOfMessages"] != "0"
                or attributes["ApproximateNumberOfMessagesNotVisible"] != "0"
            )

        with Pollers(sqs, url, handlers, lambda: time.time() + 20) as pollers:
            first, sent = send_burst(burst, args.streams, lambda e: handle_event(e, ctx))
            wait_for_markers(standin, f"{channel}Q", burst, first, args.drain_timeout, pending)
        row = burst_row("ours on Lambda: SQS FIFO + 4 senders", standin, f"{channel}Q", burst, first, sent)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    return row, f"its senders were invoked {pollers.invocations} times"


def burst_naive(args: argparse.Namespace, burst: Burst, channel: str) -> tuple[list[str], str]:
    """One chat.postMessage per line: nothing queued, nothing paced, a refusal logged and dropped."""
    with LimitedStandIn(args.slack_rate, args.slack_burst) as standin:
        client = WebClient(token=TOKEN, base_url=standin.api_url)
        errors: Counter[str] = Counter()

        def naive(event: SlackEvent) -> None:
            for message in naive_messages(event):
                try:
                    client.chat_postMessage(channel=channel, text=message["text"])
                except SlackApiError as exc:
                    errors[str(exc.response.get("error"))] += 1

        first, sent = send_burst(burst, args.streams, naive)
        row = burst_row("naive: a chat.postMessage per line", standin, channel, burst, first, sent)
    return row, f"its errors {dict(errors)}"


def part_burst(args: argparse.Namespace, tmp: Path) -> None:
    group, channel = "/aws/lambda/bench-burst", "C0BURST001"
    burst = build_burst(args, group)
    limit = f"{args.slack_rate:g}/s, burst {args.slack_burst}" if args.slack_rate else "off"
    print(
        f"\n2. burst: {len(burst.markers):,} app lines ({burst.events:,} events with START/END/REPORT) "
        f"in {args.seconds:g} s to one channel; {args.streams} log streams, a batch per stream every "
        f"{args.batch_every:g} s ({len(burst.batches)} batches); stand-in limit per channel: {limit}"
    )
    results = [burst_ours(args, tmp, burst, group, channel)]
    if args.lambda_mode:
        results.append(burst_ours_on_lambda(args, tmp, burst, group, channel))
    if args.queue_mode:
        results.append(burst_ours_on_queue(args, tmp, burst, group, channel))
    results.append(burst_naive(args, burst, channel))
    header = ["forwarder", "lines", "postMessage calls", "429s", "accepted", "lines in Slack", "lost", "repeated"]
    print_table([*header, "calls/s avg / peak in 1 s", "drained after"], [row for row, _ in results])
    for row, note in results:
        print(f"   {row[0].split(':')[0]}: {note}")
    if not args.slack_rate:
        print("   the stand-in enforced no rate limit in this run: 'lost' counts only what it refused otherwise")
    ours, naive = results[0][0], results[-1][0]
    print(
        f"   summary: ours {ours[5]} of {ours[1]} lines in {ours[4]}, drained after {ours[9]}; "
        f"naive {naive[5]} ({naive[3]} posts refused 429, sent in {naive[9]}); at 1 message/s one per event "
        f"would take ≥ {burst.events / 60:,.0f} min"
    )


# -- part 3: poll-mode latency


@dataclass
class Written:
    marker: str
    kind: str  # "plain", "same-ms" (the ms of the line before it, written 1/rate s later) or "late"
    put_at: float  # time.monotonic() when PutLogEvents returned


def write_steadily(logs: Any, group: str, args: argparse.Namespace, stop: threading.Event) -> list[Written]:
    markers, written = Markers(), []
    main, late = stream_name(100), stream_name(101)
    for stream in (main, late):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    start, last_ts, rid = time.monotonic(), 0, ""
    for i in range(int(args.rate * args.poll_seconds)):
        if stop.wait(max(0.0, start + i / args.rate - time.monotonic())):
            break
        if i % 10 == 0:
            rid = str(uuid.uuid4())
        ts, stream, kind = int(time.time() * 1000), main, "plain"
        if args.late_every and i % args.late_every == args.late_every // 2:
            ts, stream, kind = ts - args.late_ms, late, "late"
        elif args.same_ms_every and i % args.same_ms_every == 1 and last_ts:
            ts, kind = last_ts, "same-ms"
        marker = markers.take()
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": ts, "message": f"{iso(ts)}\t{rid}\tINFO\tpoll line [{marker}]\n"}],
        )
        written.append(Written(marker, kind, time.monotonic()))
        if stream == main:
            last_ts = ts
    return written


def awscli_follow(logs: Any, group: str, post: Callable[[Mapping[str, Any]], None], stop: threading.Event) -> None:
    """`aws logs tail GROUP --follow` (awscli's FollowLogEventsGenerator), each event posted, not printed.

    It re-reads from the newest timestamp it has seen, skipping the ids seen at that one timestamp,
    and sleeps 5 s after the last page: an event written later with an older timestamp is never read.
    """
    request: dict[str, Any] = {
        "logGroupName": group,
        "interleaved": True,
        "startTime": int(time.time() * 1000) - 600_000,
    }
    seen_at: defaultdict[int, set[str]] = defaultdict(set)  # only the newest timestamp's ids are kept
    while not stop.is_set():
        page = logs.filter_log_events(**request)
        for event in page["events"]:
            if event["eventId"] not in seen_at[event["timestamp"]]:
                seen_at[event["timestamp"]].add(event["eventId"])
                post(event)
        if seen_at:
            newest = max(seen_at)
            seen_at = defaultdict(set, {newest: seen_at[newest]})
        if "nextToken" in page:
            request["nextToken"] = page["nextToken"]
        else:
            request.pop("nextToken", None)
            if seen_at:
                request["startTime"] = max(seen_at)
            stop.wait(AWSCLI_SLEEP)


def latency_row(name: str, standin: LimitedStandIn, channel: str, written: list[Written]) -> list[str]:
    arrived, repeats = first_arrival(standin.landed(channel))
    seconds = [arrived[w.marker] - w.put_at for w in written if w.marker in arrived]
    missed = Counter(w.kind for w in written if w.marker not in arrived)
    kinds = Counter(w.kind for w in written)
    skipped = ", ".join(f"{missed[k]} of {kinds[k]} {k}" for k in ("late", "same-ms", "plain") if kinds[k])
    posts = standin.post_times(channel)
    row = [
        name,
        f"{len(written)}",
        f"{len(seconds)}",
        skipped,
        f"{repeats}",
        *(f"{percentile(seconds, p):.2f} s" if seconds else "-" for p in (50, 99)),
        f"{max(seconds):.2f} s" if seconds else "-",
        f"{len(posts)} ({peak_per_second(posts)}/s peak)",
    ]
    return row


def part_poll(args: argparse.Namespace, tmp: Path) -> None:
    group = "/aws/lambda/bench-poll"
    ours_channel, cli_channel = "C0POLLOURS", "C0POLLCLI"
    kinds = (
        f"every {args.same_ms_every}th line in the ms of the line before it" if args.same_ms_every else "no shared ms"
    )
    late = f"every {args.late_every}th {args.late_ms} ms late (another stream)" if args.late_every else "none late"
    print(
        f"\n3. poll mode on moto: PutLogEvents at {args.rate:g}/s for {args.poll_seconds:g} s ({kinds}; {late}); "
        f"ours polls every {args.interval:g} s, awscli's loop sleeps {AWSCLI_SLEEP:g} s; latency = PutLogEvents "
        "returned → the post reached the stand-in (its rate limit off here: part 2 measures posting)"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as moto_url, LimitedStandIn(None, 0) as standin:
        use_fake_credentials(moto_url)
        logs = boto3.client("logs")
        logs.create_log_group(logGroupName=group)
        settings = tail_settings(tmp, group, ours_channel, standin)
        runtime = Runtime(settings, AwsClients(), Store.open(settings.state_url))
        delivery = SlackDelivery.configured(settings, runtime.store, background=True)
        client = WebClient(token=TOKEN, base_url=standin.api_url)
        stop, writer_stop = threading.Event(), threading.Event()

        def post_plainly(event: Mapping[str, Any]) -> None:  # awscli's "detailed" line, as one message
            text = f"{iso(event['timestamp'])} {event['logStreamName']} {event['message'].rstrip()}"
            client.chat_postMessage(channel=cli_channel, text=text)

        consumers = [
            threading.Thread(target=run_forever, args=(JOB, args.interval, runtime, delivery, stop), daemon=True),
            threading.Thread(target=awscli_follow, args=(boto3.client("logs"), group, post_plainly, stop), daemon=True),
        ]
        for t in consumers:
            t.start()
        written = write_steadily(logs, group, args, writer_stop)
        print(
            f"   wrote {len(written)} lines; waiting {2 * max(args.interval, AWSCLI_SLEEP) + 3:g} s for the last polls",
            flush=True,
        )
        time.sleep(2 * max(args.interval, AWSCLI_SLEEP) + 3)
        stop.set()
        delivery.stop()
        for t in consumers:
            t.join(timeout=30)
        ours = latency_row(f"ours: poller job every {args.interval:g} s", standin, ours_channel, written)
        cli = latency_row("awscli logs tail --follow scheme", standin, cli_channel, written)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print_table(
        ["consumer", "lines", "delivered", "never delivered", "repeated", "p50", "p99", "max", "Slack messages"],
        [ours, cli],
    )
    missed = [int(row[1]) - int(row[2]) for row in (ours, cli)]
    print(
        f"   summary: p50 / p99 ours {ours[5]} / {ours[6]}, awscli's scheme {cli[5]} / {cli[6]}; "
        f"never delivered: ours {missed[0]}, awscli's scheme {missed[1]} of {ours[1]}"
    )
    print("   (moto makes an event searchable at once; CloudWatch takes seconds more, for both alike)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 2 or 1,3")
    parser.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000])
    parser.add_argument("--payloads", type=int, default=10, help="part 1: payloads per batch size")
    parser.add_argument("--min-time", type=float, default=1.0, help="part 1: seconds of rounds per formatter")
    parser.add_argument("--lines", type=int, default=10_000, help="part 2: marked application lines")
    parser.add_argument("--seconds", type=float, default=10.0, help="part 2: over how long they are written")
    parser.add_argument("--streams", type=int, default=3, help="part 2: log streams (one Lambda container each)")
    parser.add_argument("--batch-every", type=float, default=1.0, help="part 2: seconds between a stream's batches")
    parser.add_argument("--slack-rate", type=float, default=1.0, help="part 2: chat.postMessage/s per channel (0: off)")
    parser.add_argument("--slack-burst", type=int, default=10, help="part 2: the limit's burst")
    parser.add_argument("--lambda-mode", action="store_true", help="part 2: also ours as on Lambda (≈ +1 min)")
    parser.add_argument("--queue-mode", action="store_true", help="part 2: also ours on Lambda's delivery queue")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="part 2: seconds to wait for ours to drain")
    parser.add_argument("--rate", type=float, default=2.0, help="part 3: PutLogEvents per second")
    parser.add_argument("--poll-seconds", type=float, default=60.0, help="part 3: how long the writer writes")
    parser.add_argument("--interval", type=float, default=5.0, help="part 3: our poller's interval (its minimum: 5)")
    parser.add_argument("--same-ms-every", type=int, default=10, help="part 3: every Nth line shares the previous ms")
    parser.add_argument("--late-every", type=int, default=7, help="part 3: every Nth line arrives late (0: none)")
    parser.add_argument("--late-ms", type=int, default=3000, help="part 3: how late")
    parser.add_argument("--verbose", action="store_true", help="show the delivery's and botocore's warnings")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    parts = {p.strip() for p in args.parts.split(",")}

    print("$ python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; Slack stand-in and moto on 127.0.0.1")
    started = time.monotonic()
    use_fake_credentials()
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-logs-") as tmp:
        if "1" in parts:
            part_decode(args)
        if "2" in parts:
            part_burst(args, Path(tmp))
        if "3" in parts:
            part_poll(args, Path(tmp))
    print(f"\n(whole run {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
