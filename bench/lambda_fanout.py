"""Subscription batches through the Lambda delivery path on moto: the forwarder queues each batch's
post in the SQS FIFO delivery queue (a group per channel), concurrent delivery senders post to Slack.

    python bench/lambda_fanout.py [--batches 1000] [--channels 1,10,100] [--senders 4] [--backlog 1000]

Per run: `--batches` CloudWatch Logs subscription payloads (one Lambda invocation's lines each, as
bench/log_delivery.py builds them), spread round-robin over `--channels` channels (a log group and
a route each), handed to commands.tail.forwarder.handle_event (the logs_handler's work, its
DynamoDB table and the queue on moto) while `--senders` pollers, each its own container of
bot.lambda_handler's delivery sender (bot.local.sqs_poller: Lambda's event source mapping), drain
the queue into the Slack stand-in, which answers chat.postMessage 429 above 1 a second per channel
(bench/log_delivery.py's LimitedStandIn, burst 1). Reported: Slack calls, 429s, the most posts any
channel got in one second and the shortest gap, time to drain, and AWS requests per batch (the
forwarder's, the senders', and the event source's receives and deletes, counted by botocore hooks).

Then the head-of-line check: `--backlog` posts queued for one channel, then one for another; how
long that one waits with 2 senders. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from log_delivery import LimitedStandIn, Markers, lambda_lines, print_table, stream_name, subscription_event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from bot import lambda_handler  # noqa: E402
from bot.aws import AwsClients  # noqa: E402
from bot.local.aws import moto_server, reset_moto, use_fake_credentials  # noqa: E402
from bot.local.sqs_poller import Pollers  # noqa: E402
from bot.reply import Reply  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.slack.sender import QueueSender  # noqa: E402
from commands.tail.forwarder import handle_event  # noqa: E402

TOKEN = "xoxb-standin"


class CountingAws(AwsClients):
    """AwsClients that count every request by service."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: Counter[str] = Counter()
        self._hooked: set[int] = set()
        self._count_lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        client = super().client(service, region)
        if id(client) not in self._hooked:
            self._hooked.add(id(client))

            def count(**_: Any) -> None:
                with self._count_lock:
                    self.requests[service] += 1

            client.meta.events.register("before-call", count)
        return client


def environment(standin: LimitedStandIn, table: str, queue_url: str, channels: int) -> dict[str, str]:
    routes = [{"log_group": f"/aws/lambda/fan-{c}", "channel": channel_id(c)} for c in range(channels)]
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": standin.api_url,
        "OPSBOT_STATE": f"dynamodb://{table}",
        "OPSBOT_TAIL_ROUTES": json.dumps(routes),
        "OPSBOT_DELIVERY_QUEUE_URL": queue_url,
    }


def channel_id(c: int) -> str:
    return f"C0FAN{c:05d}"


def container(env: dict[str, str]) -> tuple[Runtime, CountingAws]:
    aws = CountingAws()
    return Runtime.from_settings(lambda_handler.settings_from_env(env, aws), aws), aws


def create_table(name: str) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


def batches(count: int, channels: int) -> list[dict[str, Any]]:
    """One invocation's lines a payload, channel by channel in turn."""
    rng, markers, events = random.Random(15), Markers(), []
    streams = [lambda_lines(rng, markers, "python") for _ in range(channels)]
    for n in range(count):
        c = n % channels
        lines = []
        for line in streams[c]:
            lines.append((1_700_000_000_000 + line.offset_ms, line.message))
            if line.message.startswith("REPORT"):
                break
        events.append(subscription_event(f"/aws/lambda/fan-{c}", stream_name(c), lines))
    return events


def queue_empty(sqs: Any, url: str) -> bool:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def min_gap(times: list[float]) -> float:
    ordered = sorted(times)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=float("inf"))


def peak(times: list[float]) -> int:
    ordered, best, low = sorted(times), 0, 0
    for high, at in enumerate(ordered):
        while ordered[low] <= at - 1.0:
            low += 1
        best = max(best, high - low + 1)
    return best


def fanout_run(moto_url: str, args: argparse.Namespace, channels: int) -> list[str]:
    reset_moto(moto_url)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="opsbot-delivery.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    create_table("opsbot-fanout")
    payloads = batches(args.batches, channels)
    with LimitedStandIn(1.0, 1) as standin:
        env = environment(standin, "opsbot-fanout", url, channels)
        forwarder, forwarder_aws = container(env)
        delivery = lambda_handler.delivery_for(forwarder, env)
        ctx = forwarder.context("lambda:logs_handler", "", post=delivery.post)
        senders = [container(env) for _ in range(args.senders)]
        handlers = []
        for runtime, _aws in senders:
            sent = lambda_handler.delivery_for(runtime, env)
            assert sent.queue is not None
            handlers.append(QueueSender(sent, sent.queue).handle)
        started = time.monotonic()
        statuses: Counter[str] = Counter()
        with Pollers(sqs, url, handlers, lambda: time.time() + 50) as pollers:
            for payload in payloads:
                statuses[handle_event(payload, ctx)["status"]] += 1
            handed = time.monotonic() - started
            while not queue_empty(sqs, url):
                time.sleep(0.2)
            drained = time.monotonic() - started
        posts = [c for c in standin.calls_to("chat.postMessage") if "error" not in json.dumps(c.params)]
        per_channel = {channel_id(c): standin.post_times(channel_id(c)) for c in range(channels)}
        uploads = len(standin.calls_to("files.completeUploadExternal"))
        refused = sum(standin.refused.values())
        sender_requests = sum((aws.requests for _, aws in senders), Counter())
        per = args.batches

    def each(counter: Counter[str], service: str) -> str:
        return f"{counter[service] / per:.2f}"

    assert statuses["posted"] == args.batches, statuses
    return [
        f"{channels}",
        f"{len(posts)} + {uploads} files",
        f"{refused}",
        f"{max(peak(t) for t in per_channel.values())}",
        f"{min(min_gap(t) for t in per_channel.values()):.2f} s",
        f"{handed:.1f} s",
        f"{drained:.1f} s",
        f"{each(forwarder_aws.requests, 'dynamodb')} / {each(forwarder_aws.requests, 'sqs')}",
        f"{each(sender_requests, 'dynamodb')} / {each(sender_requests, 'sqs')}",
        f"{2 * pollers.invocations / per:.2f}",
    ]


def head_of_line(moto_url: str, args: argparse.Namespace) -> str:
    """`--backlog` posts for one channel queued, then one for another: how long that one waits."""
    reset_moto(moto_url)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="opsbot-delivery.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    create_table("opsbot-fanout")
    with LimitedStandIn(1.0, 1) as standin:
        env = environment(standin, "opsbot-fanout", url, 2)
        runtime, _ = container(env)
        delivery = lambda_handler.delivery_for(runtime, env)
        record = delivery.outbox.new_record(channel_id(0), channel_id(0), "post", {"text": "backlog"}, paced=True)
        record["body"]["channel"] = channel_id(0)
        for i in range(0, args.backlog, 10):
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": json.dumps(record),
                    "MessageGroupId": channel_id(0),
                    "MessageDeduplicationId": f"b{i + n}",
                }
                for n in range(min(10, args.backlog - i))
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        delivery.post(channel_id(1), Reply("the other channel"))
        handlers = []
        for _ in range(2):
            sender_runtime, _aws = container(env)
            sent = lambda_handler.delivery_for(sender_runtime, env)
            assert sent.queue is not None
            handlers.append(QueueSender(sent, sent.queue).handle)
        started = time.monotonic()
        with Pollers(sqs, url, handlers, lambda: time.time() + 50):
            while not standin.post_times(channel_id(1)):
                time.sleep(0.01)
            waited = standin.post_times(channel_id(1))[0] - started
            backlog_posts = len(standin.post_times(channel_id(0)))
    return (
        f"{args.backlog} queued for one channel: a post to another reached Slack {waited:.2f} s after the "
        f"senders started ({backlog_posts} backlog posts by then)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--channels", default="1,10,100")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args(argv)
    print("$ python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; moto and the Slack stand-in on 127.0.0.1")
    use_fake_credentials()
    logging.basicConfig(level=logging.ERROR)
    with moto_server() as moto_url, tempfile.TemporaryDirectory():
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        rows = [fanout_run(moto_url, args, int(c)) for c in args.channels.split(",")]
        header = [
            "channels",
            "Slack calls",
            "429s",
            "most posts/s in a channel",
            "shortest gap",
            "batches queued in",
            "drained in",
            "forwarder DynamoDB / SQS per batch",
            "senders DynamoDB / SQS per batch",
            "event source SQS per batch",  # a receive that got messages, and its delete (Lambda long-polls)
        ]
        print(f"\n{args.batches} batches, {args.senders} senders")
        print_table(header, rows)
        if args.backlog:
            print("\n" + head_of_line(moto_url, args))


if __name__ == "__main__":
    main()
