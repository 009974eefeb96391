"""The hourly (UTC) partitions every dataset shares, and the hour arithmetic around them."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import dagster as dg

from binance_assets import settings
from binance_assets.errors import InvalidInputError
from binance_assets.settings import PARTITION_FORMAT

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
LISTED = 5  # symbol-hours named in a one-line error; the rest are counted
EXAMPLE_KEY = "2024-03-01-00:00"
RANGE_SEPARATOR = "..."
# Run tags that make one run cover a range of partitions (a single-run backfill).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
HOUR = timedelta(hours=1)
MAX_BRIDGED_GAP = 24  # hours: the widest gap of complete hours one load run bridges

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
    "key_span",
    "listed_symbol_hours",
    "hours_between",
    "parse_hour",
    "partition_hour",
    "split_range",
    "to_ms",
]


def parse_hour(key: str) -> datetime:
    """A partition key such as ``2024-01-01-00:00`` as an aware UTC datetime, or an error naming the key
    and the format."""
    try:
        hour = datetime.strptime(key, PARTITION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        hour = None
    if hour is None or hour.minute:
        raise InvalidInputError(
            f"Partition key {key!r} is not an hour: write YYYY-MM-DD-HH:00 (UTC), for example {EXAMPLE_KEY}."
        )
    return hour


hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=settings.current().partitions_start, fmt=PARTITION_FORMAT, timezone="UTC"
)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def hour_key(hour_start_ms: int) -> str:
    return datetime.fromtimestamp(hour_start_ms / 1000, UTC).strftime(PARTITION_FORMAT)


def partition_hour(key: str) -> datetime:
    """The hour of a key that is one of the partitions; else an error naming the key and the valid ones."""
    hour = parse_hour(key)
    if not hourly_partitions.has_partition_key(key):
        raise InvalidInputError(
            f"Partition key {key!r} is outside the partitions: they run from {hourly_partitions.get_first_partition_key()} "
            f"(PARTITIONS_START) to {hourly_partitions.get_last_partition_key()} (the last complete UTC hour)."
        )
    return hour


def hours_between(start: str, end: str) -> list[datetime]:
    """Every hour of the partition range ``start...end``, both ends included, each checked."""
    first, last = partition_hour(start), partition_hour(end)
    if first > last:
        raise InvalidInputError(
            f"Partition range {start}{RANGE_SEPARATOR}{end} is reversed: write the earlier hour first, "
            f"{end}{RANGE_SEPARATOR}{start} (START...END, each YYYY-MM-DD-HH:00 UTC)."
        )
    return [first + timedelta(hours=i) for i in range(int((last - first) / timedelta(hours=1)) + 1)]


def split_range(text: str) -> tuple[str, str]:
    """``START...END`` as its two keys; else an error naming the text and the format."""
    parts = text.split(RANGE_SEPARATOR)
    if len(parts) != 2 or not all(parts):
        raise InvalidInputError(
            f"Partition range {text!r} is not START...END: write e.g. {EXAMPLE_KEY}...2024-03-01-23:00 (UTC hours)."
        )
    return parts[0], parts[1]


def hours_in(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[datetime]:
    """The partition hours one run covers: one hour, or every hour of a single-run backfill.

    Checked before any request or write: Dagster creates a run for a reversed range (and the Python
    API for keys outside the partitions), so the first step fails here at once, not retried, with
    one line naming the bad value."""
    keys = context.partition_key_range
    return hours_between(keys.start, keys.end)


def key_span(hours: Iterable[datetime]) -> str:
    """The partition key, or ``first...last`` range, covering ``hours``: what to rerun."""
    ordered = sorted(set(hours))
    first, last = (hour.strftime(PARTITION_FORMAT) for hour in (ordered[0], ordered[-1]))
    return first if first == last else f"{first}...{last}"


def listed_symbol_hours(symbol_hours: Iterable[tuple[str, datetime]]) -> str:
    """``3 symbol-hour(s) (BTCUSDT 2024-02-29 21:00, …)``: the count and the first few, for one-line errors."""
    ordered = sorted(set(symbol_hours), key=lambda pair: (pair[1], pair[0]))
    shown = ", ".join(f"{symbol} {hour:%Y-%m-%d %H}:00" for symbol, hour in ordered[:LISTED])
    more = f" and {len(ordered) - LISTED} more" if len(ordered) > LISTED else ""
    return f"{len(ordered)} symbol-hour(s) ({shown}{more})"


def hours_target(first: datetime, last: datetime) -> dict:
    """``RunRequest`` arguments for the hours ``first``..``last``: one partition, or the range as one run."""
    first_key, last_key = first.strftime(PARTITION_FORMAT), last.strftime(PARTITION_FORMAT)
    if first_key == last_key:
        return {"partition_key": first_key, "tags": {}}
    return {"partition_key": None, "tags": {RANGE_START_TAG: first_key, RANGE_END_TAG: last_key}}


def contiguous_spans(
    hours: list[datetime], bridgeable: Callable[[datetime], bool] = lambda hour: False
) -> list[list[datetime]]:
    """Sorted distinct hours cut into runs of consecutive hours. A gap of at most ``MAX_BRIDGED_GAP``
    whose every hour is ``bridgeable`` joins the hours on either side (its hours included)."""
    spans: list[list[datetime]] = []
    for hour in sorted(set(hours)):
        gap = (
            [spans[-1][-1] + timedelta(hours=i) for i in range(1, int((hour - spans[-1][-1]) / HOUR))] if spans else []
        )
        if spans and len(gap) <= MAX_BRIDGED_GAP and all(bridgeable(h) for h in gap):
            spans[-1].extend([*gap, hour])
        else:
            spans.append([hour])
    return spans
