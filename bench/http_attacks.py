"""Red team: `opsbot serve --http` on loopback, attacked the ways a workspace user or a stranger can.

    python bench/http_attacks.py [--lookups 150] [--aws-delay 2.0] [--source DIR]

Starts the real server as a subprocess (`python -m bot.cli serve --http`, from --source, so an
older checkout can be measured the same way) against the Slack stand-in and moto behind a proxy
that delays every AWS request (bench/ack_latency.py's). Then:
1. acks and /healthz while `--lookups` route lookups, each with its own token, wait on AWS;
2. the server's memory and its longest log line after one unsigned 100 MB POST;
3. the status of each malformed request, and how often a replayed signed command ran.
Everything listens on 127.0.0.1 only and is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ack_latency import ENV_NAME, SLACK_ACK_LIMIT, percentile, slow_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.local.slack_requests import slash_command_form  # noqa: E402
from bot.local.slack_standin import SlackStandIn  # noqa: E402
from bot.state import Store  # noqa: E402
from bot.tokens import issue_token  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-standin"
Headers = dict[str, str]


def request(port: int, method: str, path: str, body: bytes = b"", headers: Headers | None = None) -> tuple[int, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except OSError:
        return 0, time.monotonic() - started
    finally:
        conn.close()


def signed(body: bytes, content_type: str = "application/x-www-form-urlencoded", ts: str | None = None) -> Headers:
    ts = ts or str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def command_body(standin: SlackStandIn, text: str = "help") -> tuple[bytes, str]:
    url = standin.new_response_url()
    return urllib.parse.urlencode(slash_command_form("/eb-ip", text, url)).encode(), url


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def acks_under_load(port: int, standin: SlackStandIn, tokens: list[str], n: int, text: str) -> None:
    lookups: list[int] = []
    path = f"/eb/{ENV_NAME}/ip"

    def lookup(token: str) -> None:
        lookups.append(request(port, "GET", path, headers={"Authorization": f"Bearer {token}"})[0])

    def ack(_: int) -> float:
        body, _url = command_body(standin, text)
        status, seconds = request(port, "POST", "/slack/events", body, signed(body))
        return seconds if status == 200 else float("inf")

    def health(_: int) -> float:
        status, seconds = request(port, "GET", "/healthz")
        return seconds if status == 200 else float("inf")

    quiet = [ack(i) for i in range(5)]
    threads = [threading.Thread(target=lookup, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    time.sleep(1.0)  # let them reach the server and wait on AWS
    with ThreadPoolExecutor(2 * n) as pool:
        healthz = pool.map(health, range(n))
        acks = list(pool.map(ack, range(n)))
        health_seconds = list(healthz)
    for t in threads:
        t.join(timeout=120)
    over = sum(1 for a in acks if a >= SLACK_ACK_LIMIT)
    print(f"1. {n} x `/eb-ip {text}` with {len(tokens)} slow lookups in flight (each its own token):")
    print(f"   idle: p50 {percentile(quiet, 50) * 1000:.0f} ms")
    print(
        f"   loaded: p50 {percentile(acks, 50) * 1000:.0f} ms, p99 {percentile(acks, 99) * 1000:.0f} ms, "
        f"max {max(acks) * 1000:.0f} ms, {over} of {n} over 3 s (a failed ack counts as over)"
    )
    print(f"   /healthz meanwhile: max {max(health_seconds) * 1000:.0f} ms")
    print(f"   the lookups got (status: count) {dict(sorted(Counter(lookups).items()))}")


def huge_unsigned_post(port: int, pid: int, log_path: Path, megabytes: int = 100) -> None:
    before = rss_mib(pid)[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    status = 0
    try:
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(megabytes << 20))
        conn.endheaders()
        chunk = b"x" * (1 << 20)
        for _ in range(megabytes):
            conn.send(chunk)
        status = conn.getresponse().status
    except OSError:  # refused early: the server closed while we were still sending
        try:
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            status = 0
    finally:
        conn.close()
    time.sleep(0.5)
    after, peak = rss_mib(pid)
    longest = max((len(line) for line in log_path.read_text(errors="replace").splitlines()), default=0)
    print(f"2. one unsigned {megabytes} MB POST: status {status}; server RSS {before:.0f} -> {after:.0f} MiB")
    print(f"   (peak {peak:.0f} MiB); longest log line {longest:,} characters")


def malformed(port: int, standin: SlackStandIn, log_path: Path) -> None:
    body, _ = command_body(standin)
    ts = str(int(time.time()))
    cases: list[tuple[str, str, bytes, Headers]] = [
        ("non-numeric timestamp", "POST", body, {**signed(body), "X-Slack-Request-Timestamp": "soon"}),
        ("JSON content type, form body (unsigned)", "POST", body, {"Content-Type": "application/json"}),
        ("JSON content type, form body (signed)", "POST", body, signed(body, "application/json")),
        ("missing headers", "POST", body, {}),
        ("empty body (signed)", "POST", b"", signed(b"")),
        ("huge header (100 KB)", "POST", body, {**signed(body), "X-Junk": "a" * 100_000}),
        ("bad percent-encoding (signed)", "POST", b"payload=%ZZ%", signed(b"payload=%ZZ%")),
        ("payload is not JSON (signed)", "POST", b"payload=nope", signed(b"payload=nope")),
        ("JSON array (signed)", "POST", b"[1]", signed(b"[1]", "application/json")),
        ("not UTF-8 (signed)", "POST", b"text=\xff\xfe", signed(b"text=\xff\xfe")),
        ("not UTF-8 (unsigned)", "POST", b"text=\xff\xfe", {"X-Slack-Request-Timestamp": ts}),
        ("Content-Length not a number", "POST", body, {**signed(body), "Content-Length": "ten"}),
        ("timestamp far in the past (signed)", "POST", body, signed(body, ts="1")),
        ("GET /slack/events", "GET", b"", {}),
        ("Bolt's lazy-only header (signed)", "POST", body, {**signed(body), "X-Slack-Bolt-Lazy-Only": "1"}),
    ]
    print("3. malformed requests (status):")
    fives = 0
    for name, method, payload, headers in cases:
        status, _ = request(port, method, "/slack/events", payload, headers)
        fives += status >= 500 or status == 0
        print(f"   {status:>3}  {name}")
    text = log_path.read_text(errors="replace")
    print(f"   {fives} of {len(cases)} answered 5xx (or no answer); tracebacks in the log: {text.count('Traceback')}")
    replay, url = command_body(standin)
    headers = signed(replay)
    statuses = [request(port, "POST", "/slack/events", replay, headers)[0] for _ in range(3)]
    time.sleep(3)
    replies = [c for c in standin.calls_to("response_url") if c.params.get("response_url_id") == url.rsplit("/", 1)[1]]
    print(f"   one signed command sent 3 times: acks {statuses}, ran {len(replies)} times")


def serve(source: Path, env: dict[str, str], log_path: Path, port: int) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)],
        cwd=source,
        env={**os.environ, **env, "PYTHONPATH": str(source)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while request(port, "GET", "/healthz")[0] != 200:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start; see {log_path}:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.2)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lookups", type=int, default=150)
    parser.add_argument("--commands", type=int, default=20, help="slash commands sent at once meanwhile")
    parser.add_argument("--text", default="help", help="their text (`token` issues a token each)")
    parser.add_argument("--aws-delay", type=float, default=2.0)
    parser.add_argument("--port", type=int, default=3917)
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose server to attack")
    args = parser.parse_args()
    print(f"$ python bench/http_attacks.py {' '.join(sys.argv[1:])}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    with (
        tempfile.TemporaryDirectory(prefix="opsbot-redteam-") as tmp,
        slow_aws(args.aws_delay),
        SlackStandIn(bot_token=TOKEN) as standin,
    ):
        state = str(Path(tmp) / "state.db")
        store = Store.open(state)
        tokens = [issue_token(store, f"U{n:06d}") for n in range(args.lookups)]
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": standin.api_url,
            "OPSBOT_STATE": state,
            "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        }
        log_path = Path(tmp) / "server.log"
        server = serve(args.source, env, log_path, args.port)
        try:
            print(f"server pid {server.pid}, source {args.source}, AWS delayed {args.aws_delay} s\n")
            acks_under_load(args.port, standin, tokens, args.commands, args.text)
            huge_unsigned_post(args.port, server.pid, log_path)
            malformed(args.port, standin, log_path)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
