"""The live stream's sensors: the embedded load path, and its health through the daemon's own tick."""

import logging

import clickhouse_connect
import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.test_utils import poll_for_finished_run
from dagster._daemon.sensor import execute_sensor_iteration

from binance_assets.defs.klines.live.schedules import klines_stream_loads
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import Settings
from binance_assets_tests.harness import (
    MINUTE,
    LiveStream,
    daemon_workspace,
    minutes_ago,
    move_market,
    open_live_market,
)

LIVE_EDGE_CHECK = dg.AssetCheckKey(dg.AssetKey("klines_stream"), "klines_live_edge_fresh")


def test_the_load_path_runs_from_the_start_only_on_the_embedded_warehouse():
    assert klines_stream_loads.default_status == dg.DefaultSensorStatus.RUNNING  # the tests' warehouse: chdb
    assert Settings({}).warehouse_is_embedded and Settings({"CLICKHOUSE_URL": "chdb:///data"}).warehouse_is_embedded
    assert not Settings({"CLICKHOUSE_URL": "http://binance:secret@clickhouse:8123"}).warehouse_is_embedded


def evaluate_loads(pipeline, cursor: str | None = None):
    with dg.build_sensor_context(cursor=cursor, resources={"lake": LakeResource(url=pipeline.lake_url)}) as context:
        return klines_stream_loads(context)


def hours_of(request: dg.RunRequest) -> tuple[str, str]:
    config = request.run_config["ops"]["clickhouse_klines_stream"]["config"]
    return config["first_hour"], config["last_hour"]


def test_the_embedded_load_path_requests_each_stretch_of_new_live_candles_once(streamed_hour, clickhouse_query):
    pipeline = streamed_hour
    first = evaluate_loads(pipeline)
    [request] = first.run_requests
    assert hours_of(request) == ("2024-03-01-00:00", "2024-03-01-00:00")
    assert isinstance(evaluate_loads(pipeline, first.cursor), dg.SkipReason)  # nothing new

    with LiveStream(pipeline, direct=False) as stream:  # a restart: it carries on from the lake's edge
        move_market(pipeline.stand_in, 2 * MINUTE)
        stream.wait_for_edge(1_709_254_860_000)  # 01:01
    second = evaluate_loads(pipeline, first.cursor)
    [later] = second.run_requests
    assert hours_of(later) == ("2024-03-01-01:00", "2024-03-01-01:00")

    for run in (request, later):
        pipeline.materialize(None, selection=["clickhouse_klines_stream"], run_config=run.run_config)
    assert clickhouse_query("SELECT source, count() FROM binance.klines FINAL GROUP BY 1") == [("stream", 2 * 62)]


def test_the_daemon_records_the_live_edge_and_loads_live_candles_into_chdb(stand_in, pipeline, monkeypatch):
    """The embedded shape end to end: the stream writes the lake only; on its ticks the daemon records
    the health check without a run and launches the load, which opens chdb."""
    now = minutes_ago(0)  # by the real clock, as the code server judges the edge's age
    open_live_market(pipeline, now - 2 * MINUTE + 30_000)
    with LiveStream(pipeline, direct=False) as stream:
        move_market(stand_in, 2 * MINUTE)
        stream.wait_for_edge(now - MINUTE)
    for name, value in {
        "LAKE_URL": pipeline.lake_url,
        "CLICKHOUSE_URL": pipeline.clickhouse_url,
        "BINANCE_SYMBOLS": pipeline.symbols,
        "BINANCE_API_URL": stand_in.url,
    }.items():
        monkeypatch.setenv(name, value)  # the code server and the run process inherit these
    with daemon_workspace() as (instance, workspace):
        list(execute_sensor_iteration(workspace, logging.getLogger("sensor-test"), None, None))

        [run] = instance.get_runs()
        assert run.job_name == "klines_stream_load"
        assert poll_for_finished_run(instance, run.run_id, timeout=180).status == dg.DagsterRunStatus.SUCCESS
        executions = instance.event_log_storage.get_latest_asset_check_execution_by_key([LIVE_EDGE_CHECK])
        assert executions[LIVE_EDGE_CHECK].status == AssetCheckExecutionRecordStatus.SUCCEEDED
        observed = instance.fetch_observations(dg.AssetKey("klines_stream"), limit=1).records
        assert observed[0].asset_observation.metadata["symbols_behind"].value == "none"

    client = clickhouse_connect.get_client(dsn=pipeline.clickhouse_url)
    try:
        assert client.query("SELECT source, count() FROM binance.klines FINAL GROUP BY 1").result_rows == [
            ("stream", 4)
        ]
    finally:
        client.close()
