"""The warehouse's tables. ReplacingMergeTree on the natural key: reloads and retries collapse to one row.

Each table's version column decides which copy survives a merge (and ``FINAL``): the newest
observation from the exchange, whatever order the loads ran in.
"""

TABLES: dict[str, str] = {
    "klines": """
        CREATE TABLE IF NOT EXISTS {database}.klines (
            trading_pair LowCardinality(String),
            open_time DateTime64(3, 'UTC'),
            close_time DateTime64(3, 'UTC'),
            open_price Decimal(38, 8),
            high_price Decimal(38, 8),
            low_price Decimal(38, 8),
            close_price Decimal(38, 8),
            base_volume Decimal(38, 8),
            quote_volume Decimal(38, 8),
            number_of_trades UInt64,
            taker_buy_base_volume Decimal(38, 8),
            taker_buy_quote_volume Decimal(38, 8),
            fetched_at DateTime64(3, 'UTC')
        )
        ENGINE = ReplacingMergeTree(fetched_at)
        PARTITION BY toYYYYMM(open_time)
        ORDER BY (trading_pair, open_time)
    """,
    # An order changes after creation (fills, cancels): the newest updateTime wins, whichever load
    # came last. Ordered by (symbol, order_id), so an order keeps one row for good.
    "orders": """
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
            fetched_at DateTime64(3, 'UTC')
        )
        ENGINE = ReplacingMergeTree(update_time)
        PARTITION BY toYYYYMM(time)
        ORDER BY (symbol, order_id)
    """,
    # A snapshot is never revised: reloading an hour only re-inserts identical rows, which collapse.
    "order_book": """
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
    # The symbol dimension: the latest exchangeInfo fetch wins.
    "symbols": """
        CREATE TABLE IF NOT EXISTS {database}.symbols (
            symbol String,
            status LowCardinality(String),
            base_asset LowCardinality(String),
            quote_asset LowCardinality(String),
            base_asset_precision UInt8,
            quote_asset_precision UInt8,
            tick_size Nullable(Decimal(38, 8)),
            step_size Nullable(Decimal(38, 8)),
            min_qty Nullable(Decimal(38, 8)),
            min_notional Nullable(Decimal(38, 8)),
            order_types Array(String),
            is_spot_trading_allowed Bool,
            fetched_at DateTime64(3, 'UTC')
        )
        ENGINE = ReplacingMergeTree(fetched_at)
        ORDER BY symbol
    """,
}

# The column holding each table's event time, by which loads and checks select an hour.
TIME_COLUMNS: dict[str, tuple[str, str]] = {
    "klines": ("trading_pair", "open_time"),
    "orders": ("symbol", "time"),
    "order_book": ("symbol", "snapshot_time"),
}
