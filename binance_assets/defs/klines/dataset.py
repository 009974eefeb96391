"""Klines: Binance's 1-minute candles, one row per (trading_pair, open_time)."""

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.resources.clickhouse import Table

# ReplacingMergeTree on the natural key: reloads and retries collapse to one row, and a corrected
# candle (a newer fetch) replaces the old one.
TABLE = Table(
    "klines",
    """
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
        fetched_at DateTime64(3, 'UTC'),
        source LowCardinality(String) DEFAULT 'rest'
    )
    ENGINE = ReplacingMergeTree(fetched_at)
    PARTITION BY toYYYYMM(open_time)
    ORDER BY (trading_pair, open_time)
    """,
    # Tables created before candles had a source: their rows all came from REST.
    migrations=("ALTER TABLE {database}.klines ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT 'rest'",),
)

KLINES = HourlyDataset("klines", group="klines", table=TABLE, symbol_column="trading_pair", time_column="open_time")
