"""The code-storage monitor: one check, run by `opsbot serve` on a timer and by a scheduled Lambda.

Each run reads usage (GetAccountSettings: one call, however large the account), publishes it
as CloudWatch metrics, makes sure the CloudWatch alarm exists (the durable, paging-grade
signal) and posts to Slack once when usage crosses the threshold and once when it recovers.
Recovery needs usage to fall a margin below the threshold, so a reading that hovers around it
does not alert on every run. The check itself does no Slack I/O, it calls the `post` it is
given; `slack_poster` makes one from a WebClient for the serve job and for the scheduled Lambda,
whose entry point (`capacity_handler`, configured by environment variables) is in bot.lambda_handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws import AwsClients, describe_aws_error
from bot.code_storage import (
    DEFAULT_RATE,
    CallCount,
    FunctionStorage,
    human_bytes,
    lambda_client,
    list_function_storage,
    list_layer_storage,
    read_account_storage,
    sample_series,
)
from bot.delivery import ChannelPacer
from bot.settings import Settings, SettingsError
from bot.state import Store

log = logging.getLogger(__name__)

METRIC_NAMESPACE = "Opsbot/Lambda"
TOPIC_NAME = "opsbot-lambda-code-storage"
ALARM_PREFIX = "opsbot-lambda-code-storage-"
STATE_NAMESPACE = "lambda-capacity-monitor"
COMMAND = "/lambda-capacity"
FORECAST_WINDOW_DAYS = 14.0
MIN_HISTORY_SECONDS = 3600.0

# post(channel, text, blocks): the caller sends it to Slack (paced); the monitor never does.
PostFn = Callable[[str, str, list[dict[str, Any]]], None]


# -- forecast


@dataclass(frozen=True)
class StorageForecast:
    samples: int  # how many samples the fit used
    bytes_per_day: float | None = None  # None: not enough history
    days_to_quota: float | None = None  # None: not growing, or the quota is unknown


def forecast_growth(
    samples: Sequence[tuple[float, float]],
    *,
    now: float,
    limit_bytes: int | None,
    window_days: float = FORECAST_WINDOW_DAYS,
) -> StorageForecast:
    """Least-squares growth over the last `window_days`, and when the quota is reached at that pace.

    Needs two samples at least an hour apart: a slope from minutes of data is noise.
    """
    recent = [(at, value) for at, value in samples if now - window_days * 86400 <= at <= now]
    if len(recent) < 2 or recent[-1][0] - recent[0][0] < MIN_HISTORY_SECONDS:
        return StorageForecast(len(recent))
    days = [(at - recent[0][0]) / 86400 for at, _ in recent]
    values = [value for _, value in recent]
    mean_x, mean_y = sum(days) / len(days), sum(values) / len(values)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(days, values, strict=True)) / sum(
        (x - mean_x) ** 2 for x in days
    )
    until: float | None = None
    if limit_bytes and slope > 0:
        until = max(0.0, (limit_bytes - values[-1]) / slope)
    return StorageForecast(len(recent), slope, until)


def recorded_forecast(store: Store, region: str, *, now: float, limit_bytes: int | None) -> StorageForecast:
    """The forecast from the usage the monitor and /lambda-capacity have recorded for `region`."""
    history = store.samples(sample_series(region), since=now - FORECAST_WINDOW_DAYS * 86400)
    return forecast_growth(history, now=now, limit_bytes=limit_bytes)


def forecast_text(forecast: StorageForecast, now: float, tz: tzinfo) -> str:
    if forecast.bytes_per_day is None:
        return "Forecast: not enough history yet (needs 2 readings at least an hour apart)."
    pace = forecast.bytes_per_day
    if pace <= 0:
        return f"Not growing: {human_bytes(pace)}/day over the last {FORECAST_WINDOW_DAYS:g} days."
    if forecast.days_to_quota is None:
        return f"Growing {human_bytes(pace)}/day; the quota is unknown."
    when = datetime.fromtimestamp(now, tz) + timedelta(days=forecast.days_to_quota)
    days = forecast.days_to_quota
    return f"Growing {human_bytes(pace)}/day: the quota is reached in ~{days:,.0f} days ({when:%d %b %Y})."


# -- configuration


def number_option(options: Mapping[str, Any], key: str, default: float | None, minimum: float = 0.0) -> float | None:
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise SettingsError(
            f"OPSBOT_CONFIG [commands.lambda-capacity] {key}: expected a number ≥ {minimum}, got {value!r}"
        )
    return float(value)


@dataclass(frozen=True)
class MonitorConfig:
    threshold_percent: float | None = 80.0
    threshold_bytes: int | None = None  # when set, wins over the percentage
    margin_points: float = 2.0  # recovery needs usage this many quota points below the threshold
    sns_topic_arn: str | None = None
    alert_channel: str | None = None
    regions: tuple[str, ...] = ()  # empty: the default region
    metrics_region: str | None = None  # where metrics and alarms live; default: the default region
    rate: float = DEFAULT_RATE

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MonitorConfig:
        threshold_bytes = number_option(options, "alarm_threshold_bytes", None, minimum=1)
        regions = options.get("monitor_regions", [])
        if isinstance(regions, str):
            regions = [r.strip() for r in regions.split(",") if r.strip()]
        return cls(
            threshold_percent=number_option(options, "alarm_threshold_percent", 80.0, minimum=1),
            threshold_bytes=int(threshold_bytes) if threshold_bytes else None,
            margin_points=number_option(options, "recovery_margin_points", 2.0) or 0.0,
            sns_topic_arn=options.get("sns_topic_arn") or None,
            alert_channel=options.get("alert_channel") or None,
            regions=tuple(str(r) for r in regions),
            metrics_region=options.get("metrics_region") or None,
            rate=number_option(options, "rate_per_second", DEFAULT_RATE, minimum=0.1) or DEFAULT_RATE,
        )

    def threshold_text(self) -> str:
        return human_bytes(self.threshold_bytes) if self.threshold_bytes else f"{self.threshold_percent:g}%"


@dataclass(frozen=True)
class CapacityReading:
    region: str
    at: float  # epoch seconds
    usage_bytes: int
    limit_bytes: int | None  # None where GetAccountSettings is unavailable
    note: str = ""

    @property
    def percent(self) -> float | None:
        return 100.0 * self.usage_bytes / self.limit_bytes if self.limit_bytes else None


def is_above(reading: CapacityReading, config: MonitorConfig) -> bool | None:
    """At or above the threshold; None when a percentage threshold meets an unknown quota."""
    if config.threshold_bytes:
        return reading.usage_bytes >= config.threshold_bytes
    percent = reading.percent
    return None if percent is None or config.threshold_percent is None else percent >= config.threshold_percent


def has_recovered(reading: CapacityReading, config: MonitorConfig) -> bool | None:
    if config.threshold_bytes:
        # the margin is in quota points; without a quota, in points of the threshold itself
        basis = reading.limit_bytes or config.threshold_bytes
        return reading.usage_bytes < config.threshold_bytes - basis * config.margin_points / 100
    percent = reading.percent
    if percent is None or config.threshold_percent is None:
        return None
    return percent < config.threshold_percent - config.margin_points


def next_alert_state(reading: CapacityReading, config: MonitorConfig, alerting: bool) -> tuple[bool, str | None]:
    """(alerting, "crossed" | "recovered" | None): one transition per crossing, one per recovery."""
    if not alerting and is_above(reading, config):
        return True, "crossed"
    if alerting and has_recovered(reading, config):
        return False, "recovered"
    return alerting, None


@dataclass(frozen=True)
class CapacityCheck:
    """What one run did for one region."""

    region: str
    reading: CapacityReading | None = None
    transition: str | None = None
    alerted: bool = False
    alarm_name: str = ""
    forecast: StorageForecast | None = None
    error: str = ""


def read_capacity(aws: AwsClients, region: str, config: MonitorConfig, now: float) -> CapacityReading:
    """GetAccountSettings; where it is unavailable, the listed total (every version, every layer)."""
    client = lambda_client(aws, region, config.rate)
    account, note = read_account_storage(client)
    if account:
        return CapacityReading(region, now, account.usage_bytes, account.limit_bytes)
    calls = CallCount()
    listed = sum(f.code_bytes for f in list_function_storage(client, calls))
    listed += sum(lv.code_size for lv in list_layer_storage(client, calls))
    return CapacityReading(region, now, listed, None, note)


def publish_metrics(cloudwatch: Any, reading: CapacityReading) -> None:
    dims = [{"Name": "Region", "Value": reading.region}]
    at = datetime.fromtimestamp(reading.at, UTC)
    data: list[dict[str, Any]] = [
        {
            "MetricName": "CodeStorageBytes",
            "Dimensions": dims,
            "Timestamp": at,
            "Value": reading.usage_bytes,
            "Unit": "Bytes",
        }
    ]
    if reading.percent is not None:
        data.append(
            {
                "MetricName": "CodeStoragePercent",
                "Dimensions": dims,
                "Timestamp": at,
                "Value": reading.percent,
                "Unit": "Percent",
            }
        )
    cloudwatch.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)


def ensure_alarm(aws: AwsClients, config: MonitorConfig, region: str, home: str | None) -> tuple[str, str]:
    """Create or correct the alarm for `region`; return its name and current state."""
    cloudwatch = aws.client("cloudwatch", home)
    name = ALARM_PREFIX + region
    metric, threshold = (
        ("CodeStorageBytes", float(config.threshold_bytes))
        if config.threshold_bytes
        else ("CodeStoragePercent", float(config.threshold_percent or 80.0))
    )
    existing = cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    if existing:
        alarm = existing[0]
        actions = alarm.get("AlarmActions") or []
        if (
            alarm.get("MetricName") == metric
            and float(alarm.get("Threshold", -1)) == threshold
            and actions
            and (config.sns_topic_arn is None or actions == [config.sns_topic_arn])
        ):
            return name, str(alarm.get("StateValue", "INSUFFICIENT_DATA"))
    topic = config.sns_topic_arn or aws.client("sns", home).create_topic(Name=TOPIC_NAME)["TopicArn"]
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        AlarmDescription=f"Lambda code storage in {region} at or above {config.threshold_text()} (opsbot)",
        Namespace=METRIC_NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": "Region", "Value": region}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",  # a late run keeps the state instead of flapping
        AlarmActions=[topic],
        OKActions=[topic],
    )
    return name, "INSUFFICIENT_DATA"


def biggest_functions(aws: AwsClients, region: str, rate: float, n: int = 3) -> list[FunctionStorage]:
    """The functions storing the most, for a crossing alert: one listing, only when it fires."""
    try:
        functions = list_function_storage(lambda_client(aws, region, rate), CallCount())
    except (ClientError, BotoCoreError) as exc:
        log.warning("no top functions for the %s alert: %s", region, describe_aws_error(exc))
        return []
    return sorted(functions, key=lambda f: (-f.code_bytes, f.name))[:n]


def alert_message(
    reading: CapacityReading,
    config: MonitorConfig,
    transition: str,
    forecast: StorageForecast,
    tz: tzinfo,
    biggest: Sequence[FunctionStorage] = (),
) -> tuple[str, list[dict[str, Any]]]:
    where = reading.region
    amount = human_bytes(reading.usage_bytes)
    if reading.limit_bytes:
        amount = f"{reading.percent:.1f}% ({amount} of {human_bytes(reading.limit_bytes)})"
    if transition == "crossed":
        text = (
            f":warning: Lambda code storage in {where} is at {amount}, at or above the "
            f"{config.threshold_text()} alarm threshold."
        )
        hint = f"See `{COMMAND} --region {where}`; admins can free space with `{COMMAND} prune --region {where}`."
        if biggest:
            top = ", ".join(f"{f.name} {human_bytes(f.code_bytes)} ({len(f.versions)} versions)" for f in biggest)
            hint = f"Biggest: {top}. {hint}"
    else:
        text = f":white_check_mark: Lambda code storage in {where} is back to {amount}, below the alarm threshold."
        hint = ""
    outlook = forecast_text(forecast, reading.at, tz)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(p for p in (outlook, hint) if p)}]},
    ]
    return f"{text} {outlook}", blocks


def _load_alerting(store: Store, region: str, alarm_state: str) -> bool:
    stored = store.get(STATE_NAMESPACE, region)
    if stored is not None:
        return bool(stored.value.get("alerting"))
    # No memory (first run, or a Lambda cold start with a fresh /tmp): an alarm already in ALARM
    # means this crossing was announced before, so do not announce it again.
    return alarm_state == "ALARM"


def check_reading(
    aws: AwsClients,
    store: Store,
    config: MonitorConfig,
    reading: CapacityReading,
    post: PostFn | None = None,
    tz: tzinfo | None = None,
) -> CapacityCheck:
    """Record, publish and alarm on one reading; alert on a crossing or a recovery."""
    home = config.metrics_region or aws.default_region
    store.add_sample(sample_series(reading.region), reading.at, reading.usage_bytes)
    forecast = recorded_forecast(store, reading.region, now=reading.at, limit_bytes=reading.limit_bytes)
    publish_metrics(aws.client("cloudwatch", home), reading)
    alarm_name, alarm_state = ensure_alarm(aws, config, reading.region, home)

    alerting = _load_alerting(store, reading.region, alarm_state)
    now_alerting, transition = next_alert_state(reading, config, alerting)
    alerted = False
    if transition and config.alert_channel and post:
        biggest = biggest_functions(aws, reading.region, config.rate) if transition == "crossed" else []
        text, blocks = alert_message(reading, config, transition, forecast, tz or UTC, biggest)
        try:
            post(config.alert_channel, text, blocks)
            alerted = True
        except Exception:
            # Keep the old state so the next run tries again: an alert is worth a retry.
            log.exception("could not post the %s alert for %s", transition, reading.region)
            return CapacityCheck(reading.region, reading, transition, False, alarm_name, forecast, "alert not posted")
    store.put(STATE_NAMESPACE, reading.region, {"alerting": now_alerting, "at": reading.at})
    return CapacityCheck(reading.region, reading, transition, alerted, alarm_name, forecast)


def run_capacity_check(
    aws: AwsClients,
    store: Store,
    settings: Settings,
    post: PostFn | None = None,
    now: datetime | None = None,
    regions: Sequence[str] | None = None,
) -> list[CapacityCheck]:
    """One monitor run over the configured regions; never raises for one region's AWS error."""
    config = MonitorConfig.from_options(settings.options_for(COMMAND))
    at = (now or datetime.now().astimezone()).timestamp()
    wanted = tuple(regions or config.regions or ([aws.default_region] if aws.default_region else []))
    if not wanted:
        raise SettingsError("No AWS region is configured: set AWS_DEFAULT_REGION or monitor_regions.")
    checks: list[CapacityCheck] = []
    for region in wanted:
        try:
            reading = read_capacity(aws, region, config, at)
            checks.append(check_reading(aws, store, config, reading, post, settings.timezone))
        except (ClientError, BotoCoreError) as exc:
            log.error("capacity check of %s failed: %s", region, describe_aws_error(exc))
            checks.append(CapacityCheck(region, error=describe_aws_error(exc)))
    return checks


# -- for the runners: the serve job (bot.jobs) and the scheduled Lambda (bot.lambda_handler)


def monitor_interval(settings: Settings) -> float | None:
    """Seconds between background checks in `opsbot serve`; None when the monitor is off.

    On with `monitor_every_seconds = N` (at least 60) in [commands.lambda-capacity].
    """
    return number_option(settings.options_for(COMMAND), "monitor_every_seconds", None, minimum=60)


def slack_poster(client: Any, pacer: ChannelPacer | None = None) -> PostFn:
    """A `post` for the monitor: chat.postMessage through a WebClient, paced per channel."""
    pacer = pacer or ChannelPacer()

    def post(channel: str, text: str, blocks: list[dict[str, Any]]) -> None:
        pacer.wait(channel)
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)

    return post
