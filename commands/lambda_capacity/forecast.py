"""Growth of code storage: least squares over the recorded usage, and when the quota is reached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.state import Store
from commands.lambda_capacity.storage import human_bytes, sample_series

FORECAST_WINDOW_DAYS = 14.0
MIN_HISTORY_SECONDS = 3600.0


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
