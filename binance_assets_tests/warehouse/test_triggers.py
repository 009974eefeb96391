"""What starts the loads: declarative automation on a local lake, the S3 sensor on an S3 lake."""

import dagster as dg

from binance_assets.definitions import build_defs
from binance_assets.lake.queue import NotificationQueue
from binance_assets.warehouse.sensors import SENSOR_NAME

LOAD = dg.AssetKey("clickhouse_klines")
PARQUET_ONLY = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()


def sensors(defs: dg.Definitions) -> dict[str, dg.DefaultSensorStatus]:
    return {s.name: s.default_status for s in defs.sensors}


def condition(defs: dg.Definitions, key: dg.AssetKey):
    return defs.resolve_asset_graph().get(key).automation_condition


def test_a_local_lake_loads_through_automation_and_an_s3_lake_through_the_sensor(tmp_path):
    local, s3 = build_defs(str(tmp_path / "lake")), build_defs("s3://crypto/lake")

    assert sensors(local) == {"clickhouse_follows_lake": dg.DefaultSensorStatus.RUNNING}
    assert condition(local, LOAD) is not None and condition(local, dg.AssetKey("klines_parquet")) is None
    assert sensors(s3) == {SENSOR_NAME: dg.DefaultSensorStatus.RUNNING}
    assert condition(s3, LOAD) is None


def test_the_load_follows_its_parquet_for_every_updated_hour(pipeline, tmp_path):
    defs, instance = build_defs(str(tmp_path / "lake")), pipeline.instance

    def evaluate(cursor=None):
        return dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)

    baseline = evaluate()
    assert baseline.total_requested == 0  # nothing in the lake yet

    pipeline.materialize(
        "2024-02-28-00:00", last="2024-02-28-01:00", selection=PARQUET_ONLY
    )  # a backfill, not the latest hour
    updated = evaluate(baseline.cursor)
    assert updated.get_requested_partitions(LOAD) == {"2024-02-28-00:00", "2024-02-28-01:00"}

    pipeline.materialize("2024-02-28-00:00", last="2024-02-28-01:00", selection=[LOAD])  # the requested load ran
    settled = evaluate(updated.cursor)
    assert settled.total_requested == 0

    pipeline.materialize("2024-02-28-01:00", selection=PARQUET_ONLY)  # one hour rewritten
    assert evaluate(settled.cursor).get_requested_partitions(LOAD) == {"2024-02-28-01:00"}


def test_a_run_that_already_loaded_its_parquet_requests_nothing_more(pipeline, tmp_path):
    defs, instance = build_defs(str(tmp_path / "lake")), pipeline.instance
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    pipeline.materialize("2024-02-28-00:00", selection=dg.AssetSelection.groups("klines"))  # raw → Parquet → ClickHouse

    assert dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor).total_requested == 0


def test_the_sensor_skips_on_a_local_lake(pipeline, dagster_instance):
    defs = build_defs("s3://crypto/lake")
    resources = {**pipeline.resources(), "notifications": NotificationQueue()}  # pipeline's lake is local
    with dg.build_sensor_context(instance=dagster_instance, resources=resources, definitions=defs) as context:
        data = defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(context)
    assert data.run_requests == [] and "not on S3" in data.skip_message
