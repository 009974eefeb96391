"""Symbols: the exchange's symbol dimension from exchangeInfo, one row per symbol."""

from binance_assets.resources.clickhouse import Table

# The latest exchangeInfo fetch wins.
TABLE = Table(
    "symbols",
    """
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
)
