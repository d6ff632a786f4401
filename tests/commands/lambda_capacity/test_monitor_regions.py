"""The monitor over several regions on moto: one region that fails is reported and the others are still
checked; where GetAccountSettings answers (it does on AWS, not on moto), its usage and quota are the reading."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from bot.aws import AwsClients
from bot.local.seeds_capacity import demo_account
from bot.settings import Settings
from bot.state import Store
from commands.lambda_capacity.monitor import run_capacity_check
from tests.commands.lambda_capacity.test_monitor import Posted

GIB = 2**30
T0 = 1_760_000_000.0
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


@contextmanager
def aws_answers(
    client: Any,
    operation: str,
    parsed: dict[str, Any],
    status: int = 200,
    only: Callable[[dict[str, Any]], bool] = lambda request: True,
) -> Iterator[list[dict[str, Any]]]:
    """`client` gets `parsed` from "AWS" for `operation` (every call, or those whose request `only`
    accepts); every other call reaches moto. Yields the requests answered.

    botocore's before-call event: a handler that returns (http_response, parsed) stands in for the
    HTTP round trip, and the client goes on as with AWS's own answer (after-call, then the
    ClientError for a status of 300 or more). Stubber cannot do this: it answers every call.
    """
    answered: list[dict[str, Any]] = []
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-call.{service}.{client.meta.service_model.operation_model(operation).name}"
    unique_id = f"test-answer-{id(answered)}"

    def answer(params: dict[str, Any], **_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not only(params):
            return None
        answered.append(params)
        metadata = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse(params.get("url"), status, {}, None), {**parsed, "ResponseMetadata": metadata}

    client.meta.events.register(event, answer, unique_id=unique_id)
    try:
        yield answered
    finally:
        client.meta.events.unregister(event, unique_id=unique_id)


def aws_error(code: str, message: str) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": message}}


@contextmanager
def every_lambda_call_denied(client: Any) -> Iterator[None]:
    denied = aws_error(
        "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/opsbot/x is not authorized"
    )
    with (
        aws_answers(client, "GetAccountSettings", denied, 403),
        aws_answers(client, "ListFunctions", denied, 403),
    ):
        yield


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    """A loopback port where nothing listens (bound, never listening): connections are refused."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{closed.getsockname()[1]}"


@contextmanager
def sent_to(client: Any, endpoint: str) -> Iterator[None]:
    """Every Lambda request `client` sends goes to `endpoint` instead."""
    unique_id = f"test-sent-to-{endpoint}"

    def redirect(params: dict[str, Any], **_kwargs: Any) -> None:
        path = params["url"].split("/", 3)[3]  # http://host:port/PATH
        params["url"] = f"{endpoint}/{path}"

    client.meta.events.register("before-call.lambda", redirect, unique_id=unique_id)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.lambda", unique_id=unique_id)


def monitor_settings(settings: Settings, **options: Any) -> Settings:
    return Settings(admins=settings.admins, command_options={"lambda-capacity": options})


def seed(builder: AwsClients, region: str, name: str) -> int:
    return demo_account(builder, region).function(name, [3000, 4000])


@pytest.fixture
def builder(moto: str) -> AwsClients:
    return AwsClients()  # its own clients: nothing answered or redirected


@pytest.mark.parametrize("failure", ["denied", "unreachable"])
def test_one_region_failing_is_reported_and_the_others_are_still_checked(
    failure: str, builder: AwsClients, aws_clients: AwsClients, store: Store, settings: Settings, dead_endpoint: str
) -> None:
    stored = {region: seed(builder, region, f"fn-{region}") for region in REGIONS}
    if failure == "denied":
        aws = aws_clients  # the bot's shared clients; the answers are unregistered after
        broken = every_lambda_call_denied(aws.client("lambda", "eu-west-1"))
    else:  # one attempt: a closed port is refused at once, and botocore's backoff would only slow the test
        aws = AwsClients(config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2))
        broken = sent_to(aws.client("lambda", "eu-west-1"), dead_endpoint)
    post = Posted()

    with broken:
        checks = run_capacity_check(
            aws, store, monitor_settings(settings, alarm_threshold_bytes=1, alert_channel="CALERTS"), post,
            now=datetime.fromtimestamp(T0, UTC), regions=REGIONS,
        )  # fmt: skip

    by_region = {c.region: c for c in checks}
    assert list(by_region) == REGIONS
    failed = by_region["eu-west-1"]
    assert failed.reading is None and not failed.alerted
    if failure == "denied":
        assert failed.error == "Access denied: the bot's AWS role lacks the IAM permission lambda:ListFunctions."
    else:
        assert failed.error == (
            f"Could not reach the AWS endpoint {dead_endpoint}/2016-08-19/account-settings; "
            "check the network or AWS_ENDPOINT_URL."
        )
    for region in ("us-east-1", "ap-south-1"):
        check = by_region[region]
        assert check.error == "" and check.reading is not None
        assert check.reading.usage_bytes == stored[region]
        assert check.transition == "crossed" and check.alerted
    assert [text.split(" is at")[0] for _, text, _ in post.messages] == [
        ":warning: Lambda code storage in us-east-1",
        ":warning: Lambda code storage in ap-south-1",
    ]

    cloudwatch = builder.client("cloudwatch", "us-east-1")  # the default region holds metrics and alarms
    metrics = cloudwatch.list_metrics(Namespace="Opsbot/Lambda", MetricName="CodeStorageBytes")["Metrics"]
    assert sorted(m["Dimensions"][0]["Value"] for m in metrics) == ["ap-south-1", "us-east-1"]
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="opsbot-lambda-code-storage-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == [
        "opsbot-lambda-code-storage-ap-south-1",
        "opsbot-lambda-code-storage-us-east-1",
    ]


def test_get_account_settings_gives_the_reading_and_the_percent_alert(
    builder: AwsClients, store: Store, settings: Settings
) -> None:
    listed = seed(builder, "us-east-1", "orders")  # what moto lists: not what the reading may use
    usage, limit = 61 * GIB, 75 * GIB  # 81.3%
    account = {
        "AccountLimit": {"TotalCodeSize": limit, "CodeSizeUnzipped": 262144000, "ConcurrentExecutions": 1000},
        "AccountUsage": {"TotalCodeSize": usage, "FunctionCount": 412},
    }
    post = Posted()
    config = monitor_settings(settings, alarm_threshold_percent=80, alert_channel="CALERTS")

    with aws_answers(builder.client("lambda", "us-east-1"), "GetAccountSettings", account) as answered:
        (check,) = run_capacity_check(builder, store, config, post, now=datetime.fromtimestamp(T0, UTC))

    assert len(answered) == 1
    reading = check.reading
    assert reading is not None and reading.note == ""
    assert (reading.usage_bytes, reading.limit_bytes) == (usage, limit) and usage != listed
    assert reading.percent == pytest.approx(100 * 61 / 75)
    assert check.transition == "crossed" and check.alerted
    ((channel, text, blocks),) = post.messages
    assert channel == "CALERTS"
    assert text.startswith(
        ":warning: Lambda code storage in us-east-1 is at 81.3% (61.0 GiB of 75.0 GiB), "
        "at or above the 80% alarm threshold."
    )
    assert "Biggest: orders" in blocks[1]["elements"][0]["text"]

    cloudwatch = builder.client("cloudwatch", "us-east-1")
    dims = [{"Name": "Region", "Value": "us-east-1"}]

    def published(metric: str) -> list[float]:
        points = cloudwatch.get_metric_statistics(
            Namespace="Opsbot/Lambda", MetricName=metric, Dimensions=dims,
            StartTime=datetime.fromtimestamp(T0 - 60, UTC), EndTime=datetime.fromtimestamp(T0 + 60, UTC),
            Period=60, Statistics=["Maximum"],
        )["Datapoints"]  # fmt: skip
        return [p["Maximum"] for p in points]

    assert published("CodeStoragePercent") == [pytest.approx(100 * 61 / 75)]
    assert published("CodeStorageBytes") == [usage]
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["opsbot-lambda-code-storage-us-east-1"])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("CodeStoragePercent", 80)
