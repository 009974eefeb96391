"""What starts the loads into ClickHouse: S3 notifications, or declarative automation on a local lake.

Both triggers are always defined (the UI shows them); where the lake lives (``LAKE_URL``) decides
which one starts out running. On S3, ``s3_parquet_sensor`` drives the ``clickhouse_*`` assets, so
files that arrive from outside Dagster load too. A local lake has no notifications: the load
assets' automation condition, evaluated by ``clickhouse_follows_lake``, loads every hour whose
Parquet was (re)written, so the embedded setup loads by itself.
"""

import dagster as dg

from binance_assets import settings
from binance_assets.defs.loads.s3_sensor import s3_parquet_sensor
from binance_assets.lib.dataset import HOURLY_LOADS

AUTOMATION_SENSOR_NAME = "clickhouse_follows_lake"
RUNNING, STOPPED = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED


def load_triggers_for(lake_url: str) -> dg.Definitions:
    on_s3 = settings.is_s3_url(lake_url)
    follows_lake = dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=HOURLY_LOADS,
        default_status=STOPPED if on_s3 else RUNNING,
        minimum_interval_seconds=30,
        description="Loads every hour whose clean Parquet was (re)written in a local lake "
        "(running from the start when LAKE_URL is a local path).",
    )
    return dg.Definitions(sensors=[s3_parquet_sensor(RUNNING if on_s3 else STOPPED), follows_lake])


@dg.definitions
def load_triggers() -> dg.Definitions:
    return load_triggers_for(settings.current().lake_url)
