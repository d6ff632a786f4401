"""Log groups seeded in moto from the recorded samples, moved to just before now."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.aws import AwsClients

DATA = Path(__file__).parent / "data"
Seeder = Callable[..., int]


def sample_rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]


def put_events(aws: AwsClients, group: str, rows: list[dict[str, Any]]) -> None:
    """PutLogEvents per stream, in time order (one request must be in order)."""
    logs = aws.client("logs")
    streams: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["timestamp"]):
        streams.setdefault(row["stream"], []).append({"timestamp": row["timestamp"], "message": row["message"]})
    for stream, events in streams.items():
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


@pytest.fixture
def seed_group(moto: str, aws_clients: AwsClients) -> Seeder:
    """seed_group(group, *sample files, ago_s=300, retention=None): the samples' events, the first
    `ago_s` seconds ago; returns that first event's timestamp in ms."""

    def seed(group: str, *samples: str, ago_s: float = 300, retention: int | None = None) -> int:
        logs = aws_clients.client("logs")
        logs.create_log_group(logGroupName=group)
        if retention:
            logs.put_retention_policy(logGroupName=group, retentionInDays=retention)
        rows = [row for name in samples for row in sample_rows(name)]
        first = int((time.time() - ago_s) * 1000)
        shift = first - min(r["timestamp"] for r in rows) if rows else 0
        put_events(aws_clients, group, [{**r, "timestamp": r["timestamp"] + shift} for r in rows])
        return first

    return seed
