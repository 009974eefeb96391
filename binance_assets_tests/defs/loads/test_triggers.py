"""What starts the loads: declarative automation on a local lake, the S3 sensor on an S3 lake."""

import os
from datetime import UTC, datetime, timedelta

import dagster as dg

from binance_assets.definitions import defs as local_lake_defs
from binance_assets.defs.klines.clean import klines_parquet
from binance_assets.defs.klines.dataset import KLINES
from binance_assets.defs.klines.raw import raw_klines
from binance_assets.defs.loads.s3_sensor import SENSOR_NAME
from binance_assets.defs.loads.triggers import load_triggers_for
from binance_assets.lib.load import hourly_load
from binance_assets.resources.sqs import NotificationQueue
from binance_assets_tests.harness import (
    NO_STEP_RETRIES,
    Pipeline,
    embedded_clickhouse_held,
    materialize_cli,
    warehouse_counts,
)
from binance_assets_tests.s3_lake import LAKE_URL, S3Flow

LOAD = dg.AssetKey("clickhouse_klines")
COVERAGE = dg.AssetKey("klines_warehouse_coverage")
HOUR = "2024-02-29-22:00"
PARQUET_ONLY = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()


def sensors(defs: dg.Definitions) -> dict[str, dg.DefaultSensorStatus]:
    """The load triggers' first states (other sensors, e.g. the live stream's, aside)."""
    return {s.name: s.default_status for s in defs.sensors if s.name in ("clickhouse_follows_lake", SENSOR_NAME)}


def test_a_local_lake_loads_through_automation_and_an_s3_lake_through_the_sensor(tmp_path):
    local, s3 = load_triggers_for(str(tmp_path / "lake")), load_triggers_for("s3://crypto/lake")
    running, stopped = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED

    assert sensors(local) == {"clickhouse_follows_lake": running, SENSOR_NAME: stopped}
    # On S3 the automation still runs: it retries failed loads (the S3 sensor loads new files).
    assert sensors(s3) == {"clickhouse_follows_lake": running, SENSOR_NAME: running}
    graph = local_lake_defs.resolve_asset_graph()
    automated = {key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition is not None}
    assert automated == {
        dg.AssetKey(f"{prefix}{d}{suffix}")
        for d in ("klines", "orders", "order_book")
        for prefix, suffix in (("clickhouse_", ""), ("", "_warehouse_coverage"))
    }


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


class Daemon:
    """Evaluates the automation conditions as the daemon does: each tick with the previous tick's cursor, at
    a chosen time (minutes after a 5-minute boundary, so the retry schedule's ticks fall where a test says)."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance, self.cursor = defs, instance, None
        now = datetime.now(UTC)
        self.start = now.replace(minute=now.minute - now.minute % 5, second=10, microsecond=0)

    def tick(self, minutes: float) -> set[str]:
        """The hours of ``clickhouse_klines`` this tick requests."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            cursor=self.cursor,
            evaluation_time=self.start + timedelta(minutes=minutes),
        )
        self.cursor = result.cursor
        return result.get_requested_partitions(LOAD)


def load_while_the_warehouse_is_held(pipeline: Pipeline, env: dict) -> str:
    """The requested load, run by the CLI while a notebook holds the embedded ClickHouse for longer than the
    step's retries last (they are switched off to get there at once). Returns the CLI's stderr."""
    with embedded_clickhouse_held(pipeline.clickhouse_url) as holder:
        load = materialize_cli(env, "--partition", HOUR, "--config-json", NO_STEP_RETRIES, select="clickhouse_klines")
    assert load.returncode != 0
    busy = f"WarehouseBusyError: Another process holds the embedded ClickHouse at {pipeline.root / 'clickhouse'}"
    assert f"{busy} (pid {holder.pid}, python" in load.stderr
    return load.stderr


def test_an_hour_whose_load_failed_while_the_warehouse_was_held_arrives_once_it_is_free(stand_in, tmp_path, cli_env):
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        pipeline = Pipeline(stand_in, tmp_path, symbols=cli_env["BINANCE_SYMBOLS"], instance=instance)
        daemon = Daemon(local_lake_defs, instance)
        assert daemon.tick(0) == set()

        pipeline.materialize(HOUR, selection=PARQUET_ONLY)
        assert daemon.tick(0.5) == {HOUR}
        load_while_the_warehouse_is_held(pipeline, cli_env)

        report = pipeline.materialize(None, selection=[COVERAGE]).get_asset_check_evaluations()[0]
        assert not report.passed and report.description.startswith(
            "2 symbol-hour(s) (BTCUSDT 2024-02-29 22:00, ETHUSDT 2024-02-29 22:00) have klines Parquet in the lake "
            "but no rows in binance.klines."
        )
        assert daemon.tick(1) == set()  # not a failing run every 30 s
        assert daemon.tick(5.5) == {HOUR}  # the holder has gone; the next 5-minute tick requests the hour again
        pipeline.materialize(HOUR, selection=[LOAD])  # the daemon launches the requested run

        assert warehouse_counts(cli_env) == (120, 120)
        assert daemon.tick(11) == set()
        assert pipeline.materialize(None, selection=[COVERAGE]).get_asset_check_evaluations()[0].passed


def test_on_s3_a_load_the_sensor_requested_that_failed_is_requested_again(
    aws, stand_in, tmp_path, cli_env, monkeypatch
):
    monkeypatch.setenv("LAKE_URL", LAKE_URL)  # the load asset as a code location on S3 defines it
    s3_load = hourly_load(KLINES, "on S3")
    env = {**cli_env, **{k: v for k, v in os.environ.items() if k.startswith("AWS_")}, "LAKE_URL": LAKE_URL}
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        flow = S3Flow(
            Pipeline(stand_in, tmp_path, symbols=env["BINANCE_SYMBOLS"], lake_url=LAKE_URL, instance=instance)
        )
        flow.setup()
        on_s3 = dg.Definitions(assets=[raw_klines, klines_parquet, s3_load], resources=flow.pipeline.resources())
        daemon = Daemon(on_s3, instance)
        assert daemon.tick(0) == set()

        flow.pipeline.materialize(HOUR, selection=PARQUET_ONLY)
        assert [r.partition_key for r in flow.tick().run_requests] == [HOUR]  # the S3 sensor requests the load
        assert daemon.tick(0.5) == set()  # new Parquet on S3 is the sensor's to load, not the automation's
        load_while_the_warehouse_is_held(flow.pipeline, env)

        assert daemon.tick(1) == set()
        assert daemon.tick(5.5) == {HOUR}  # the failed load, requested again once the 5-minute tick comes
        flow.pipeline.materialize(HOUR, selection=[LOAD])
        assert warehouse_counts(env) == (120, 120)
