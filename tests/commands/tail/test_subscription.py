"""Subscription payloads: real gzip+base64 built as CloudWatch does, AWS's documented sample, garbage."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.tail.events import LogEvent
from commands.tail.invocations import Status, group_invocations
from commands.tail.subscription import MAX_DECODED_BYTES, MalformedPayload, decode_subscription

# The sample CloudWatch Logs event in the AWS Lambda docs (and the console's test event template).
AWS_SAMPLE = json.loads((Path(__file__).parent / "data" / "aws_sample_subscription_event.json").read_text())
STREAM = "2026/12/01/[$LATEST]a1b2c3d4e5f60718293a4b5c6d7e8f90"
RID = "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6"


def cloudwatch_event(body: Any) -> dict[str, Any]:
    """What CloudWatch Logs sends a subscribed Lambda: JSON, gzip, base64, under awslogs.data."""
    data = base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()
    return {"awslogs": {"data": data}}


def data_message(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/checkout",
        "logStream": STREAM,
        "subscriptionFilters": ["opsbot-forwarder"],
        "logEvents": events,
    }


def test_the_documented_aws_sample_decodes() -> None:
    batch = decode_subscription(AWS_SAMPLE)

    assert (batch.owner, batch.log_group, batch.log_stream) == ("123456789123", "testLogGroup", "testLogStream")
    assert batch.subscription_filters == ("testFilter",)
    assert batch.events == (
        LogEvent(1440442987000, None, "testLogStream", "eventId1", "[ERROR] First test message"),
        LogEvent(1440442987001, None, "testLogStream", "eventId2", "[ERROR] Second test message"),
    )


def test_a_real_payload_decodes_into_events_that_group_per_invocation() -> None:
    ids = [f"3736223160996978847065409760688228590126612201413797724{i}" for i in range(3)]
    lines = [
        f"START RequestId: {RID} Version: $LATEST\n",
        f"[ERROR]\t2026-12-01T10:00:00.010Z\t{RID}\tcard declined\n",
        f"REPORT RequestId: {RID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 64 MB\tStatus: error\n",
    ]
    body = data_message(
        [
            {"id": i, "timestamp": 1796119200000 + n, "message": m}
            for n, (i, m) in enumerate(zip(ids, lines, strict=True))
        ]
    )

    batch = decode_subscription(cloudwatch_event(body))

    assert not batch.is_control
    assert [e.event_id for e in batch.events] == ids and {e.stream for e in batch.events} == {STREAM}
    (invocation,) = group_invocations(batch.events).invocations
    assert invocation.status is Status.ERROR and invocation.lines[0].text == "card declined"


def test_a_control_message_yields_no_events() -> None:
    body = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1796119200000,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda.",
            }
        ],
    }
    batch = decode_subscription(cloudwatch_event(body))

    assert batch.is_control and batch.events == ()


def test_zlib_framing_is_accepted_as_well_as_gzip() -> None:
    data = base64.b64encode(zlib.compress(json.dumps(data_message([])).encode())).decode()
    assert decode_subscription({"awslogs": {"data": data}}).events == ()


def b64(raw: bytes) -> dict[str, Any]:
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (None, "the event is not an object"),
        ({}, "the event has no awslogs object"),
        ({"awslogs": {}}, "awslogs.data is missing"),
        ({"awslogs": {"data": "not base64!"}}, "awslogs.data is not base64"),
        ({"awslogs": {"data": "ü"}}, "awslogs.data is not base64"),
        # A lenient decoder would drop the stray characters and decode this: a corrupted payload.
        ({"awslogs": {"data": "H4sI*" + AWS_SAMPLE["awslogs"]["data"][4:]}}, "awslogs.data is not base64"),
        (b64(b"plain text, not gzip"), "awslogs.data is not gzip"),
        (b64(gzip.compress(b"{}")[:-12]), "awslogs.data is truncated gzip"),
        (b64(gzip.compress(b"\xff\xfe not utf-8")), "awslogs.data is not JSON"),
        (b64(gzip.compress(b"[1, 2]")), "the payload is not a JSON object"),
        (cloudwatch_event({"messageType": "SURPRISE"}), "unknown messageType 'SURPRISE'"),
        (cloudwatch_event({**data_message([]), "logStream": None}), "logStream is missing"),
        (cloudwatch_event({**data_message([]), "logEvents": {}}), "logEvents is not a list"),
        (
            cloudwatch_event({**data_message([]), "subscriptionFilters": "f"}),
            "subscriptionFilters is not a list of names",
        ),
        (
            cloudwatch_event(data_message([{"id": "1", "timestamp": "soon", "message": "m"}])),
            "a log event has no integer timestamp",
        ),
        (cloudwatch_event(data_message([{"id": "", "timestamp": 1, "message": "m"}])), "a log event has no id"),
        (cloudwatch_event(data_message([{"id": "1", "timestamp": 1}])), "a log event has no message"),
        (cloudwatch_event(data_message(["text"])), "a log event is not an object"),
    ],
)
def test_each_malformation_is_one_error_with_a_short_reason(event: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        decode_subscription(event)
    assert str(caught.value) == reason
    assert caught.value.__cause__ is None  # no raw binascii, zlib or json error chained for the log


def test_a_decompression_bomb_is_refused_without_inflating_it() -> None:
    bomb = b64(gzip.compress(b" " * (MAX_DECODED_BYTES + 1)))
    with pytest.raises(MalformedPayload, match="inflates beyond"):
        decode_subscription(bomb)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.builds(lambda d: {"awslogs": {"data": d}}, st.text(max_size=80) | st.binary(max_size=80)),
        st.builds(lambda raw: b64(raw), st.binary(max_size=200)),
        st.builds(lambda raw: b64(gzip.compress(raw)), st.binary(max_size=200)),
        st.builds(cloudwatch_event, json_values),
        st.builds(lambda events: cloudwatch_event(data_message(events)), st.lists(json_values, max_size=3)),
    )
)
def test_garbage_never_raises_anything_but_malformed_payload(event: Any) -> None:
    try:
        decode_subscription(event)
    except MalformedPayload as error:
        assert 0 < len(str(error)) <= 80
