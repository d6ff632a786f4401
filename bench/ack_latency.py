"""Ack latency while AWS answers slowly: opsbot against a Bolt app written like Slack's starter template.

    python bench/ack_latency.py [--concurrency 20] [--rounds 3] [--aws-delay 2.0]

opsbot acks on the request thread and does the work in lazy listeners on a pool of its own; the
baseline is `App(...)` with Bolt's defaults (process_before_response=False, 5 listener threads)
and one listener that acks, asks AWS and responds, as the starter template's sample_command does.
Both are served by waitress with the same thread count, against the same Slack stand-in and the
same moto server behind a proxy that delays every AWS request. Slack drops an ack after 3 s.
Everything listens on 127.0.0.1 only and is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import waitress  # noqa: E402
from slack_bolt import Ack, App, Respond  # noqa: E402
from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.aws import AwsClients  # noqa: E402
from bot.http import OpsbotWsgi  # noqa: E402
from bot.local.aws import moto_server, use_fake_credentials  # noqa: E402
from bot.local.slack_requests import Delivery, send_signed, slash_command_form  # noqa: E402
from bot.local.slack_standin import SlackStandIn  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack.app import build_app  # noqa: E402
from commands import COMMANDS  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-standin"
ENV_NAME = "bench-env"
SLACK_ACK_LIMIT = 3.0  # seconds Slack waits for the HTTP answer to a slash command
Wsgi = Callable[..., Any]


class _DelayingProxy(BaseHTTPRequestHandler):
    """Forwards each request to moto after sleeping: AWS that answers slowly."""

    server: _ProxyServer

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.count()
        time.sleep(self.server.delay)
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.moto_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, moto_port: int, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _DelayingProxy)
        self.moto_port = moto_port
        self.delay = delay
        self.requests = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.requests += 1


@contextlib.contextmanager
def slow_aws(delay: float) -> Iterator[_ProxyServer]:
    """moto seeded with an EB environment, behind the delaying proxy; boto3 is pointed at the proxy."""
    use_fake_credentials()
    with moto_server() as moto_url:
        _seed(moto_url)
        proxy = _ProxyServer(int(moto_url.rsplit(":", 1)[1]), delay)
        threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{proxy.server_port}"
        try:
            yield proxy
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            proxy.shutdown()
            proxy.server_close()


def _seed(moto_url: str) -> None:
    # Straight to moto, not through the proxy: seeding is not what we measure.
    eb = boto3.client("elasticbeanstalk", endpoint_url=moto_url)
    eb.create_application(ApplicationName="bench-app")
    eb.create_environment(
        ApplicationName="bench-app",
        EnvironmentName=ENV_NAME,
        SolutionStackName="64bit Amazon Linux 2023 v4.0.0 running Python 3.11",
    )
    boto3.client("ec2", endpoint_url=moto_url).run_instances(
        ImageId="ami-12c6146b",
        MinCount=3,
        MaxCount=3,
        InstanceType="t3.micro",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "elasticbeanstalk:environment-name", "Value": ENV_NAME}]}
        ],
    )


@contextlib.contextmanager
def served(wsgi: Wsgi, threads: int) -> Iterator[str]:
    server = waitress.create_server(wsgi, host="127.0.0.1", port=0, threads=threads, ident="bench")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events"
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=5)  # close() alone leaves the worker threads running
        thread.join(timeout=5)


@dataclass
class Contender:
    name: str
    wsgi: Wsgi
    http_threads: int
    executor: Executor  # Bolt's listener executor, shut down after the run


def opsbot(standin: SlackStandIn, state_dir: str) -> Contender:
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "OPSBOT_STATE": str(Path(state_dir) / "state.db"),
    }
    settings = load_settings(env)
    runtime = Runtime.from_settings(settings, AwsClients())
    app = build_app(runtime, COMMANDS)
    name = f"opsbot ({settings.worker_threads} lazy workers)"
    wsgi = OpsbotWsgi(runtime, app, COMMANDS)
    return Contender(name, wsgi, settings.http_threads, app.listener_runner.listener_executor)


def starter_template(standin: SlackStandIn, http_threads: int) -> Contender:
    """Bolt's defaults, as the starter template configures them; the token rides in the client."""
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=standin.api_url))
    ec2 = boto3.client("ec2")  # built once: boto3 clients are thread-safe, building one is not

    def handle(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        env = command["text"].strip()
        found = ec2.describe_instances(Filters=[{"Name": "tag:elasticbeanstalk:environment-name", "Values": [env]}])
        ips = [i.get("PrivateIpAddress", "?") for r in found["Reservations"] for i in r["Instances"]]
        respond(f"{env}: {', '.join(ips) or 'no instances'}")

    app.command("/eb-ip")(handle)
    return Contender(
        "starter template (5 threads)", SlackRequestHandler(app), http_threads, app.listener_runner.listener_executor
    )


@dataclass(frozen=True)
class Round:
    acks: list[Delivery]
    replies_after: float | None  # seconds from the first send to the last reply; None if some never came
    aws_requests: int


def fire_round(events_url: str, standin: SlackStandIn, proxy: _ProxyServer, n: int, timeout: float) -> Round:
    urls = [standin.new_response_url() for _ in range(n)]
    gate = threading.Barrier(n)
    aws_before = proxy.requests

    def one(url: str) -> Delivery:
        gate.wait(timeout=10)
        started = time.monotonic()
        try:
            return send_signed(events_url, SECRET, slash_command_form("/eb-ip", ENV_NAME, url))
        except (urllib.error.URLError, OSError) as exc:  # a reset or timeout is a lost ack too
            return Delivery(0, str(exc), time.monotonic() - started)

    started = time.monotonic()
    with ThreadPoolExecutor(n, thread_name_prefix="slack") as pool:
        acks = list(pool.map(one, urls, timeout=60))
    wanted = {url.rsplit("/", 1)[1] for url in urls}
    deadline = started + timeout
    while True:
        arrived = {c.params.get("response_url_id"): c.at for c in standin.calls_to("response_url")}
        if wanted <= arrived.keys():
            return Round(acks, max(arrived[i] for i in wanted) - started, proxy.requests - aws_before)
        if time.monotonic() > deadline:
            return Round(acks, None, proxy.requests - aws_before)
        time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(contender: Contender, standin: SlackStandIn, proxy: _ProxyServer, args: argparse.Namespace) -> list[str]:
    """One table row; the last reply's text goes last, for the reader to see what users got."""
    try:
        with served(contender.wsgi, contender.http_threads) as events_url:
            fire_round(events_url, standin, proxy, 1, args.reply_timeout)  # warm-up: clients, auth.test
            rounds = [
                fire_round(events_url, standin, proxy, args.concurrency, args.reply_timeout) for _ in range(args.rounds)
            ]
    finally:
        contender.executor.shutdown(wait=False, cancel_futures=True)
    acks = [a for r in rounds for a in r.acks]
    seconds = [a.seconds for a in acks]
    kept = sum(1 for a in acks if a.status == 200 and a.seconds < SLACK_ACK_LIMIT)
    replies = [r.replies_after for r in rounds]
    worst = "timeout" if None in replies else f"{max(r for r in replies if r is not None):.1f} s"
    per_command = sum(r.aws_requests for r in rounds) / len(acks)
    return [
        contender.name,
        str(len(acks)),
        str(kept),
        str(len(acks) - kept),
        f"{percentile(seconds, 50) * 1000:.0f} ms",
        f"{percentile(seconds, 99) * 1000:.0f} ms",
        f"{max(seconds) * 1000:.0f} ms",
        worst,
        f"{per_command:.1f}",
        last_reply(standin),
    ]


def last_reply(standin: SlackStandIn) -> str:
    replies = standin.calls_to("response_url")
    return str(replies[-1].params.get("text", ""))[:100] if replies else "(none)"


HEADER = ["app", "requests", "acks < 3 s", "lost", "p50 ack", "p99 ack", "max ack", "all replies in", "AWS req/cmd"]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    for row in [HEADER, ["-" * w for w in widths], *rows]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))


def eb_ip_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        log = subprocess.run(
            ["git", "log", "-1", "--format=%h %s", "--", "commands/eb_ip"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return log.stdout.strip()[:60] or "uncommitted"
    return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=20, help="slash commands fired at once per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--aws-delay", type=float, default=2.0, help="seconds added to every AWS request")
    parser.add_argument("--reply-timeout", type=float, default=45.0, help="seconds to wait for a round's replies")
    parser.add_argument("--verbose", action="store_true", help="show warnings from Bolt, botocore, urllib3")
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request

    print("$ python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))
    print(
        f"concurrency={args.concurrency} rounds={args.rounds} aws-delay={args.aws_delay}s "
        f"reply-timeout={args.reply_timeout}s; python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"commands/eb_ip at {eb_ip_version()}"
    )
    print(f"each app: 1 warm-up command, then {args.rounds} x {args.concurrency} concurrent `/eb-ip {ENV_NAME}`")
    print("all in channel C0DEMO; an ack that is not 200 within 3 s is lost (Slack shows the user an error)\n")
    rows = []
    with slow_aws(args.aws_delay) as proxy, tempfile.TemporaryDirectory(prefix="opsbot-bench-") as state_dir:
        with SlackStandIn(bot_token=TOKEN) as standin:
            bot = opsbot(standin, state_dir)
            rows.append(measure(bot, standin, proxy, args))
        with SlackStandIn(bot_token=TOKEN) as standin:
            rows.append(measure(starter_template(standin, bot.http_threads), standin, proxy, args))
    print_table([row[:-1] for row in rows])
    for row in rows:
        print(f"\nlast reply from {row[0]}: {row[-1]!r}", end="")
    print()


if __name__ == "__main__":
    main()
