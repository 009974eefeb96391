"""What starts the loads into ClickHouse: S3 notifications, or declarative automation on a local lake.

On S3 (``LAKE_URL=s3://…``) ``s3_parquet_sensor`` drives the ``clickhouse_*`` assets, so files that
arrive from outside Dagster load too. A local lake has no notifications: the load assets carry an
automation condition instead, evaluated by a sensor that runs by default, so the embedded setup
still loads by itself.
"""

import dagster as dg

from binance_assets.config import is_s3_url
from binance_assets.warehouse.loading import LOAD_ASSETS
from binance_assets.warehouse.sensors import s3_parquet_sensor

# ``eager()`` only looks at the latest hourly partition; a backfill of Parquet must load too, so every
# partition whose Parquet was updated since its last load qualifies.
LOAD_WHEN_PARQUET_UPDATES = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
).with_label("load when its Parquet is updated")

load_automation_sensor = dg.AutomationConditionSensorDefinition(
    "clickhouse_follows_lake",
    target=LOAD_ASSETS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Loads every hour whose clean Parquet was (re)written in the local lake.",
)


def _automated(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(automation_condition=LOAD_WHEN_PARQUET_UPDATES)


def with_load_triggers(defs: dg.Definitions, lake_url: str) -> dg.Definitions:
    """``defs`` plus what starts the loads for a lake at ``lake_url``."""
    if is_s3_url(lake_url):
        return dg.Definitions.merge(defs, dg.Definitions(sensors=[s3_parquet_sensor]))
    automated = defs.map_resolved_asset_specs(func=_automated, selection=LOAD_ASSETS)
    return dg.Definitions.merge(automated, dg.Definitions(sensors=[load_automation_sensor]))
