"""The warehouse: one row per (trading_pair, open_time) whatever is rerun, exact to the last decimal."""

import os
import subprocess
import sys
from decimal import Decimal

import dagster as dg
import polars as pl
import pytest

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.errors import ConfigurationError
from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets.resources.clickhouse import ClickHouseWarehouse, redact
from binance_assets_tests.harness import STAND_IN_NOW_MS, Pipeline, evaluations, failure_message, step_retries
from binance_stand_in import ExchangeStandIn, SymbolSpec

HOUR = "2024-02-29-22:00"
LOAD = dg.AssetKey("clickhouse_klines")
HOUR_MS = to_ms(parse_hour(HOUR))
COUNTS = "SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL"


def test_rerunning_a_partition_keeps_exactly_one_row_per_candle(pipeline, clickhouse_query):
    for _ in range(3):
        pipeline.materialize(HOUR)
    pipeline.materialize("2024-02-29-21:00", last="2024-02-29-23:00")  # a range overlapping it

    assert clickhouse_query(COUNTS) == [(180, 180)]
    clickhouse_query("OPTIMIZE TABLE binance.klines FINAL")
    assert clickhouse_query("SELECT count() FROM binance.klines") == [(180,)]  # merged away, not just hidden


def test_a_corrected_candle_replaces_the_old_one(pipeline, stand_in, clickhouse_query):
    pipeline.materialize(HOUR)
    stand_in.correct_candle("BTCUSDT", HOUR_MS + 60_000, close="70000.12345678", high="70000.12345678")
    pipeline.materialize(HOUR)

    rows = clickhouse_query(
        "SELECT close_price FROM binance.klines FINAL WHERE open_time = fromUnixTimestamp64Milli({t:Int64}, 'UTC')",
        t=HOUR_MS + 60_000,
    )
    assert rows == [(Decimal("70000.12345678"),)]


def test_decimals_arrive_in_clickhouse_exactly_as_the_exchange_sent_them(pipeline, stand_in, clickhouse_query):
    stand_in.correct_candle(
        "BTCUSDT",
        HOUR_MS,
        open="0.00000001",
        low="0.00000001",
        close="1234567890123.12345678",
        high="1234567890123.12345679",
        volume="0.10000000",
        quote_volume="123456.78901234",
    )
    pipeline.materialize(HOUR)
    served = stand_in.candles("BTCUSDT", start_ms=HOUR_MS, end_ms=HOUR_MS + 3_599_999)
    stored = clickhouse_query(
        "SELECT open_price, high_price, low_price, close_price, base_volume, quote_volume, number_of_trades "
        "FROM binance.klines FINAL ORDER BY open_time"
    )
    assert [[f"{v:.8f}" for v in row[:6]] + [row[6]] for row in stored] == [
        [*sent[1:6], sent[7], sent[8]] for sent in served
    ]


def test_idle_minutes_and_sub_satoshi_prices_land_exactly_and_pass_every_check(tmp_path):
    thin = SymbolSpec.make("THINBTC", idle_minute_share=0.4)  # 40 % of minutes without a trade
    with ExchangeStandIn(symbols=(thin, "SHIBUSDT"), now_ms=STAND_IN_NOW_MS) as exchange:
        pipeline = Pipeline(exchange, tmp_path, symbols="THINBTC,SHIBUSDT")
        result = pipeline.materialize("2024-02-29-20:00", last=HOUR)  # 3 hours
        served = {
            symbol: exchange.candles(symbol, start_ms=HOUR_MS - 7_200_000, end_ms=HOUR_MS + 3_599_999)
            for symbol in ("THINBTC", "SHIBUSDT")
        }

    stored = pipeline.query(
        "SELECT trading_pair, open_price, high_price, low_price, close_price, base_volume, quote_volume, "
        "number_of_trades FROM binance.klines FINAL ORDER BY trading_pair, open_time",
    )
    assert [[pair, *(f"{v:.8f}" for v in row[:6]), row[6]] for pair, *row in stored] == [
        [symbol, *sent[1:6], sent[7], sent[8]] for symbol in ("SHIBUSDT", "THINBTC") for sent in served[symbol]
    ]
    idle = [row for row in served["THINBTC"] if row[8] == 0]
    assert idle and all(row[1] == row[2] == row[3] == row[4] and row[5] == "0.00000000" for row in idle)
    assert max(Decimal(row[2]) for row in served["SHIBUSDT"]) < Decimal("0.0001")
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):
        verdicts = evaluations(result, check)
        assert len(verdicts) == 3 and all(v.passed for v in verdicts.values()), check


def test_a_range_backfill_fetches_full_pages_and_checks_every_hour(pipeline, stand_in, clickhouse_query):
    pipeline.symbols, pipeline.klines_source = "BTCUSDT,ETHUSDT", "rest"  # REST paging (the archive: test_fetch.py)
    result = pipeline.materialize("2024-02-26-00:00", last="2024-02-28-23:00")  # 72 hours, 4,320 candles a symbol

    assert stand_in.count(path="/api/v3/klines") == 2 * 5
    assert clickhouse_query(COUNTS) == [(8640, 8640)]
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):
        verdicts = evaluations(result, check)
        assert len(verdicts) == 72 and all(v.passed for v in verdicts.values()), check
    materialized = {(e.asset_key.to_user_string(), e.partition) for e in result.get_asset_materialization_events()}
    assert len(materialized) == 3 * 72


def test_rows_missing_from_the_warehouse_fail_reconciliation(pipeline, clickhouse_query):
    pipeline.materialize(HOUR)
    clickhouse_query("DELETE FROM binance.klines WHERE toMinute(open_time) < 10")
    result = pipeline.materialize(
        HOUR,
        selection=dg.AssetSelection.checks_for_assets("clickhouse_klines") | dg.AssetSelection.assets("klines_parquet"),
    )
    verdict = evaluations(result, "klines_reconciled")[HOUR]

    assert not verdict.passed
    assert verdict.metadata["clickhouse_rows"].value == 50 and verdict.metadata["raw_rows"].value == 60


def test_a_range_load_loads_every_readable_hour_and_names_exactly_the_unreadable_ones(pipeline, clickhouse_query):
    pipeline.materialize("2024-02-29-20:00", last="2024-02-29-22:00", selection=["raw_klines", "klines_parquet"])
    parquet = pipeline.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=21/klines.parquet"
    parquet.write_bytes(b"PAR1 this is not parquet")  # its _SUCCESS stays

    result = pipeline.materialize(
        "2024-02-29-20:00", last="2024-02-29-22:00", selection=["clickhouse_klines"], raise_on_error=False
    )

    assert not result.success and step_retries(result) == 0  # only rewriting the file helps
    assert failure_message(result).splitlines()[0] == (
        "binance_assets.lib.load.UnreadableParquetError: The clean klines Parquet of 1 symbol-hour(s) "
        f"(BTCUSDT 2024-02-29 21:00) is unreadable (first: {parquet}), so those hours were not loaded and the other "
        "2 hour(s) were: re-materialise klines_parquet for 2024-02-29-21:00 to rewrite it."
    )
    assert clickhouse_query("SELECT toHour(open_time), count() FROM binance.klines FINAL GROUP BY 1 ORDER BY 1") == [
        (20, 60),
        (22, 60),
    ]
    recorded = pipeline.instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=LOAD), limit=10).records
    # Recorded per hour: only the unreadable hour counts as failed, so only it is retried.
    assert {r.partition_key for r in recorded} == {"2024-02-29-20:00", "2024-02-29-22:00"}


def test_an_unopenable_warehouse_names_the_setting_without_leaking_the_password():
    warehouse = ClickHouseWarehouse(url="http://reader:s3cret@127.0.0.1:1/")
    with pytest.raises(ConfigurationError) as error:
        warehouse.ensure_tables([KLINES.table])
    assert "CLICKHOUSE_URL" in str(error.value) and "s3cret" not in str(error.value)
    assert redact("http://reader:s3cret@host:8123/db") == "http://reader:***@host:8123/db"


def test_the_query_command_reads_the_configured_warehouse(pipeline):
    pipeline.materialize(HOUR)
    env = {**os.environ, "CLICKHOUSE_URL": pipeline.clickhouse_url, "CLICKHOUSE_DATABASE": "binance"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "binance_assets.warehouse",
            "SELECT trading_pair, count() FROM {database}.klines FINAL GROUP BY 1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["trading_pair\tcount()", "BTCUSDT\t60"]


def test_a_long_range_loads_in_batches_and_a_missing_hour_stops_it_before_any_insert(
    pipeline, clickhouse_query, monkeypatch
):
    monkeypatch.setattr("binance_assets.lib.load.INSERT_BATCH_ROWS", 100)  # 3 hours → 2 batches
    pipeline.materialize("2024-02-29-20:00", last="2024-02-29-22:00", selection=["raw_klines", "klines_parquet"])
    for hour in (20, 21):
        (pipeline.lake_dir / f"clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour={hour}/_SUCCESS").unlink()

    result = pipeline.materialize(
        "2024-02-29-20:00", last="2024-02-29-22:00", selection=["clickhouse_klines"], raise_on_error=False
    )
    assert failure_message(result).splitlines()[0] == (
        "binance_assets.lib.load.MissingCleanDataError: No complete clean klines Parquet for 2 symbol-hour(s) "
        "(BTCUSDT 2024-02-29 20:00, BTCUSDT 2024-02-29 21:00): materialise klines_parquet for "
        "2024-02-29-20:00...2024-02-29-21:00 first; nothing was loaded."
    )
    assert clickhouse_query("SELECT count() FROM system.tables WHERE database = 'binance' AND name = 'klines'") == [
        (0,)
    ]

    pipeline.materialize("2024-02-29-20:00", last="2024-02-29-21:00", selection=["raw_klines", "klines_parquet"])
    result = pipeline.materialize("2024-02-29-20:00", last="2024-02-29-22:00", selection=["clickhouse_klines"])
    logged = [entry.user_message for entry in pipeline.instance.all_logs(result.run_id)]
    batches = [message for message in logged if "rows inserted (" in message]
    assert batches == [
        "klines: 120 rows inserted (2 of 3 files read)",
        "klines: 180 rows inserted (3 of 3 files read)",
    ]
    assert clickhouse_query(COUNTS) == [(180, 180)]


def test_every_candle_records_its_source_and_an_older_table_gains_the_column_keeping_its_rows(
    pipeline, clickhouse_query
):
    # A table as created before candles had a source, holding one candle loaded back then.
    older_ddl = KLINES.table.ddl.replace(",\n        source LowCardinality(String) DEFAULT 'rest'", "")
    assert "source" not in older_ddl
    clickhouse_query("CREATE DATABASE IF NOT EXISTS binance")
    clickhouse_query(older_ddl.format(database="binance"))
    clickhouse_query(
        "INSERT INTO binance.klines SELECT 'BTCUSDT', toDateTime64('2024-02-29 20:00:00', 3, 'UTC'), "
        "toDateTime64('2024-02-29 20:00:59.999', 3, 'UTC'), 1, 2, 1, 2, 3, 4, 5, 6, 7, now64(3)"
    )

    pipeline.materialize(HOUR)  # 2024-02-29 has ended on the stand-in's clock: its daily archive file

    assert clickhouse_query("SELECT source, count() FROM binance.klines FINAL GROUP BY source ORDER BY source") == [
        ("archive", 60),
        ("rest", 1),
    ]
    parquet = pipeline.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/klines.parquet"
    assert pl.read_parquet(parquet)["source"].unique().to_list() == ["archive"]
