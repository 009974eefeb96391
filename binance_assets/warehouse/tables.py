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
}

# The column holding each table's event time, by which loads and checks select an hour.
TIME_COLUMNS: dict[str, tuple[str, str]] = {"klines": ("trading_pair", "open_time")}
