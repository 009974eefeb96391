"""The daemon's own tick path: ``execute_sensor_iteration`` against a gRPC code server of the real
code location (``LAKE_URL=s3://…``), runs launched in subprocesses as ``dagster-daemon`` does."""

import logging
import time

import clickhouse_connect
import dagster as dg
from dagster._core.scheduler.instigation import InstigatorType, TickStatus
from dagster._core.test_utils import freeze_time, poll_for_finished_run
from dagster._daemon.sensor import execute_sensor_iteration

from binance_assets.defs.loads.s3_sensor import RUN_KEY_TAG, SENSOR_NAME
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.sqs import NotificationQueue
from binance_assets.setup import setup_lake
from binance_assets_tests.harness import Pipeline, daemon_workspace
from binance_assets_tests.s3_lake import LAKE_URL


def tick(workspace) -> None:
    list(execute_sensor_iteration(workspace, logging.getLogger("sensor-test"), None, None))


def test_daemon_tick_creates_the_load_run_and_the_next_tick_empties_the_queue(aws, stand_in, tmp_path, monkeypatch):
    clickhouse_url = f"chdb://{tmp_path / 'clickhouse'}"
    for name, value in {
        "LAKE_URL": LAKE_URL,
        "BINANCE_API_URL": stand_in.url,
        "BINANCE_ARCHIVE_URL": stand_in.archive_url,
        "BINANCE_SYMBOLS": "BTCUSDT",
        "CLICKHOUSE_URL": clickhouse_url,
    }.items():
        monkeypatch.setenv(name, value)  # the code server and the run processes inherit these
    queue = NotificationQueue()
    list(setup_lake(LakeResource(url=LAKE_URL).store, queue))
    files = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()
    Pipeline(stand_in, tmp_path, lake_url=LAKE_URL).materialize(
        "2024-02-29-00:00", last="2024-02-29-01:00", selection=files
    )

    with daemon_workspace() as (instance, workspace):
        tick(workspace)

        [run] = instance.get_runs()
        assert run.tags[RUN_KEY_TAG].startswith("klines 2024-02-29-00:00...2024-02-29-01:00")
        assert run.tags["dagster/sensor_name"] == SENSOR_NAME
        assert run.asset_selection == {dg.AssetKey("clickhouse_klines")}
        assert poll_for_finished_run(instance, run.run_id, timeout=180).status == dg.DagsterRunStatus.SUCCESS

        client = clickhouse_connect.get_client(dsn=clickhouse_url)
        try:
            assert client.query("SELECT count(), uniqExact(open_time) FROM binance.klines FINAL").result_rows == [
                (120, 120)
            ]
        finally:
            client.close()

        with freeze_time(time.time() + 31):  # past the sensor's minimum interval
            tick(workspace)
        depth = queue.client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        assert (depth["ApproximateNumberOfMessages"], depth["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
        assert len(instance.get_runs()) == 1
        [state] = [
            s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == SENSOR_NAME
        ]
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
        assert [t.status for t in ticks] == [TickStatus.SKIPPED, TickStatus.SUCCESS]  # newest first
