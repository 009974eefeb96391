"""The hourly klines run, and whether schedules start out running.

A schedule's first state comes from ``SCHEDULES_ENABLED``: true (meant for docker compose) starts it
RUNNING, anything else STOPPED, so a local ``./scripts/dev`` — whose default exchange is the real
Binance — fetches nothing until you switch a schedule on in the UI. Once switched in the UI, the
instance remembers that state and the variable no longer matters for it.
"""

import dagster as dg

from binance_assets.config import env_flag

SCHEDULES_ENABLED = "SCHEDULES_ENABLED"
# The hour's last candle closes at HH:59:59.999 on the exchange's clock; five minutes later it is
# closed whatever the clock skew, and the run avoids the crowd at minute 0.
KLINES_MINUTE_OF_HOUR = 5


def default_schedule_status() -> dg.DefaultScheduleStatus:
    if env_flag(SCHEDULES_ENABLED, default=False):
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


klines_job = dg.define_asset_job(
    "klines_job",
    selection=dg.AssetSelection.groups("klines"),
    description="One hour of 1-minute candles: exchange → raw lake → Parquet → ClickHouse, with their checks.",
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
