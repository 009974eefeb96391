"""``clickhouse_order_book``: the snapshots' levels in ``{db}.order_book``."""

from binance_assets.defs.order_book.dataset import ORDER_BOOK
from binance_assets.lib.coverage import warehouse_coverage
from binance_assets.lib.load import hourly_load

clickhouse_order_book = hourly_load(
    ORDER_BOOK,
    "{CLICKHOUSE_DATABASE}.order_book: one row per snapshot level, ReplacingMergeTree ordered by "
    "(symbol, snapshot_time, side, level).",
)

order_book_warehouse_coverage = warehouse_coverage(ORDER_BOOK, clickhouse_order_book)
