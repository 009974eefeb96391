"""What starts the loads into ClickHouse: S3 notifications, declarative automation, and the retries.

Both triggers are always defined (the UI shows them). On S3, ``s3_parquet_sensor`` drives the
``clickhouse_*`` assets, so files that arrive from outside Dagster load too. A local lake has no
notifications: the load assets' automation condition loads every hour whose Parquet was
(re)written. On both, ``clickhouse_follows_lake`` runs from the start: it requests again every hour
whose load failed (every 5 minutes, until it succeeds) and refreshes each dataset's
``{dataset}_warehouse_coverage`` report of hours in the lake but not in the warehouse.
"""

import dagster as dg

from binance_assets import settings
from binance_assets.defs.loads.s3_sensor import s3_parquet_sensor
from binance_assets.lib.dataset import HOURLY_LOADS, WAREHOUSE_COVERAGE

AUTOMATION_SENSOR_NAME = "clickhouse_follows_lake"
RUNNING, STOPPED = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED


def load_triggers_for(lake_url: str) -> dg.Definitions:
    on_s3 = settings.is_s3_url(lake_url)
    follows_lake = dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=HOURLY_LOADS | WAREHOUSE_COVERAGE,
        default_status=RUNNING,
        minimum_interval_seconds=30,
        description="Retries every failed load until it succeeds and reports hours missing from the warehouse; "
        "with a local lake, also loads every hour whose clean Parquet was (re)written.",
    )
    return dg.Definitions(sensors=[s3_parquet_sensor(RUNNING if on_s3 else STOPPED), follows_lake])


@dg.definitions
def load_triggers() -> dg.Definitions:
    return load_triggers_for(settings.current().lake_url)
