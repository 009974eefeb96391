"""Orders: the account's orders, one row per (symbol, order_id) in its newest state."""

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.resources.clickhouse import Table

# An order changes after creation (fills, cancels): the newest updateTime wins, whichever load
# came last. Ordered by (symbol, order_id), so an order keeps one row for good. prevented_* are
# Binance's self-trade-prevention fields, set only on orders it expired for that (EXPIRED_IN_MATCH):
# the id of the prevented match and the quantity that did not trade.
TABLE = Table(
    "orders",
    """
    CREATE TABLE IF NOT EXISTS {database}.orders (
        symbol LowCardinality(String),
        order_id Int64,
        price Decimal(38, 8),
        orig_qty Decimal(38, 8),
        executed_qty Decimal(38, 8),
        status LowCardinality(String),
        type LowCardinality(String),
        side LowCardinality(String),
        client_order_id String,
        cummulative_quote_qty Nullable(Decimal(38, 8)),
        time_in_force LowCardinality(String),
        time DateTime64(3, 'UTC'),
        update_time DateTime64(3, 'UTC'),
        order_list_id Nullable(Int64),
        stop_price Nullable(Decimal(38, 8)),
        iceberg_qty Nullable(Decimal(38, 8)),
        orig_quote_order_qty Nullable(Decimal(38, 8)),
        is_working Nullable(Bool),
        working_time Nullable(DateTime64(3, 'UTC')),
        self_trade_prevention_mode LowCardinality(Nullable(String)),
        prevented_match_id Nullable(Int64),
        prevented_quantity Nullable(Decimal(38, 8)),
        fetched_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree(update_time)
    PARTITION BY toYYYYMM(time)
    ORDER BY (symbol, order_id)
    """,
    # Tables created before the self-trade-prevention fields were kept: their orders had none.
    migrations=tuple(
        f"ALTER TABLE {{database}}.orders ADD COLUMN IF NOT EXISTS {column} AFTER self_trade_prevention_mode"
        for column in ("prevented_quantity Nullable(Decimal(38, 8))", "prevented_match_id Nullable(Int64)")
    ),
)

# Reconciled and loaded by creation time: an order belongs to the hour it was created in.
ORDERS = HourlyDataset("orders", group="orders", table=TABLE, symbol_column="symbol", time_column="time")
