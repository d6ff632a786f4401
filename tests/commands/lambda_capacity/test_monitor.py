"""The code-storage monitor: forecast math, hysteresis (one alert per crossing, one per recovery)
on moto's CloudWatch and SNS, the fallback where GetAccountSettings is missing, the Lambda entry."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot import lambda_handler
from bot.aws import AwsClients
from bot.lambda_handler import capacity_handler
from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.settings import Settings, SettingsError
from bot.state import Store
from commands.lambda_capacity.forecast import StorageForecast, forecast_growth, forecast_text
from commands.lambda_capacity.monitor import (
    STATE_NAMESPACE,
    TOPIC_NAME,
    CapacityReading,
    check_reading,
    monitor_interval,
    next_alert_state,
    run_capacity_check,
)
from commands.lambda_capacity.options import MonitorConfig

REGION = "us-east-1"
GIB = 2**30
LIMIT = 75 * GIB
DAY = 86400.0
T0 = 1_760_000_000.0


class Posted:
    """The `post` callable the caller would hand in; records what would reach Slack."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, list[dict[str, Any]]]] = []

    def __call__(self, channel: str, reply: Reply) -> None:
        self.messages.append((channel, reply.text, reply.blocks))


def reading(percent: float, at: float = T0) -> CapacityReading:
    return CapacityReading(REGION, at, int(LIMIT * percent / 100), LIMIT)


# -- configuration


def test_the_background_monitor_is_off_until_an_interval_is_set() -> None:
    assert monitor_interval(Settings()) is None
    assert monitor_interval(Settings(command_options={"lambda-capacity": {"monitor_every_seconds": 300}})) == 300
    with pytest.raises(SettingsError, match="monitor_every_seconds: expected a number ≥ 60, got 5"):
        monitor_interval(Settings(command_options={"lambda-capacity": {"monitor_every_seconds": 5}}))


def test_monitor_options_are_read_and_checked() -> None:
    config = MonitorConfig.from_options(
        {"alarm_threshold_percent": 70, "alert_channel": "C1", "monitor_regions": "eu-west-1, us-east-1"}
    )
    assert (config.threshold_percent, config.alert_channel, config.regions) == (70, "C1", ("eu-west-1", "us-east-1"))
    assert config.threshold_text() == "70%"
    with pytest.raises(SettingsError, match="alarm_threshold_percent: expected a number ≥ 1, got 'high'"):
        MonitorConfig.from_options({"alarm_threshold_percent": "high"})


# -- forecast


def test_growth_is_the_least_squares_slope_and_the_quota_date_follows() -> None:
    samples = [(T0 + d * DAY, 10 * GIB + d * GIB + (0.1 * GIB if d % 2 else -0.1 * GIB)) for d in range(8)]
    forecast = forecast_growth(samples, now=T0 + 7 * DAY, limit_bytes=LIMIT)
    assert forecast.samples == 8
    assert forecast.bytes_per_day == pytest.approx(GIB * (1 + 0.1 * 4 / 42), rel=1e-9)  # Σ(x-x̄)·noise = 0.4 GiB·day
    assert forecast.days_to_quota == pytest.approx((LIMIT - samples[-1][1]) / forecast.bytes_per_day)
    assert "reached in ~" in forecast_text(forecast, T0 + 7 * DAY, UTC)


def test_a_steady_line_gives_its_exact_rate() -> None:
    samples = [(T0 + h * 3600, 50 * GIB + h * GIB / 24) for h in range(0, 49, 6)]
    forecast = forecast_growth(samples, now=T0 + 48 * 3600, limit_bytes=LIMIT)
    assert forecast.bytes_per_day == pytest.approx(GIB)
    assert forecast.days_to_quota == pytest.approx(23.0)
    assert forecast_text(forecast, T0 + 48 * 3600, UTC) == (
        "Growing 1.0 GiB/day: the quota is reached in ~23 days (03 Nov 2025)."
    )


def test_not_enough_history_under_two_samples_or_under_an_hour() -> None:
    assert forecast_growth([(T0, 1.0)], now=T0, limit_bytes=LIMIT).bytes_per_day is None
    half_hour = [(T0, 1.0), (T0 + 1800, 2.0)]
    forecast = forecast_growth(half_hour, now=T0 + 1800, limit_bytes=LIMIT)
    assert forecast == StorageForecast(samples=2)
    assert forecast_text(forecast, T0, UTC).startswith("Forecast: not enough history yet")


def test_only_the_last_fourteen_days_count() -> None:
    old = [(T0 - 30 * DAY, 0.0)]  # would make the slope tiny if it were used
    recent = [(T0 - DAY, 10 * GIB), (T0, 12 * GIB)]
    forecast = forecast_growth(old + recent, now=T0, limit_bytes=None)
    assert forecast.samples == 2 and forecast.bytes_per_day == pytest.approx(2 * GIB)
    assert forecast.days_to_quota is None
    assert forecast_text(forecast, T0, UTC) == "Growing 2.0 GiB/day; the quota is unknown."


def test_shrinking_storage_is_not_growing() -> None:
    forecast = forecast_growth([(T0, 5 * GIB), (T0 + DAY, 4 * GIB)], now=T0 + DAY, limit_bytes=LIMIT)
    assert forecast.days_to_quota is None
    assert forecast_text(forecast, T0, UTC).startswith("Not growing: -1.0 GiB/day")


# -- hysteresis, pure


def test_one_transition_per_crossing_and_per_recovery() -> None:
    config = MonitorConfig(threshold_percent=80, margin_points=2)
    alerting, transitions = False, []
    for percent in [70, 81, 85, 79, 78.5, 77.9, 79, 80, 90, 60, 60]:
        alerting, transition = next_alert_state(reading(percent), config, alerting)
        transitions.append(transition)
    assert transitions == [None, "crossed", None, None, None, "recovered", None, "crossed", None, "recovered", None]


def test_a_byte_threshold_wins_and_recovers_a_margin_of_the_quota_below() -> None:
    config = MonitorConfig(threshold_bytes=60 * GIB, margin_points=2)  # 2 points of 75 GiB = 1.5 GiB
    alerting, out = False, []
    for gib in [59, 60, 59, 58.6, 58.4]:
        alerting, transition = next_alert_state(CapacityReading(REGION, T0, int(gib * GIB), LIMIT), config, alerting)
        out.append(transition)
    assert out == [None, "crossed", None, None, "recovered"]


def test_a_percentage_threshold_cannot_fire_without_a_quota() -> None:
    unknown = CapacityReading(REGION, T0, 10**15, None)
    assert next_alert_state(unknown, MonitorConfig(threshold_percent=80), False) == (False, None)


# -- on moto: metrics, alarm, topic, alerts


@pytest.fixture
def aws(aws_clients: AwsClients, moto: str) -> AwsClients:
    return aws_clients


def test_a_sequence_of_readings_alerts_once_per_crossing_and_once_on_recovery(aws: AwsClients, store: Store) -> None:
    config = MonitorConfig(threshold_percent=80, alert_channel="CALERTS")
    post = Posted()
    for i, percent in enumerate([70, 81, 84, 86, 79, 77, 76, 82, 83]):
        check_reading(aws, store, config, reading(percent, T0 + i * 3600), post, UTC)

    texts = [text for _, text, _ in post.messages]
    assert [channel for channel, _, _ in post.messages] == ["CALERTS"] * 3
    assert texts[0].startswith(":warning: Lambda code storage in us-east-1 is at 81.0% (60.8 GiB of 75.0 GiB)")
    assert "at or above the 80% alarm threshold" in texts[0]
    assert texts[1].startswith(":white_check_mark: Lambda code storage in us-east-1 is back to 77.0%")
    assert texts[2].startswith(":warning: Lambda code storage in us-east-1 is at 82.0%")
    assert "Growing" in texts[2] and "reached in ~" in texts[2]  # the forecast rides along

    cloudwatch = aws.client("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["opsbot-lambda-code-storage-us-east-1"])["MetricAlarms"]
    topic = aws.client("sns").create_topic(Name=TOPIC_NAME)["TopicArn"]  # idempotent: the same ARN
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("Opsbot/Lambda", "CodeStoragePercent", 80)
    assert alarm["Dimensions"] == [{"Name": "Region", "Value": REGION}]
    assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
    metrics = cloudwatch.list_metrics(Namespace="Opsbot/Lambda")["Metrics"]
    assert {m["MetricName"] for m in metrics} == {"CodeStorageBytes", "CodeStoragePercent"}
    assert all(m["Dimensions"] == [{"Name": "Region", "Value": REGION}] for m in metrics)
    assert len(store.samples("lambda-code-bytes:us-east-1")) == 9


def test_a_configured_topic_is_used_and_none_is_created(aws: AwsClients, store: Store) -> None:
    sns = aws.client("sns")
    mine = sns.create_topic(Name="team-pager")["TopicArn"]
    check_reading(aws, store, MonitorConfig(threshold_bytes=GIB, sns_topic_arn=mine), reading(10))
    (alarm,) = aws.client("cloudwatch").describe_alarms(AlarmNames=[f"opsbot-lambda-code-storage-{REGION}"])[
        "MetricAlarms"
    ]
    assert alarm["AlarmActions"] == [mine] and alarm["MetricName"] == "CodeStorageBytes"
    assert alarm["Threshold"] == GIB
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [mine]


def test_a_changed_threshold_updates_the_alarm(aws: AwsClients, store: Store) -> None:
    check_reading(aws, store, MonitorConfig(threshold_percent=80), reading(10))
    check_reading(aws, store, MonitorConfig(threshold_percent=90), reading(10, T0 + 300))
    (alarm,) = aws.client("cloudwatch").describe_alarms(AlarmNames=[f"opsbot-lambda-code-storage-{REGION}"])[
        "MetricAlarms"
    ]
    assert alarm["Threshold"] == 90


def test_after_a_cold_start_an_alarm_in_alarm_means_the_crossing_was_announced(aws: AwsClients, tmp_path: Path) -> None:
    config = MonitorConfig(threshold_percent=80, alert_channel="CALERTS")
    post = Posted()
    check_reading(aws, Store.open(str(tmp_path / "a.db")), config, reading(85), post)
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=f"opsbot-lambda-code-storage-{REGION}", StateValue="ALARM", StateReason="test"
    )
    fresh_store = Store.open(str(tmp_path / "b.db"))  # a new container: /tmp is empty
    check_reading(aws, fresh_store, config, reading(86, T0 + 300), post)
    assert len(post.messages) == 1
    assert fresh_store.get(STATE_NAMESPACE, REGION).value["alerting"] is True  # type: ignore[union-attr]


def test_an_alert_that_could_not_be_posted_is_tried_again_next_run(aws: AwsClients, store: Store) -> None:
    config = MonitorConfig(threshold_percent=80, alert_channel="CALERTS")
    attempts: list[str] = []

    def flaky(channel: str, reply: Reply) -> None:
        attempts.append(reply.text)
        if len(attempts) == 1:
            raise RuntimeError("slack is down")

    first = check_reading(aws, store, config, reading(85), flaky)
    second = check_reading(aws, store, config, reading(85, T0 + 300), flaky)
    third = check_reading(aws, store, config, reading(85, T0 + 600), flaky)
    assert (first.alerted, second.alerted, third.alerted) == (False, True, False)
    assert len(attempts) == 2


# -- the whole run, where moto has no GetAccountSettings


def _function(name: str, size: int) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("h.py", "#" * size)
    lam = boto3.client("lambda", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role["Arn"], Handler="h.main", Code={"ZipFile": buf.getvalue()}
    )
    lam.publish_version(FunctionName=name)
    return 2 * len(buf.getvalue())


def test_the_run_falls_back_to_the_listed_total_and_alerts_on_a_byte_threshold(
    aws: AwsClients, store: Store, settings: Settings
) -> None:
    stored = _function("big", 5000)
    options = {"alarm_threshold_bytes": 4000, "alert_channel": "CALERTS"}
    settings = Settings(admins=settings.admins, command_options={"lambda-capacity": options})
    post = Posted()

    (check,) = run_capacity_check(aws, store, settings, post, now=datetime.fromtimestamp(T0, UTC))
    assert check.reading is not None and check.reading.usage_bytes == stored
    assert check.reading.limit_bytes is None and "GetAccountSettings" in check.reading.note
    assert check.transition == "crossed" and check.alerted
    assert post.messages[0][1].startswith(
        f":warning: Lambda code storage in us-east-1 is at {stored / 1024:.1f} KiB, at or above the 3.9 KiB"
    )
    details = post.messages[0][2][1]["elements"][0]["text"]
    assert f"Biggest: big {stored / 1024:.1f} KiB (2 versions). See `/lambda-capacity --region us-east-1`" in details
    again = run_capacity_check(aws, store, settings, post, now=datetime.fromtimestamp(T0 + 300, UTC))
    assert again[0].transition is None and len(post.messages) == 1


def test_the_lambda_entry_point_reads_its_settings_and_token_and_posts_to_slack(
    aws: AwsClients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _function("big", 5000)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/opsbot/slack-token", Value="xoxb-standin", Type="SecureString"
    )
    lambda_handler.forget_container()  # as in a cold start
    lambda_handler._aws.cache_clear()
    with SlackStandIn() as slack:
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        monkeypatch.setenv("OPSBOT_SLACK_TOKEN_PARAMETER", "/opsbot/slack-token")
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "monitor.db"))
        monkeypatch.setenv("OPSBOT_CAPACITY_THRESHOLD_BYTES", "1000")
        monkeypatch.setenv("OPSBOT_CAPACITY_ALERT_CHANNEL", "CALERTS")

        try:
            result = capacity_handler({"source": "aws.events"}, None)
            capacity_handler({"source": "aws.events"}, None)
        finally:
            lambda_handler.forget_container()

        assert result["regions"][0]["transition"] == "crossed" and result["regions"][0]["alerted"]
        (message,) = slack.messages("CALERTS")
        assert message["text"].startswith(":warning: Lambda code storage in us-east-1 is at")
