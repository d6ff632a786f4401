"""Lambda cold starts: process start to ack, from the built package, beside `import slack_bolt, boto3`.

    python bench/lambda_cold_start.py [--runs 15] [--package DIR] [--python PATH]

Each run is a fresh interpreter that sees only the package (`python -I -S -B`, the package first on
sys.path, as /var/task is on Lambda; nothing is written beside it, as Lambda's code directory is
read-only). It imports the handler and answers one event, timed by this process from spawning it to
reading the answer:

- `slack_handler`: a slash command signed with slack_sdk's SignatureVerifier (settings and the Slack
  secrets read from SSM, the DynamoDB store opened, the request verified, acked, and the lazy half
  handed to Lambda's Invoke, answered here with 202 as Lambda does);
- `logs_handler`: a CloudWatch Logs subscription batch (base64, gzip, JSON), queued in the table and
  posted to the Slack stand-in;
- `import bot.lambda_handler` alone, and the baseline: `import slack_bolt, boto3` alone.

Both the package as built (with bytecode) and the same package without its `__pycache__` directories
(as it was built before) are measured, round-robin so that both see the same machine load. AWS is
moto's server and Slack the stand-in, both on 127.0.0.1; everything is stopped before the script exits.
Without --package, the package is built for the children's interpreter (deploy/build_lambda.py --local
run by it): this one, or --python's, e.g. the Lambda runtime's Python version where this machine has it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from bot.local.aws import moto_server, use_fake_credentials  # noqa: E402
from bot.local.slack_requests import slash_command_form  # noqa: E402
from bot.local.slack_standin import SlackStandIn  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "C0LOGS1234"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:opsbot-slack-bot"

# The child: read the event, then (timed from its spawn) import and answer it.
CHILD = """
import json, sys, time, types
package, mode = sys.argv[1], sys.argv[2]
event = json.loads(sys.stdin.readline())
sys.path.insert(0, package)
if mode == "bare":
    import slack_bolt, boto3
    print("imported", time.process_time(), flush=True)
elif mode == "import":
    import bot.lambda_handler
    print("imported", time.process_time(), flush=True)
else:
    import bot.lambda_handler as entry
    context = types.SimpleNamespace(
        function_name="opsbot-slack-bot", invoked_function_arn=sys.argv[3],
        get_remaining_time_in_millis=lambda: 300_000,
    )
    if mode == "slack":
        print(entry.slack_handler(event, context)["statusCode"], time.process_time(), flush=True)
    else:
        print(entry.logs_handler(event, context)["status"], time.process_time(), flush=True)
"""
EXPECTED = {"bare": "imported", "import": "imported", "slack": "200", "logs": "posted"}


class LambdaInvokeStub(ThreadingHTTPServer):
    """Lambda's Invoke, answered 202 as for InvocationType=Event; counts the lazy halves handed over."""

    def __init__(self) -> None:
        self.invoked = 0
        super().__init__(("127.0.0.1", 0), _InvokeHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _InvokeHandler(BaseHTTPRequestHandler):
    server: LambdaInvokeStub

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.invoked += 1
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def slash_event(n: int, response_url: str) -> dict[str, Any]:
    body = urlencode(slash_command_form("/eb-ip", f"bench-env-{n}", response_url))
    ts = str(int(time.time()))
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or "",
    }
    return {
        "version": "2.0",
        "rawPath": "/slack/events",
        "headers": headers,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}, "stage": "$default"},
    }


def logs_event(n: int) -> dict[str, Any]:
    now = int(time.time() * 1000)
    batch = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/orders",
        "logStream": "2026/12/08/[$LATEST]bench",
        "subscriptionFilters": ["opsbot-forwarder"],
        "logEvents": [
            {"id": f"{n:056d}", "timestamp": now, "message": f"ERROR order {n} failed: card declined\n"},
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(batch).encode())).decode()
    return {"awslogs": {"data": data}}


def timed_run(python: str, package: Path, mode: str, event: dict[str, Any], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning the process to reading its answer, and the CPU seconds it used until then
    (steadier than the first on a machine that other work shares)."""
    command = [python, "-I", "-S", "-B", "-c", CHILD, str(package), mode, FUNCTION_ARN]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(event) + "\n")
    child.stdin.close()
    answer, _, cpu = child.stdout.readline().strip().partition(" ")
    elapsed = time.perf_counter() - started
    assert child.stderr is not None
    errors = child.stderr.read()
    child.wait(timeout=120)
    if child.returncode != 0 or answer != EXPECTED[mode]:
        raise SystemExit(f"{mode} run failed ({answer!r}, exit {child.returncode}): {errors.strip()[-2000:]}")
    return elapsed, float(cpu)


def without_bytecode(package: Path, into: Path) -> Path:
    shutil.copytree(package, into, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return into


@contextlib.contextmanager
def built_package(given: Path | None, python: str) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        out = Path(tmp) / "lambda"
        subprocess.run([python, str(ROOT / "deploy/build_lambda.py"), "--local", "--out", str(out)], check=True)
        yield out


def figures(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"min {min(ms):5.0f}  median {statistics.median(ms):5.0f}  max {max(ms):5.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per case (default 15)")
    parser.add_argument("--package", type=Path, help="a package built by deploy/build_lambda.py --local")
    parser.add_argument("--python", default=sys.executable, help="the children's interpreter (default: this one)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
    with contextlib.ExitStack() as stack:
        package = stack.enter_context(built_package(args.package, args.python))
        plain = without_bytecode(package, Path(stack.enter_context(tempfile.TemporaryDirectory())) / "lambda")
        moto = stack.enter_context(moto_server())
        use_fake_credentials(moto)
        slack = stack.enter_context(SlackStandIn())
        invoke = LambdaInvokeStub()
        threading.Thread(target=invoke.serve_forever, daemon=True).start()
        stack.callback(invoke.shutdown)

        table = "opsbot-bench-state"
        boto3.client("dynamodb").create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name="/opsbot/slack-bot-token", Value=slack.bot_token, Type="SecureString")
        ssm.put_parameter(Name="/opsbot/slack-signing-secret", Value=SECRET, Type="SecureString")
        env = {
            key: os.environ[key]
            for key in os.environ
            if key.startswith("AWS_") and key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")
        }
        env.update(
            AWS_ENDPOINT_URL_LAMBDA=invoke.url,
            AWS_LAMBDA_FUNCTION_NAME="opsbot-slack-bot",
            AWS_LAMBDA_LOG_LEVEL="WARN",  # the bench reads the answer only
            OPSBOT_STATE=f"dynamodb://{table}",
            OPSBOT_SLACK_TOKEN_PARAMETER="/opsbot/slack-bot-token",
            OPSBOT_SLACK_SIGNING_SECRET_PARAMETER="/opsbot/slack-signing-secret",
            OPSBOT_TAIL_CHANNEL=CHANNEL,
            SLACK_API_URL=slack.api_url,
        )

        cases = [
            (label, tree, mode)
            for label, tree in (("with bytecode", package), ("without bytecode", plain))
            for mode in ("bare", "import", "slack", "logs")
        ]
        times: dict[tuple[str, str], list[float]] = {(label, mode): [] for label, _, mode in cases}
        cpu: dict[tuple[str, str], list[float]] = {(label, mode): [] for label, _, mode in cases}
        n = 0
        for _ in range(args.runs):
            for label, tree, mode in cases:  # round-robin: every case sees the same load
                n += 1
                event = slash_event(n, slack.new_response_url()) if mode == "slack" else logs_event(n)
                elapsed, used = timed_run(args.python, tree, mode, event, env)
                times[(label, mode)].append(elapsed)
                cpu[(label, mode)].append(used)
        slash_runs = sum(1 for _, _, mode in cases if mode == "slack") * args.runs
        assert invoke.invoked == slash_runs, (invoke.invoked, slash_runs)  # every ack handed its work on
        assert len(slack.messages(CHANNEL)) == sum(1 for _, _, m in cases if m == "logs") * args.runs

    version = subprocess.run([args.python, "-VV"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    print(f"children: {version}; {platform.machine()}, {os.cpu_count()} CPUs; {args.runs} runs each")
    names = {
        "bare": "import slack_bolt, boto3 (baseline)",
        "import": "import bot.lambda_handler",
        "slack": "slack_handler: start to ack",
        "logs": "logs_handler: start to posted",
    }
    for label in ("with bytecode", "without bytecode"):
        for kind, table in (("wall clock, spawn to answer", times), ("CPU time of the process", cpu)):
            print(f"\n{label}, {kind}:")
            for mode in ("bare", "import", "slack", "logs"):
                print(f"  {names[mode]:38} {figures(table[(label, mode)])}")
            bare, imported = (statistics.median(table[(label, m)]) for m in ("bare", "import"))
            print(f"  import, median over baseline median:  {imported / bare:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
