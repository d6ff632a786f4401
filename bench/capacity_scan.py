"""Calls and wall time to attribute Lambda code storage: the original algorithm against ours.

    python bench/capacity_scan.py [--functions 2000] [--versions 5] [--latency-ms 20] [--rate 0]

Builds an account on a moto server (every function with `--versions` published versions plus
$LATEST, and a few layers), then reads its code storage twice through the same proxy:

- original: ListFunctions, then ListVersionsByFunction for every function (lambda-janitor,
  the original opsbot monitor);
- ours: ListFunctions with FunctionVersion=ALL (every version, 50 a page) and the layers, as
  `commands.lambda_capacity.scan` does; and, separately, the whole `/lambda-capacity` scan, whose prune
  estimate adds ListEventSourceMappings and one ListAliases per function with more than K versions.

moto answers every listing in one response (it ignores MaxItems and Marker), which would flatter
both algorithms equally and hide the page count that matters. So the proxy pages
ListFunctions and ListVersionsByFunction the way Lambda does, 50 items a page with NextMarker,
from one snapshot of moto's full answer; every page is a counted, delayed request. moto does
implement FunctionVersion=ALL (checked at start; the script stops if not). The same proxy can
also throttle like Lambda (429 TooManyRequestsException above a request rate); the tests use that.
Both algorithms must find the same number of bytes, or the script fails.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from bot.local.aws import moto_server, use_fake_credentials  # noqa: E402

PAGE_SIZE = 50
_PAGED = {"ListFunctions": "Functions", "ListVersionsByFunction": "Versions"}


def operation_of(method: str, path: str) -> str:
    """The Lambda operation a REST request stands for (enough of them for this benchmark)."""
    parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")][1:]
    if parts[:1] == ["account-settings"]:
        return "GetAccountSettings"
    if parts[:1] == ["event-source-mappings"]:
        return "ListEventSourceMappings" if method == "GET" else f"{method}EventSourceMapping"
    if parts[:1] == ["layers"]:
        return {1: "ListLayers", 3: "ListLayerVersions", 4: "GetLayerVersion"}.get(len(parts), f"{method} layers")
    if parts[:1] == ["functions"]:
        if len(parts) == 1:
            return "ListFunctions" if method == "GET" else "CreateFunction"
        if len(parts) == 2:
            return {"GET": "GetFunction", "DELETE": "DeleteFunction"}.get(method, f"{method} function")
        if parts[2] == "versions":
            return "ListVersionsByFunction" if method == "GET" else "PublishVersion"
        if parts[2] == "aliases" and len(parts) == 3:
            return "ListAliases" if method == "GET" else "CreateAlias"
    return f"{method} {'/'.join(parts)}"


class LambdaProxy(ThreadingHTTPServer):
    """moto behind a loopback proxy that behaves more like Lambda: delays, pages, throttles, counts.

    `quota`: requests per second above which a request is answered 429 TooManyRequestsException
    (a sliding one-second window, as a stand-in for Lambda's control-plane quota).
    """

    daemon_threads = True

    def __init__(self, upstream_port: int, latency: float = 0.0, quota: float | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.latency = latency
        self.quota = quota
        self.calls: Counter[str] = Counter()
        self.arrivals: list[float] = []  # time.monotonic() of every request, throttled ones included
        self.throttled = 0
        self._window: deque[float] = deque()
        self._snapshots: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def __enter__(self) -> LambdaProxy:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.arrivals.clear()
            self.throttled = 0

    def admit(self, operation: str) -> bool:
        """Count the request; False if it is over the quota (to be answered 429)."""
        now = time.monotonic()
        with self._lock:
            self.arrivals.append(now)
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if self.quota is not None and len(self._window) >= self.quota:
                self.throttled += 1
                return False
            self._window.append(now)
            self.calls[operation] += 1
            return True

    def snapshot(self, items: list[Any]) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._snapshots[key] = items
        return key

    def page_of(self, key: str) -> list[Any] | None:
        with self._lock:
            return self._snapshots.get(key)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: LambdaProxy
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs: +40 ms a request

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = operation_of(self.command, self.path)
        if not self.server.admit(operation):
            answer = b'{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}'
            return self._send(429, [("x-amzn-ErrorType", "TooManyRequestsException")], answer)
        time.sleep(self.server.latency)
        if operation in _PAGED and self.command == "GET":
            return self._page(operation, body)
        status, headers, data = self._upstream(self.path, body)
        self._send(status, headers, data)

    def _page(self, operation: str, body: bytes) -> None:
        """One page of at most 50 items from a snapshot of moto's whole listing, as Lambda pages."""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        marker = query.pop("Marker", None)
        size = min(int(query.pop("MaxItems", PAGE_SIZE)), PAGE_SIZE)
        key, offset = marker.rsplit(":", 1) if marker else ("", "0")
        items = self.server.page_of(key) if key else None
        headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
        if items is None:
            status, headers, data = self._upstream(f"{url.path}?{urlencode(query)}", body)
            if status != 200:
                return self._send(status, headers, data)
            items = json.loads(data)[_PAGED[operation]]
            key = self.server.snapshot(items)
        start = int(offset)
        answer: dict[str, Any] = {_PAGED[operation]: items[start : start + size]}
        if start + size < len(items):
            answer["NextMarker"] = f"{key}:{start + size}"
        self._send(200, [("Content-Type", "application/json")], json.dumps(answer).encode())

    def _upstream(self, path: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
            conn.request(self.command, path, body=body or None, headers=headers)
            reply = conn.getresponse()
            return reply.status, reply.getheaders(), reply.read()
        finally:
            conn.close()

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- the account


def zip_bytes(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("handler.py", "x" * n)
    return buf.getvalue()


def build_account(moto_url: str, functions: int, versions: int, workers: int = 4) -> None:
    """`functions` functions with `versions` published versions each, and 3 layers of 2 versions."""
    lam = boto3.client("lambda", endpoint_url=moto_url)
    iam = boto3.client("iam", endpoint_url=moto_url)
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def make(i: int) -> None:
        name = f"fn-{i:05d}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.main",
            Code={"ZipFile": zip_bytes(100 + i % 400)},
            Publish=True,
        )
        for v in range(1, versions):
            lam.update_function_configuration(FunctionName=name, Description=f"v{v}")
            lam.publish_version(FunctionName=name)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(make, range(functions)))
    for i in range(3):
        for v in range(2):
            lam.publish_layer_version(LayerName=f"layer-{i}", Content={"ZipFile": zip_bytes(1000 * (i + 1) + v)})


# -- the two algorithms


def original_scan(client: Any) -> tuple[int, int]:
    """ListFunctions, then ListVersionsByFunction per function: (bytes, versions)."""
    total = count = 0
    for page in client.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            for vpage in client.get_paginator("list_versions_by_function").paginate(FunctionName=fn["FunctionName"]):
                for version in vpage["Versions"]:
                    total += version["CodeSize"]
                    count += 1
    return total, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--functions", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=5, help="published versions per function")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every AWS request")
    parser.add_argument("--rate", type=float, default=0.0, help="client-side limit for both runs, req/s (0: none)")
    parser.add_argument("--keep", type=int, default=3, help="K for the prune estimate of the full scan")
    parser.add_argument("--alias-budget", type=int, default=100, help="ListAliases the estimate may spend")
    args = parser.parse_args(argv)

    use_fake_credentials()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as moto_url:
        try:
            return compare(args, moto_url)
        finally:
            os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)


def compare(args: argparse.Namespace, moto_url: str) -> int:
    """Build the account on moto, then run both algorithms through the same paging proxy."""
    from bot.aws import AwsClients
    from bot.aws.pacing import TokenBucket, pace_client
    from commands.lambda_capacity.scan import (
        CallCount,
        lambda_client,
        list_function_storage,
        list_layer_storage,
        scan_region,
    )

    moto_port = int(moto_url.rsplit(":", 1)[1])
    started = time.monotonic()
    build_account(moto_url, args.functions, args.versions)
    built = time.monotonic() - started
    probe = boto3.client("lambda", endpoint_url=moto_url).list_functions(FunctionVersion="ALL", MaxItems=5)
    if not any(f["Version"] != "$LATEST" for f in probe["Functions"]):
        print("moto does not return published versions for FunctionVersion=ALL; nothing honest to compare.")
        return 2
    print(
        f"account: {args.functions:,} functions × ({args.versions} versions + $LATEST), 3 layers × 2 versions; "
        f"built on moto in {built:.1f} s"
    )
    rate = args.rate or 1e9
    with LambdaProxy(moto_port, latency=args.latency_ms / 1000) as proxy:
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = proxy.url
        config = Config(retries={"mode": "adaptive", "max_attempts": 8})
        plain = boto3.client("lambda", endpoint_url=proxy.url, config=config)
        pace_client(plain, TokenBucket(rate))
        results = []

        def run(label: str, fn: Any) -> int:
            proxy.reset_counts()
            t0 = time.monotonic()
            total = fn()
            elapsed = time.monotonic() - t0
            calls = sum(proxy.calls.values())
            results.append((label, calls, elapsed, dict(proxy.calls)))
            return int(total)

        def original() -> int:
            layers = list_layer_storage(plain, CallCount())  # layers read the same way in both runs
            return original_scan(plain)[0] + sum(lv.code_size for lv in layers)

        original_bytes = run("original: ListFunctions + ListVersionsByFunction per function", original)
        aws = AwsClients()

        def ours() -> int:
            client = lambda_client(aws, "us-east-1", rate)
            calls = CallCount()
            functions = list_function_storage(client, calls)
            layers = list_layer_storage(client, calls)
            return sum(f.code_bytes for f in functions) + sum(lv.code_size for lv in layers)

        ours_bytes = run("ours: ListFunctions(FunctionVersion=ALL) + layers", ours)
        full = run(
            f"ours, whole /lambda-capacity answer (estimate: K={args.keep}, ≤ {args.alias_budget} ListAliases)",
            lambda: (
                scan_region(
                    aws, "us-east-1", now=time.time(), rate=rate, keep=args.keep, alias_budget=args.alias_budget
                ).listed_bytes
            ),
        )
        plan = run(
            f"ours, an exact prune plan for the region (every function's aliases, K={args.keep})",
            lambda: scan_region(aws, "us-east-1", now=time.time(), rate=rate, keep=args.keep).listed_bytes,
        )
    if not original_bytes == ours_bytes == full == plan:
        print(f"MISMATCH: original {original_bytes:,} bytes, ours {ours_bytes:,}, full scan {full:,}")
        return 1
    print(f"both found {ours_bytes:,} bytes (function versions + layers); latency {args.latency_ms:g} ms/request")
    print(f"client-side rate limit: {args.rate:g} req/s" if args.rate else "client-side rate limit: none")
    base_calls, base_time = results[0][1], results[0][2]
    for label, calls, elapsed, by_op in results:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(by_op.items()))
        print(f"\n{label}\n  {calls:,} calls, {elapsed:.1f} s wall; at Lambda's 15 req/s quota ≥ {calls / 15:.0f} s")
        print(f"  {ops}")
        print(f"  vs original: {base_calls / calls:.1f}× fewer calls, {base_time / elapsed:.1f}× faster")
    print("\nThe scheduled monitor reads usage with 1 call (GetAccountSettings); moto lacks it (HTTP 404).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
