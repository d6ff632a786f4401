"""A CloudWatch Logs subscription payload, decoded: base64, then gzip, then JSON.

The forwarder Lambda gets `{"awslogs": {"data": …}}`. Everything that can go wrong on the way
(bad base64, not gzip, not JSON, missing fields) becomes one `MalformedPayload` with a short
reason, so the handler logs and counts it in one place and never crashes on a raw library error.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from commands.tail.events import LogEvent, unicode_text

CONTROL_MESSAGE = "CONTROL_MESSAGE"
DATA_MESSAGE = "DATA_MESSAGE"
# A subscription batch is at most ~1 MB of log text; anything far larger inflating out of a small
# payload is a decompression bomb, not logs.
MAX_DECODED_BYTES = 16 * 1024 * 1024


class MalformedPayload(ValueError):
    """The event is not a CloudWatch Logs subscription payload; str() is the short reason."""


@dataclass(frozen=True)
class SubscriptionBatch:
    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    events: tuple[LogEvent, ...]  # empty for a CONTROL_MESSAGE

    @property
    def is_control(self) -> bool:
        return self.message_type == CONTROL_MESSAGE


def decode_subscription(event: object) -> SubscriptionBatch:
    """The batch a subscription-filter invocation carries; `MalformedPayload` when it is not one."""
    data = _data(event)
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPayload("awslogs.data is not base64") from None
    try:
        # MAX_WBITS | 32 accepts a gzip or a zlib header, as CloudWatch's is gzip.
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
        raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error:
        raise MalformedPayload("awslogs.data is not gzip") from None
    if inflater.unconsumed_tail:
        raise MalformedPayload(f"awslogs.data inflates beyond {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise MalformedPayload("awslogs.data is truncated gzip")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise MalformedPayload("awslogs.data is not JSON") from None
    except RecursionError:  # json recurses once per level: `[[[…` 16 MB deep
        raise MalformedPayload("awslogs.data nests too deep to be a subscription payload") from None
    return _batch(body)


def _data(event: object) -> str | bytes:
    if not isinstance(event, Mapping):
        raise MalformedPayload("the event is not an object")
    awslogs = event.get("awslogs")
    if not isinstance(awslogs, Mapping):
        raise MalformedPayload("the event has no awslogs object")
    data = awslogs.get("data")
    if not isinstance(data, str | bytes) or not data:
        raise MalformedPayload("awslogs.data is missing")
    if isinstance(data, str) and not data.isascii():
        raise MalformedPayload("awslogs.data is not base64")
    return data


def _batch(body: Any) -> SubscriptionBatch:
    if not isinstance(body, dict):
        raise MalformedPayload("the payload is not a JSON object")
    message_type = _text(body, "messageType")
    filters = body.get("subscriptionFilters", [])
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise MalformedPayload("subscriptionFilters is not a list of names")
    batch = SubscriptionBatch(
        message_type=message_type,
        owner=str(body.get("owner", "")),
        log_group=str(body.get("logGroup", "")),
        log_stream=str(body.get("logStream", "")),
        subscription_filters=tuple(filters),
        events=(),
    )
    if message_type == CONTROL_MESSAGE:
        # CloudWatch's check that the destination is reachable: no log events to deliver.
        return batch
    if message_type != DATA_MESSAGE:
        raise MalformedPayload(f"unknown messageType {message_type[:40]!r}")
    _text(body, "logGroup")
    stream = _text(body, "logStream")
    raw_events = body.get("logEvents")
    if not isinstance(raw_events, list):
        raise MalformedPayload("logEvents is not a list")
    return replace(batch, events=tuple(_event(e, stream) for e in raw_events))


def _event(raw: object, stream: str) -> LogEvent:
    if not isinstance(raw, dict):
        raise MalformedPayload("a log event is not an object")
    timestamp = raw.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise MalformedPayload("a log event has no integer timestamp")
    event_id = raw.get("id")
    message = raw.get("message")
    if not isinstance(event_id, str) or not event_id:
        raise MalformedPayload("a log event has no id")
    if not isinstance(message, str):
        raise MalformedPayload("a log event has no message")
    return LogEvent(timestamp, None, stream, event_id, unicode_text(message))


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key} is missing")
    return value
