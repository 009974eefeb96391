"""Per-hour check results of a range run, as the UI shows them: each hour's status, severity, and
the materialization it checked (Dagster's GraphQL over a real instance)."""

import dagster as dg
import pytest

from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets_tests.harness import Pipeline, check_statuses, latest_check_execution

# Binance halted spot trading 2021-04-25 04:01–08:45 UTC: hour 04 is a known outage (WARN).
PASSED, LOST, OUTAGE = "2021-04-25-02:00", "2021-04-25-03:00", "2021-04-25-04:00"
HOURS = (PASSED, LOST, OUTAGE)


@pytest.fixture
def range_run(stand_in, tmp_path, dagster_instance) -> Pipeline:
    lost_start = to_ms(parse_hour(LOST)) + 5 * 60_000
    stand_in.remove_candles("BTCUSDT", [lost_start, lost_start + 60_000])  # two candles we never got: ERROR
    outage_start = to_ms(parse_hour(OUTAGE)) + 60_000
    stand_in.remove_range("BTCUSDT", outage_start, outage_start + 59 * 60_000)  # the exchange produced none: WARN
    pipeline = Pipeline(stand_in, tmp_path, instance=dagster_instance)
    pipeline.materialize(PASSED, last=OUTAGE)  # one run for the three hours, checks included
    return pipeline


def test_every_hour_of_a_range_run_shows_its_own_check_status(range_run):
    on_parquet, on_load = (
        check_statuses(range_run.instance, "klines_parquet"),
        check_statuses(range_run.instance, "clickhouse_klines"),
    )

    assert on_parquet["klines_complete"] == {PASSED: "SUCCEEDED", LOST: "FAILED", OUTAGE: "FAILED"}
    assert on_parquet["klines_ohlc_valid"] == dict.fromkeys(HOURS, "SUCCEEDED")
    assert on_load["klines_reconciled"] == dict.fromkeys(HOURS, "SUCCEEDED")  # what we got, we kept
    severities = {
        hour: latest_check_execution(range_run.instance, "klines_parquet", "klines_complete", hour) for hour in HOURS
    }
    assert {hour: e["evaluation"]["severity"] for hour, e in severities.items()} == {
        PASSED: "ERROR",  # a passed result carries the default severity
        LOST: "ERROR",
        OUTAGE: "WARN",
    }


def test_each_result_names_the_materialization_of_its_hour_and_a_newer_one_clears_it(range_run):
    instance = range_run.instance
    materialized = {
        record.partition_key: record.storage_id
        for record in instance.fetch_materializations(dg.AssetKey("klines_parquet"), limit=10).records
    }
    for hour in HOURS:
        target = latest_check_execution(instance, "klines_parquet", "klines_ohlc_valid", hour)["evaluation"]
        assert int(target["targetMaterialization"]["storageId"]) == materialized[hour]

    range_run.materialize(PASSED, selection=dg.AssetSelection.assets("klines_parquet").without_checks())

    # The hour's Parquet was rewritten and not checked since: its old result is no longer current.
    assert check_statuses(instance, "klines_parquet")["klines_ohlc_valid"] == {LOST: "SUCCEEDED", OUTAGE: "SUCCEEDED"}
