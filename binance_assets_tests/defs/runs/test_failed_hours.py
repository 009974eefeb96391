"""What the UI shows for each hour of a range run — materialized, failed, in progress, and each check's
status — in Dagster's default bookkeeping (one planned event per hour and asset) and with one planned
event per asset (``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``), where the ``failed_hours``
sensor records the failed hours (Dagster's GraphQL over a real instance)."""

import dagster as dg
import pytest

from binance_assets.definitions import defs
from binance_assets.defs.runs.failed_hours import SENSOR_NAME
from binance_assets_tests.harness import Pipeline, asset_statuses, check_statuses

FIRST, LAST = "2024-02-29-20:00", "2024-02-29-22:00"
HOURS = ("2024-02-29-20:00", "2024-02-29-21:00", "2024-02-29-22:00")
ASSETS = ("raw_klines", "klines_parquet", "clickhouse_klines")
CHECKS = {"klines_parquet": ("klines_complete", "klines_ohlc_valid"), "clickhouse_klines": ("klines_reconciled",)}
ONE_PER_ASSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
UNREACHABLE_CLICKHOUSE = "http://default:@127.0.0.1:9/"  # the load fails halfway through the run


@pytest.fixture(params=["one planned event per hour", "one planned event per asset"])
def planned_events(request, monkeypatch) -> str:
    if request.param.endswith("per asset"):
        monkeypatch.setenv(ONE_PER_ASSET, "1")  # read by the instance when it creates the run
    else:
        monkeypatch.delenv(ONE_PER_ASSET, raising=False)
    return request.param


@pytest.fixture
def pipeline(stand_in, tmp_path, dagster_instance) -> Pipeline:
    return Pipeline(stand_in, tmp_path, instance=dagster_instance)


def statuses(instance: dg.DagsterInstance) -> dict[str, dict[str, str]]:
    """Asset or check → hour → what the UI shows."""
    shown = {asset: asset_statuses(instance, asset) for asset in ASSETS}
    for asset, checks in CHECKS.items():
        by_check = check_statuses(instance, asset)
        shown |= {check: by_check[check] for check in checks}
    return shown


def every_hour(status: str) -> dict[str, str]:
    return dict.fromkeys(HOURS, status)


def tick(instance: dg.DagsterInstance, cursor: str | None = None) -> "dg.SensorExecutionData":
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(context)


def test_a_range_run_that_succeeds_shows_every_hour_materialized_and_checked(pipeline, planned_events):
    pipeline.materialize(FIRST, last=LAST)

    assert statuses(pipeline.instance) == {
        **{asset: every_hour("MATERIALIZED") for asset in ASSETS},
        **{check: every_hour("SUCCEEDED") for checks in CHECKS.values() for check in checks},
    }
    assert tick(pipeline.instance).skip_message == "no failed hour to record"


def test_a_range_run_that_fails_halfway_shows_which_hours_failed(pipeline, planned_events):
    pipeline.clickhouse_url = UNREACHABLE_CLICKHOUSE
    result = pipeline.materialize(FIRST, last=LAST, raise_on_error=False)
    assert not result.success

    shown = statuses(pipeline.instance)
    if planned_events.endswith("per asset"):
        assert shown["clickhouse_klines"] == {}  # Dagster has no per-hour planned event to call failed
        first = tick(pipeline.instance)
        assert first.skip_message == "3 failed hour(s) recorded"
        assert tick(pipeline.instance, first.cursor).skip_message == "no failed hour to record"
        assert tick(pipeline.instance).skip_message == "no failed hour to record"  # repeated: nothing twice
        shown = statuses(pipeline.instance)
    else:
        assert tick(pipeline.instance).skip_message == "no failed hour to record"  # Dagster did it
    assert shown == {
        "raw_klines": every_hour("MATERIALIZED"),
        "klines_parquet": every_hour("MATERIALIZED"),
        "clickhouse_klines": every_hour("FAILED"),
        **{check: every_hour("EXECUTION_FAILED") for checks in CHECKS.values() for check in checks},
    }


def test_a_range_run_in_progress_shows_its_hours_in_progress(pipeline, planned_events):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey(a) for a in ASSETS})
    pipeline.instance.create_run_for_job(
        job,
        tags={"dagster/asset_partition_range_start": FIRST, "dagster/asset_partition_range_end": LAST},
        asset_selection=frozenset(dg.AssetKey(a) for a in ASSETS),
    )  # created, not yet finished: what the UI shows while the run works

    shown = statuses(pipeline.instance)
    checks = {check: every_hour("IN_PROGRESS") for checks in CHECKS.values() for check in checks}
    if planned_events.endswith("per asset"):
        # The cost of one planned event per asset: the hours of the assets do not show in progress
        # (the assets show the run in progress); their checks still do.
        assert shown == {**{asset: {} for asset in ASSETS}, **checks}
    else:
        assert shown == {**{asset: every_hour("MATERIALIZING") for asset in ASSETS}, **checks}
