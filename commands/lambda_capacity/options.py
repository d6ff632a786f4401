"""[commands.lambda-capacity] in the settings file (or, on Lambda, variables): read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.command import CommandError
from bot.settings import SettingsError
from commands.lambda_capacity import NAME
from commands.lambda_capacity.storage import DEFAULT_RATE, human_bytes


def number_option(options: Mapping[str, Any], key: str, default: float | None, minimum: float = 0.0) -> float | None:
    value = options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise SettingsError(
            f"OPSBOT_CONFIG [commands.{NAME.lstrip('/')}] {key}: expected a number ≥ {minimum}, got {value!r}"
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
class CapacityOptions:
    """[commands.lambda-capacity] in the settings file."""

    rate: float = DEFAULT_RATE
    cache_seconds: float = 300.0
    keep: int = 3
    alias_budget: int = 100  # ListAliases calls the estimate may spend (~7 s at 15 req/s)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CapacityOptions:
        try:
            return cls(
                rate=number_option(options, "rate_per_second", DEFAULT_RATE, minimum=0.1) or DEFAULT_RATE,
                cache_seconds=number_option(options, "cache_seconds", 300.0) or 0.0,
                keep=int(number_option(options, "keep", 3, minimum=1) or 3),
                alias_budget=int(number_option(options, "estimate_alias_checks", 100) or 0),
            )
        except SettingsError as exc:
            raise CommandError(str(exc)) from None


# On Lambda the monitor is configured by its template's variables, not a settings file.
