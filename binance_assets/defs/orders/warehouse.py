"""``clickhouse_orders``: the clean orders in ``{db}.orders``, each in its newest state."""

from binance_assets.defs.orders.dataset import ORDERS
from binance_assets.lib.coverage import warehouse_coverage
from binance_assets.lib.load import hourly_load

clickhouse_orders = hourly_load(
    ORDERS,
    "{CLICKHOUSE_DATABASE}.orders: ReplacingMergeTree(update_time) ordered by (symbol, order_id) — re-fetching "
    "an hour keeps only each order's newest state (query with FINAL). Reconciled by creation time.",
)

orders_warehouse_coverage = warehouse_coverage(ORDERS, clickhouse_orders)
