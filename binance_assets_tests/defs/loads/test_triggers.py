"""What starts the loads: declarative automation on a local lake, the S3 sensor on an S3 lake."""

import dagster as dg

from binance_assets.definitions import defs as local_lake_defs
from binance_assets.defs.loads.s3_sensor import SENSOR_NAME
from binance_assets.defs.loads.triggers import load_triggers_for
from binance_assets.resources.sqs import NotificationQueue

LOAD = dg.AssetKey("clickhouse_klines")
PARQUET_ONLY = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()


def sensors(defs: dg.Definitions) -> dict[str, dg.DefaultSensorStatus]:
    return {s.name: s.default_status for s in defs.sensors}


def test_a_local_lake_loads_through_automation_and_an_s3_lake_through_the_sensor(tmp_path):
    local, s3 = load_triggers_for(str(tmp_path / "lake")), load_triggers_for("s3://crypto/lake")
    running, stopped = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED

    assert sensors(local) == {"clickhouse_follows_lake": running, SENSOR_NAME: stopped}
    assert sensors(s3) == {"clickhouse_follows_lake": stopped, SENSOR_NAME: running}
    graph = local_lake_defs.resolve_asset_graph()
    loads = {key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition is not None}
    assert loads == {dg.AssetKey(f"clickhouse_{d}") for d in ("klines", "orders", "order_book")}


def test_the_definitions_start_the_trigger_of_the_lake_they_were_loaded_with():
    # The tests run on a local lake (LAKE_URL unset or a path).
    triggers = {
        name: status for name, status in sensors(local_lake_defs).items() if name in sensors(load_triggers_for(""))
    }
    assert triggers == {
        "clickhouse_follows_lake": dg.DefaultSensorStatus.RUNNING,
        SENSOR_NAME: dg.DefaultSensorStatus.STOPPED,
    }


def test_the_load_follows_its_parquet_for_every_updated_hour(pipeline, tmp_path):
    defs, instance = local_lake_defs, pipeline.instance

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
    defs, instance = local_lake_defs, pipeline.instance
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    pipeline.materialize("2024-02-28-00:00", selection=dg.AssetSelection.groups("klines"))  # raw → Parquet → ClickHouse

    assert dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor).total_requested == 0


def test_the_sensor_skips_on_a_local_lake(pipeline, dagster_instance):
    defs = local_lake_defs
    resources = {**pipeline.resources(), "notifications": NotificationQueue()}  # pipeline's lake is local
    with dg.build_sensor_context(instance=dagster_instance, resources=resources, definitions=defs) as context:
        data = defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(context)
    assert data.run_requests == [] and "not on S3" in data.skip_message
