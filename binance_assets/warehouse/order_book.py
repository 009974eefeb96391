"""``clickhouse_order_book`` and its reconciliation check ``order_book_reconciled``."""

from binance_assets.lake.order_book import order_book_parquet, order_book_raw_rows
from binance_assets.warehouse.loading import hourly_table

clickhouse_order_book, order_book_reconciled = hourly_table(
    "order_book",
    order_book_parquet,
    "{CLICKHOUSE_DATABASE}.order_book: one row per snapshot level, ReplacingMergeTree ordered by "
    "(symbol, snapshot_time, side, level).",
    raw_rows=order_book_raw_rows,
)
