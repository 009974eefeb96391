"""The hourly klines schedule: which hour each tick materialises, and whether it starts running."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from binance_assets.definitions import defs
from binance_assets.errors import ConfigurationError
from binance_assets.lib.schedules import SCHEDULES_ENABLED, default_schedule_status


@pytest.fixture(scope="module")
def klines_hourly() -> dg.ScheduleDefinition:
    return defs.resolve_schedule_def("klines_hourly")


@pytest.mark.parametrize(
    ("tick", "hour"),
    [
        (datetime(2024, 3, 1, 10, 5, tzinfo=UTC), "2024-03-01-09:00"),
        (datetime(2024, 3, 1, 0, 5, tzinfo=UTC), "2024-02-29-23:00"),  # across a day (and leap day)
        (datetime(2025, 1, 1, 0, 5, tzinfo=UTC), "2024-12-31-23:00"),  # across a year
    ],
)
def test_each_tick_materialises_the_hour_that_just_ended(klines_hourly, tick, hour):
    # Close the context (and the instance it opens) before the test's instance: left to the garbage
    # collector, it would later restore a dead instance's state storage and break other tests.
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance, scheduled_execution_time=tick) as context,
    ):
        result = klines_hourly.evaluate_tick(context)

    [request] = result.run_requests
    assert request.partition_key == hour
    assert request.job_name == "klines_job"


def test_it_ticks_five_minutes_after_every_hour_utc(klines_hourly):
    assert klines_hourly.cron_schedule == "5 * * * *"
    assert klines_hourly.execution_timezone == "UTC"


def test_the_job_runs_the_whole_klines_pipeline_with_its_checks():
    job = defs.resolve_job_def("klines_job")
    assert {node.name for node in job.all_node_defs} == {
        "raw_klines",
        "klines_parquet",
        "clickhouse_klines",
        "klines_checks",
    }
    assert {key.name for key in job.asset_layer.asset_graph.asset_check_keys} >= {
        "klines_complete",
        "klines_ohlc_valid",
        "klines_reconciled",
        "klines_stream_agrees",
    }


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (None, dg.DefaultScheduleStatus.STOPPED),
        ("", dg.DefaultScheduleStatus.STOPPED),
        ("false", dg.DefaultScheduleStatus.STOPPED),
        ("0", dg.DefaultScheduleStatus.STOPPED),
        ("true", dg.DefaultScheduleStatus.RUNNING),
        ("Yes", dg.DefaultScheduleStatus.RUNNING),
        ("1", dg.DefaultScheduleStatus.RUNNING),
    ],
)
def test_schedules_start_running_only_when_enabled(monkeypatch, value, status):
    if value is None:
        monkeypatch.delenv(SCHEDULES_ENABLED, raising=False)
    else:
        monkeypatch.setenv(SCHEDULES_ENABLED, value)
    assert default_schedule_status() == status


def test_a_malformed_switch_names_the_variable_and_the_values(monkeypatch):
    monkeypatch.setenv(SCHEDULES_ENABLED, "sometimes")
    with pytest.raises(ConfigurationError, match="SCHEDULES_ENABLED='sometimes'.*set it to true or false"):
        default_schedule_status()
