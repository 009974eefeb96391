"""``clickhouse_orders`` and its reconciliation check ``orders_reconciled``."""

from binance_assets.lake.orders import orders_parquet
from binance_assets.warehouse.loading import hourly_table

clickhouse_orders, orders_reconciled = hourly_table(
    "orders",
    orders_parquet,
    "{CLICKHOUSE_DATABASE}.orders: ReplacingMergeTree(update_time) ordered by (symbol, order_id) — re-fetching "
    "an hour keeps only each order's newest state (query with FINAL). Reconciled by creation time.",
)
