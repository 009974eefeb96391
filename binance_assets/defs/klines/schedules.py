"""The hourly klines run: minute 5 of every hour (UTC), the hour that just ended."""

import dagster as dg

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.runs.executor import IN_PROCESS_RUN_CONFIG
from binance_assets.lib.schedules import SCHEDULES_ENABLED, default_schedule_status

# The hour's last candle closes at HH:59:59.999 on the exchange's clock; five minutes later it is
# closed whatever the clock skew, and the run avoids the crowd at minute 0.
KLINES_MINUTE_OF_HOUR = 5

klines_job = dg.define_asset_job(
    "klines_job",
    selection=dg.AssetSelection.groups(KLINES.group),
    description="One hour of 1-minute candles: exchange → raw lake → Parquet → ClickHouse, with their checks.",
    config=IN_PROCESS_RUN_CONFIG,  # an hour's steps follow one another: one process, not one per step
)

klines_hourly_schedule = dg.build_schedule_from_partitioned_job(
    klines_job,
    name="klines_hourly",
    minute_of_hour=KLINES_MINUTE_OF_HOUR,
    default_status=default_schedule_status(),
    description=(
        f"At minute {KLINES_MINUTE_OF_HOUR} of every hour (UTC), materialises the hour that just ended. "
        f"Starts running when {SCHEDULES_ENABLED}=true."
    ),
)
