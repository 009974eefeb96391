"""``klines_parquet``: one sorted, typed Parquet file per symbol-hour."""

import dagster as dg
import polars as pl

from binance_assets.exchange.klines import raw_klines
from binance_assets.exchange.resource import BinanceExchange
from binance_assets.lake.cleaning import MissingUpstreamError, clean_hours, raw_rows
from binance_assets.lake.frames import exact_decimals, ms_timestamps
from binance_assets.lake.resource import LakeResource
from binance_assets.partitions import hourly_partitions, hours_in

__all__ = ["MissingUpstreamError", "klines_frame", "klines_parquet", "raw_rows"]

# Binance's 12 kline fields, in order.
RAW_FIELDS = [
    "open_time", "open_price", "high_price", "low_price", "close_price", "base_volume",
    "close_time", "quote_volume", "number_of_trades", "taker_buy_base_volume",
    "taker_buy_quote_volume", "unused",
]  # fmt: skip
DECIMAL_COLUMNS = [
    "open_price", "high_price", "low_price", "close_price", "base_volume", "quote_volume",
    "taker_buy_base_volume", "taker_buy_quote_volume",
]  # fmt: skip
CLEAN_COLUMNS = [
    "trading_pair", "open_time", "close_time", "open_price", "high_price", "low_price",
    "close_price", "base_volume", "quote_volume", "number_of_trades",
    "taker_buy_base_volume", "taker_buy_quote_volume", "fetched_at",
]  # fmt: skip


def klines_frame(symbol: str, rows: list[list], fetched_at_ms: int) -> pl.DataFrame:
    """The clean klines of one symbol-hour from the exchange's rows (kept in open-time order)."""
    frame = pl.DataFrame(
        [row[:12] for row in rows],
        schema={name: (pl.Int64 if name in ("open_time", "close_time", "number_of_trades") else pl.String) for name in RAW_FIELDS},
        orient="row",
    )
    frame = exact_decimals(frame, DECIMAL_COLUMNS, f"{symbol} klines")
    frame = frame.with_columns(
        trading_pair=pl.lit(symbol, pl.String),
        fetched_at=pl.lit(fetched_at_ms, pl.Int64),
    )
    frame = ms_timestamps(frame, ["open_time", "close_time", "fetched_at"])
    return frame.select(CLEAN_COLUMNS).sort("open_time")


@dg.asset(
    deps=[raw_klines],
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="klines",
    kinds={"polars", "parquet"},
    description="Clean 1-minute candles: exact Decimal(38,8) prices and volumes, UTC ms timestamps.",
)
def klines_parquet(
    context: dg.AssetExecutionContext, exchange: BinanceExchange, lake: LakeResource
) -> dg.MaterializeResult:
    def frame_for(symbol: str, hour) -> pl.DataFrame:
        candles, manifest = raw_rows(lake, "klines", symbol, hour)
        return klines_frame(symbol, candles, manifest["fetched_at_ms"])

    return clean_hours(context, lake, "klines", exchange.symbol_list, hours_in(context), frame_for)
