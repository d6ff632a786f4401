"""Lambda log groups for the demo's /tail and forwarder scenes, on moto, in both of Lambda's log formats.

`orders` logs in the classic text format (Python's runtime): a cold start, an ok invocation, one
that fails with a traceback and one that times out. `orders-json` logs with
`LoggingConfig.LogFormat=JSON`: `platform.*` records and JSON application logs with `level` and
`requestId`, a cold start, an unhandled exception and an out-of-memory kill. Every line is written
as the Lambda runtime writes it, only the times are the demo's: minutes before `now`.

`subscription_event` builds what CloudWatch Logs hands a subscription-filter Lambda (gzip, then
base64, of the batch's JSON), from events as moto returns them, so the forwarder sees real ids.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.aws import AwsClients
from bot.local.aws import require_local

ORDERS = "orders"
ORDERS_JSON = "orders-json"
ACCOUNT = "123456789012"
# One stream per execution environment: `<its first day>/[<version>]<environment id>`, as Lambda names them.
ORDERS_ENVIRONMENT = "5e1f0c2d9a8b4e7f8c6d5b4a39281706"
JSON_ENVIRONMENTS = ("0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5", "f9e8d7c6b5a44392a1b0c9d8e7f6a5b4")
_RUNTIME_ARN = "arn:aws:lambda:us-east-1::runtime:7b620fc2e66107a1046b140b9d320295811af3ad5d4c6a011fad1fa65127e9e6"


@dataclass(frozen=True)
class LogRow:
    stream: str
    timestamp_ms: int
    message: str


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def request_id(function: str, n: int) -> str:
    """The demo's request ids: the function's number and the invocation's, readable in a transcript."""
    return f"{'7c0a' if function == ORDERS else '9e1b'}{n:04d}-4d5e-4f90-a1b2-c3d4e5f6a7b8"


def stream_name(at_ms: int, environment: str, version: str = "$LATEST") -> str:
    return f"{datetime.fromtimestamp(at_ms / 1000, tz=UTC):%Y/%m/%d}/[{version}]{environment}"


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def classic_invocation(at_ms: int, n: int, outcome: str = "ok", *, stream: str, cold: bool = False) -> list[LogRow]:
    """One invocation of `orders` in the classic text format; `outcome` is ok, error or timeout."""
    rid = request_id(ORDERS, n)
    rows: list[tuple[int, str]] = []
    if cold:
        rows.append((-450, f"INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: {_RUNTIME_ARN}\n"))
    rows += [
        (0, f"START RequestId: {rid} Version: $LATEST\n"),
        (2, f"[INFO]\t{_iso(at_ms + 2)}\t{rid}\tcharging order {1040 + n} ({n + 1} items)\n"),
    ]
    if outcome == "ok":
        rows.append((30, f"[INFO]\t{_iso(at_ms + 30)}\t{rid}\torder {1040 + n} charged\n"))
        end, report = 35, "Duration: 34.61 ms\tBilled Duration: 35 ms\tMemory Size: 256 MB\tMax Memory Used: 91 MB\t"
        if cold:
            report += "Init Duration: 412.77 ms\t"
    elif outcome == "error":
        rows += [
            (40, f"[ERROR]\t{_iso(at_ms + 40)}\t{rid}\tpayment gateway answered 502 for order {1040 + n}\n"),
            (
                41,
                "[ERROR] KeyError: 'card_token'\rTraceback (most recent call last):\r"
                '  File "/var/task/app.py", line 27, in handler\r    token = order["card_token"]\n',
            ),
        ]
        end, report = 42, "Duration: 41.90 ms\tBilled Duration: 42 ms\tMemory Size: 256 MB\tMax Memory Used: 92 MB\t"
    elif outcome == "timeout":
        rows += [
            (5, f"[WARNING]\t{_iso(at_ms + 5)}\t{rid}\tinventory service slow, retrying\n"),
            (3002, f"{_iso(at_ms + 3002)} {rid} Task timed out after 3.00 seconds\n"),
        ]
        end = 3003
        report = "Duration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\tMax Memory Used: 95 MB\t"
        report += "Status: timeout"
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    rows += [(end, f"END RequestId: {rid}\n"), (end, f"REPORT RequestId: {rid}\t{report}\n")]
    return [LogRow(stream, at_ms + offset, message) for offset, message in rows]


def _record(at_ms: int, kind: str, record: Mapping[str, Any]) -> str:
    return json.dumps({"time": _iso(at_ms), "type": kind, "record": record}, separators=(",", ":"))


def _app_log(at_ms: int, level: str, rid: str, message: object, **extra: object) -> str:
    body = {"timestamp": _iso(at_ms), "level": level, "message": message, "logger": "root", "requestId": rid}
    return json.dumps({**body, **extra}, separators=(",", ":"))


def json_invocation(at_ms: int, n: int, outcome: str = "ok", *, stream: str, cold: bool = False) -> list[LogRow]:
    """One invocation of `orders-json` in Lambda's JSON log format; `outcome` is ok, error or oom."""
    rid = request_id(ORDERS_JSON, n)
    rows: list[tuple[int, str]] = []
    if cold:
        init = {
            "initializationType": "on-demand",
            "phase": "init",
            "runtimeVersion": "python:3.12.v38",
            "runtimeVersionArn": _RUNTIME_ARN,
            "functionName": ORDERS_JSON,
            "functionVersion": "$LATEST",
        }
        rows.append((-300, _record(at_ms - 300, "platform.initStart", init)))
    rows.append((0, _record(at_ms, "platform.start", {"requestId": rid, "version": "$LATEST"})))
    metrics: dict[str, Any] = {"memorySizeMB": 512}
    if outcome == "ok":
        rows.append((3, _app_log(at_ms + 3, "INFO", rid, "order accepted", orderId=2040 + n, items=["book", "pen"])))
        status, error_type, duration = "success", None, 20.11
        metrics["maxMemoryUsedMB"] = 88
        if cold:
            metrics["initDurationMs"] = 301.5
    elif outcome == "error":
        rows.append((2, _app_log(at_ms + 2, "WARN", rid, "stock for sku 8812 is low")))
        exception = {
            "errorMessage": "division by zero",
            "errorType": "ZeroDivisionError",
            "requestId": rid,
            "stackTrace": ['  File "/var/task/app.py", line 9, in handler\n    return total / count\n'],
        }
        rows.append((5, _app_log(at_ms + 5, "ERROR", rid, exception)))
        status, error_type, duration = "error", "ZeroDivisionError", 6.2
        metrics["maxMemoryUsedMB"] = 89
    elif outcome == "oom":
        rows.append((4, _app_log(at_ms + 4, "INFO", rid, "loading the monthly report (2.1 GB) into memory")))
        status, error_type, duration = "error", "Runtime.OutOfMemory", 900.0
        metrics["maxMemoryUsedMB"] = 512
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    metrics.update(durationMs=duration, billedDurationMs=round(duration + 0.5))
    end = round(duration) + 1
    done: dict[str, Any] = {"requestId": rid, "status": status}
    report: dict[str, Any] = {"requestId": rid, "metrics": metrics, "status": status}
    if error_type:
        done["errorType"] = report["errorType"] = error_type
    rows.append((end, _record(at_ms + end, "platform.runtimeDone", done)))
    rows.append((end + 1, _record(at_ms + end + 1, "platform.report", report)))
    return [LogRow(stream, at_ms + offset, message) for offset, message in rows]


def orders_rows(now_ms: int) -> list[LogRow]:
    """`orders`, nine to three minutes before `now_ms`: cold start and ok, ok, error, timeout."""
    minute = 60_000
    stream = stream_name(now_ms - 9 * minute, ORDERS_ENVIRONMENT)
    return [
        *classic_invocation(now_ms - 9 * minute, 1, cold=True, stream=stream),
        *classic_invocation(now_ms - 7 * minute, 2, stream=stream),
        *classic_invocation(now_ms - 5 * minute, 3, "error", stream=stream),
        *classic_invocation(now_ms - 3 * minute, 4, "timeout", stream=stream),
    ]


def orders_json_rows(now_ms: int) -> list[LogRow]:
    """`orders-json`, eight to four minutes before `now_ms`: cold start and ok, an exception, out of memory
    (in a second environment, of version 3)."""
    minute = 60_000
    first = stream_name(now_ms - 8 * minute, JSON_ENVIRONMENTS[0])
    second = stream_name(now_ms - 4 * minute, JSON_ENVIRONMENTS[1], version="3")
    return [
        *json_invocation(now_ms - 8 * minute, 1, cold=True, stream=first),
        *json_invocation(now_ms - 6 * minute, 2, "error", stream=first),
        *json_invocation(now_ms - 4 * minute, 3, "oom", stream=second),
    ]


def put_rows(aws: AwsClients, group: str, rows: Iterable[LogRow]) -> None:
    """PutLogEvents per stream, in time order (as one request must be); creates the group and streams."""
    require_local()
    logs = aws.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    streams: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r.timestamp_ms):
        streams.setdefault(row.stream, []).append({"timestamp": row.timestamp_ms, "message": row.message})
    for stream, events in streams.items():
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def seed_demo_logs(aws: AwsClients, now: datetime) -> None:
    """Both functions' log groups, their events minutes before `now` (the demo's clock); once."""
    require_local()
    if aws.client("logs").describe_log_groups(logGroupNamePrefix=log_group(ORDERS)).get("logGroups"):
        return  # already seeded
    now_ms = int(now.timestamp() * 1000)
    put_rows(aws, log_group(ORDERS), orders_rows(now_ms))
    put_rows(aws, log_group(ORDERS_JSON), orders_json_rows(now_ms))


def log_streams(aws: AwsClients, group: str) -> list[str]:
    """The group's stream names, in name order."""
    pages = aws.client("logs").get_paginator("describe_log_streams").paginate(logGroupName=group)
    return [stream["logStreamName"] for page in pages for stream in page.get("logStreams", ())]


def stored_events(aws: AwsClients, group: str, stream: str) -> list[dict[str, Any]]:
    """The stream's events as CloudWatch holds them (with their event ids), oldest first."""
    logs = aws.client("logs")
    events: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, logStreamNames=[stream]):
        events += page.get("events", ())
    return sorted(events, key=lambda e: int(e["timestamp"]))


def subscription_event(
    group: str, stream: str, events: Sequence[Mapping[str, Any]], *, filter_name: str = "opsbot"
) -> dict[str, Any]:
    """What CloudWatch Logs invokes a subscription filter's Lambda with: `{"awslogs": {"data": …}}`,
    the batch's JSON gzipped then base64-encoded. `events` carry `eventId` (as FilterLogEvents
    returns them) or `id`, `timestamp` and `message`."""
    body = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": [filter_name],
        "logEvents": [
            {"id": str(e.get("eventId") or e["id"]), "timestamp": int(e["timestamp"]), "message": str(e["message"])}
            for e in events
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}
