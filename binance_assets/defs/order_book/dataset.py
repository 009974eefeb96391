"""Order book: live snapshots, one row per (symbol, snapshot_time, side, level)."""

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.resources.clickhouse import Table

# A snapshot is never revised: reloading an hour only re-inserts identical rows, which collapse.
TABLE = Table(
    "order_book",
    """
    CREATE TABLE IF NOT EXISTS {database}.order_book (
        symbol LowCardinality(String),
        snapshot_time DateTime64(3, 'UTC'),
        last_update_id Int64,
        side LowCardinality(String),
        level UInt16,
        price Decimal(38, 8),
        quantity Decimal(38, 8)
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(snapshot_time)
    ORDER BY (symbol, snapshot_time, side, level)
    """,
)

ORDER_BOOK = HourlyDataset(
    "order_book", group="order_book", table=TABLE, symbol_column="symbol", time_column="snapshot_time"
)
