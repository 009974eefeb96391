"""The hourly (UTC) partitions every dataset shares, and the hour arithmetic around them."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from binance_assets import settings
from binance_assets.errors import ConfigurationError
from binance_assets.settings import PARTITION_FORMAT

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
# Run tags that make one run cover a range of partitions (a single-run backfill).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

__all__ = [
    "HOUR_MS",
    "MINUTE_MS",
    "PARTITION_FORMAT",
    "RANGE_END_TAG",
    "RANGE_START_TAG",
    "contiguous_spans",
    "hour_key",
    "hours_target",
    "hourly_partitions",
    "hours_in",
    "parse_hour",
    "to_ms",
]


def parse_hour(key: str, *, source: str = "partition key") -> datetime:
    """A partition key such as ``2024-01-01-00:00`` as an aware UTC datetime."""
    try:
        hour = datetime.strptime(key, PARTITION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ConfigurationError(
            f"Malformed {source} {key!r}: expected an hour as YYYY-MM-DD-HH:00 (UTC), for example 2024-01-01-00:00."
        ) from None
    if hour.minute:
        raise ConfigurationError(f"Malformed {source} {key!r}: hourly partitions start at minute 00.")
    return hour


hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=settings.current().partitions_start, fmt=PARTITION_FORMAT, timezone="UTC"
)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def hour_key(hour_start_ms: int) -> str:
    return datetime.fromtimestamp(hour_start_ms / 1000, UTC).strftime(PARTITION_FORMAT)


def hours_in(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[datetime]:
    """The partition hours one run covers: one hour, or every hour of a single-run backfill."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    return [start + timedelta(hours=i) for i in range(int((end - start) / timedelta(hours=1)))]


def hours_target(first: datetime, last: datetime) -> dict:
    """``RunRequest`` arguments for the hours ``first``..``last``: one partition, or the range as one run."""
    first_key, last_key = first.strftime(PARTITION_FORMAT), last.strftime(PARTITION_FORMAT)
    if first_key == last_key:
        return {"partition_key": first_key, "tags": {}}
    return {"partition_key": None, "tags": {RANGE_START_TAG: first_key, RANGE_END_TAG: last_key}}


def contiguous_spans(hours: list[datetime]) -> list[list[datetime]]:
    """Sorted distinct hours cut into runs of consecutive hours."""
    spans: list[list[datetime]] = []
    for hour in sorted(set(hours)):
        if spans and hour - spans[-1][-1] == timedelta(hours=1):
            spans[-1].append(hour)
        else:
            spans.append([hour])
    return spans
