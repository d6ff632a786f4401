"""The code-storage monitor: one check, run by `opsbot serve` on a timer and by a scheduled Lambda.

Each run reads usage (GetAccountSettings: one call, however large the account), publishes it
as CloudWatch metrics, makes sure the CloudWatch alarm exists (the durable, paging-grade
signal) and posts to Slack once when usage crosses the threshold and once when it recovers.
Recovery needs usage to fall a margin below the threshold, so a reading that hovers around it
does not alert on every run. The check itself does no Slack I/O: it calls the `post` it is
given, the bot's one way out. `JOB` and `LAMBDA_ENTRY` are what the feature declares for the
serve loop and for `bot.lambda_handler.capacity_handler` (deploy/capacity-monitor.yaml).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.aws import AWS_ERRORS, AwsClients, describe_aws_error
from bot.command import CommandContext
from bot.reply import Reply
from bot.settings import Settings, SettingsError
from bot.slack.blocks import context, section
from bot.state import Store
from bot.text import Mrkdwn
from commands.lambda_capacity.forecast import StorageForecast, forecast_text, recorded_forecast
from commands.lambda_capacity.options import NAME, MonitorConfig, number_option
from commands.lambda_capacity.scan import (
    CallCount,
    lambda_client,
    list_function_storage,
    list_layer_storage,
    read_account_storage,
)
from commands.lambda_capacity.storage import FunctionStorage, human_bytes, sample_series

log = logging.getLogger(__name__)

METRIC_NAMESPACE = "Opsbot/Lambda"
TOPIC_NAME = "opsbot-lambda-code-storage"
ALARM_PREFIX = "opsbot-lambda-code-storage-"
STATE_NAMESPACE = "lambda-capacity-monitor"

PostFn = Callable[[str, Reply], None]


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
    except AWS_ERRORS as exc:
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
) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    where = reading.region
    amount = human_bytes(reading.usage_bytes)
    if reading.limit_bytes:
        amount = f"{reading.percent:.1f}% ({amount} of {human_bytes(reading.limit_bytes)})"
    if transition == "crossed":
        text = (
            f":warning: Lambda code storage in {where} is at {amount}, at or above the "
            f"{config.threshold_text()} alarm threshold."
        )
        hint = f"See `{NAME} --region {where}`; admins can free space with `{NAME} prune --region {where}`."
        if biggest:
            top = ", ".join(f"{f.name} {human_bytes(f.code_bytes)} ({len(f.versions)} versions)" for f in biggest)
            hint = f"Biggest: {top}. {hint}"
    else:
        text = f":white_check_mark: Lambda code storage in {where} is back to {amount}, below the alarm threshold."
        hint = ""
    outlook = forecast_text(forecast, reading.at, tz)
    # Function names and the region are AWS's: the whole text is escaped (its *bold* and `code` stay).
    blocks = [section(Mrkdwn.escape(text)), context(Mrkdwn(" ").join(p for p in (outlook, hint) if p))]
    return Mrkdwn.escape(f"{text} {outlook}"), blocks


def _load_alert_state(store: Store, region: str, alarm_state: str, at: float) -> Any:
    # No memory (first run, or a Lambda cold start with a fresh /tmp): an alarm already in ALARM
    # means this crossing was announced before, so do not announce it again.
    return store.for_update(STATE_NAMESPACE, region, {"alerting": alarm_state == "ALARM", "at": at})


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

    read_as = _load_alert_state(store, reading.region, alarm_state, reading.at)
    alerting = bool(read_as.get("alerting")) if isinstance(read_as, dict) else alarm_state == "ALARM"
    now_alerting, transition = next_alert_state(reading, config, alerting)
    new_state = {"alerting": now_alerting, "at": reading.at}
    # Compare-and-set on the state as read: of two runs that saw the same crossing, one alerts.
    if read_as is None or not store.claim(STATE_NAMESPACE, reading.region, read_as, new_state):
        return CapacityCheck(reading.region, reading, None, False, alarm_name, forecast)  # that run alerts
    alerted = False
    if transition and config.alert_channel and post:
        biggest = biggest_functions(aws, reading.region, config.rate) if transition == "crossed" else []
        text, blocks = alert_message(reading, config, transition, forecast, tz or UTC, biggest)
        try:
            post(config.alert_channel, Reply(text=text, blocks=blocks))
            alerted = True
        except Exception:
            # Put the old state back so the next run tries again: an alert is worth a retry.
            store.claim(STATE_NAMESPACE, reading.region, new_state, read_as)
            log.exception("could not post the %s alert for %s", transition, reading.region)
            return CapacityCheck(reading.region, reading, transition, False, alarm_name, forecast, "alert not posted")
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
    config = MonitorConfig.from_options(settings.options_for(NAME))
    at = (now or datetime.now().astimezone()).timestamp()
    wanted = tuple(regions or config.regions or ([aws.default_region] if aws.default_region else []))
    if not wanted:
        raise SettingsError("No AWS region is configured: set AWS_DEFAULT_REGION or monitor_regions.")
    checks: list[CapacityCheck] = []
    for region in wanted:
        try:
            reading = read_capacity(aws, region, config, at)
            checks.append(check_reading(aws, store, config, reading, post, settings.timezone))
        except AWS_ERRORS as exc:
            log.error("capacity check of %s failed: %s", region, describe_aws_error(exc))
            checks.append(CapacityCheck(region, error=describe_aws_error(exc)))
    return checks


# -- for the runners: the serve job (bot.jobs) and the scheduled Lambda (bot.lambda_handler)


def monitor_interval(settings: Settings) -> float | None:
    """Seconds between background checks in `opsbot serve`; None when the monitor is off.

    On with `monitor_every_seconds = N` (at least 60) in [commands.lambda-capacity].
    """
    return number_option(settings.options_for(NAME), "monitor_every_seconds", None, minimum=60)


def run_job(ctx: CommandContext) -> None:
    """One tick of the serve job."""
    run_capacity_check(ctx.aws, ctx.store, ctx.settings, ctx.post)


def run_scheduled(event: Mapping[str, Any], ctx: CommandContext) -> dict[str, Any]:
    """The scheduled Lambda (EventBridge): one monitor run, a summary for the logs."""
    checks = run_capacity_check(ctx.aws, ctx.store, ctx.settings, ctx.post, regions=(event or {}).get("regions"))
    return {
        "regions": [
            {
                "region": c.region,
                "usage_bytes": c.reading.usage_bytes if c.reading else None,
                "percent": c.reading.percent if c.reading else None,
                "transition": c.transition,
                "alerted": c.alerted,
                "error": c.error,
            }
            for c in checks
        ]
    }
