"""What a run covers, read from the run itself: its hours and its assets, in a few words."""

from datetime import datetime

import dagster as dg

from binance_assets.errors import ConfigurationError
from binance_assets.lib.partitions import parse_hour

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
IMPLICIT_JOB = "__ASSET_JOB"
MAX_NAMED_ASSETS = 4


def run_hours(run: dg.DagsterRun) -> tuple[datetime, datetime] | None:
    """First and last hour of an hourly partitioned run; None for any other run."""
    first = run.tags.get(RANGE_START_TAG) or run.tags.get(PARTITION_TAG)
    last = run.tags.get(RANGE_END_TAG) or first
    if first is None:
        return None
    try:
        return parse_hour(first), parse_hour(last)
    except ConfigurationError:  # a partition key that is not an hour
        return None


def describe_run(run: dg.DagsterRun) -> str:
    """``clickhouse_klines, hours 2024-02-20-00:00...2024-02-26-23:00`` or ``klines_job, hour …``."""
    if run.asset_selection:
        names = sorted(key.to_user_string() for key in run.asset_selection)
        what = ", ".join(names[:MAX_NAMED_ASSETS]) + (" …" if len(names) > MAX_NAMED_ASSETS else "")
    else:
        what = run.job_name if run.job_name != IMPLICIT_JOB else "assets"
    first = run.tags.get(RANGE_START_TAG) or run.tags.get(PARTITION_TAG)
    last = run.tags.get(RANGE_END_TAG)
    if first is None:
        return what
    return f"{what}, hours {first}...{last}" if last and last != first else f"{what}, hour {first}"
