"""Order-book levels in ClickHouse: exact, one row per (symbol, snapshot_time, side, level)."""

from binance_assets_tests.harness import ORDER_BOOK_HOUR as HOUR
from binance_assets_tests.harness import ORDER_BOOK_HOURLY as HOURLY
from binance_assets_tests.harness import take_snapshots

COUNTS = "SELECT count(), uniqExact(symbol, snapshot_time, side, level) FROM binance.order_book FINAL"


def test_reloading_an_hour_keeps_one_row_per_level(live_pipeline, clickhouse_query):
    live_pipeline.symbols = "BTCUSDT,ETHUSDT"
    take_snapshots(live_pipeline, 2)
    for _ in range(2):
        live_pipeline.materialize(HOUR, selection=HOURLY)
    take_snapshots(live_pipeline, 1)  # a late snapshot in the same hour, then the hour again
    live_pipeline.materialize(HOUR, selection=HOURLY)

    assert clickhouse_query(COUNTS) == [(2 * 3 * 200, 2 * 3 * 200)]
    best = clickhouse_query(
        "SELECT symbol, snapshot_time, anyIf(price, side = 'bid' AND level = 1) < anyIf(price, side = 'ask' AND level = 1) "
        "FROM binance.order_book FINAL GROUP BY 1, 2"
    )
    assert len(best) == 6 and all(row[2] for row in best)
