"""Which earlier runs a run waits for: overlapping hours of assets one writes and the other reads or
writes (see also binance_assets_tests/faults/test_killed_runs.py: two CLI runs started at once)."""

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from binance_assets.definitions import defs
from binance_assets.lib.runs.overlaps import Overlaps

KLINES_GROUP = ["raw_klines", "klines_parquet", "clickhouse_klines"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def start(instance, assets: list[str], first: str | None = None, last: str | None = None) -> dg.DagsterRun:
    """A run of ``assets`` over the hours first...last (none: unpartitioned), started now, after every
    run started before it."""
    if last is not None:
        hours = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    else:
        hours = {"dagster/partition": first} if first else {}
    run = create_run_for_test(
        instance, asset_selection=frozenset(dg.AssetKey(a) for a in assets), tags=hours, job_name="__ASSET_JOB"
    )
    instance.report_dagster_event(
        dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name), run.run_id
    )
    return instance.get_run_by_id(run.run_id)


def waits_for(instance, run: dg.DagsterRun) -> list[tuple[str, str]]:
    return [(other.run_id, shared) for other, shared in Overlaps(instance, run, defs.get_repository_def()).blocking()]


def test_the_later_of_two_runs_over_the_same_hours_waits_for_the_earlier_one_only(instance):
    earlier = start(instance, KLINES_GROUP, "2024-02-10-00:00", "2024-02-14-23:00")
    later = start(instance, KLINES_GROUP, "2024-02-13-00:00", "2024-02-17-23:00")

    assert waits_for(instance, earlier) == []
    assert waits_for(instance, later) == [
        (earlier.run_id, "hours 2024-02-13-00:00...2024-02-14-23:00 of clickhouse_klines, klines_parquet, raw_klines")
    ]


def test_a_load_waits_for_the_run_writing_the_parquet_it_reads(instance):
    writing = start(instance, ["raw_klines", "klines_parquet"], "2024-02-10-00:00", "2024-02-10-05:00")
    loading = start(instance, ["clickhouse_klines"], "2024-02-10-05:00")

    assert waits_for(instance, loading) == [(writing.run_id, "hours 2024-02-10-05:00 of klines_parquet")]


def test_runs_over_other_hours_or_other_datasets_do_not_wait(instance):
    start(instance, KLINES_GROUP, "2024-02-10-00:00", "2024-02-10-05:00")
    orders = start(
        instance, ["raw_orders", "orders_parquet", "clickhouse_orders"], "2024-02-10-00:00", "2024-02-10-05:00"
    )
    later_hours = start(instance, KLINES_GROUP, "2024-02-10-06:00", "2024-02-10-09:00")
    unpartitioned = start(instance, ["exchange_info"])

    assert waits_for(instance, orders) == []
    assert waits_for(instance, later_hours) == []
    assert waits_for(instance, unpartitioned) == []
