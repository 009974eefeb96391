"""``clickhouse_klines`` and its reconciliation check ``klines_reconciled``."""

from binance_assets.lake.klines import klines_parquet
from binance_assets.warehouse.loading import hourly_table

clickhouse_klines, klines_reconciled = hourly_table(
    "klines",
    klines_parquet,
    "{CLICKHOUSE_DATABASE}.klines: ReplacingMergeTree(fetched_at) ordered by (trading_pair, open_time).",
)
