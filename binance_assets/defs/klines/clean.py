"""``klines_parquet``: one sorted, typed Parquet file per symbol-hour."""

import polars as pl

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.clean import from_raw_array, hourly_parquet
from binance_assets.lib.frames import exact_decimals, ms_timestamps

# Binance's 12 kline fields, in order.
RAW_FIELDS = [
    "open_time",
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "base_volume",
    "close_time",
    "quote_volume",
    "number_of_trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "unused",
]
DECIMAL_COLUMNS = [
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "base_volume",
    "quote_volume",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
]
CLEAN_COLUMNS = [
    "trading_pair",
    "open_time",
    "close_time",
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "base_volume",
    "quote_volume",
    "number_of_trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "fetched_at",
]


def klines_frame(symbol: str, rows: list[list], fetched_at_ms: int) -> pl.DataFrame:
    """The clean klines of one symbol-hour from the exchange's rows (kept in open-time order)."""
    frame = pl.DataFrame(
        [row[:12] for row in rows],
        schema={
            name: (pl.Int64 if name in ("open_time", "close_time", "number_of_trades") else pl.String)
            for name in RAW_FIELDS
        },
        orient="row",
    )
    frame = exact_decimals(frame, DECIMAL_COLUMNS, f"{symbol} klines")
    frame = frame.with_columns(
        trading_pair=pl.lit(symbol, pl.String),
        fetched_at=pl.lit(fetched_at_ms, pl.Int64),
    )
    frame = ms_timestamps(frame, ["open_time", "close_time", "fetched_at"])
    return frame.select(CLEAN_COLUMNS).sort("open_time")


klines_parquet = hourly_parquet(
    KLINES,
    "Clean 1-minute candles: exact Decimal(38,8) prices and volumes, UTC ms timestamps.",
    from_raw_array(KLINES.name, klines_frame),
)
