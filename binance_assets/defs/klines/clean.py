"""``klines_parquet``: one sorted, typed Parquet file per symbol-hour."""

from datetime import datetime
from typing import TYPE_CHECKING

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.clean import hourly_parquet, raw_rows
from binance_assets.lib.frames import exact_decimals, ms_timestamps
from binance_assets.resources.lake import LakeResource

if TYPE_CHECKING:  # polars is imported by the step that builds the frames, not by every step process
    import polars as pl

# Binance's 12 kline fields, in order.
RAW_FIELDS = (
    "open_time open_price high_price low_price close_price base_volume close_time quote_volume "
    "number_of_trades taker_buy_base_volume taker_buy_quote_volume unused"
).split()
PRICES = ["open_price", "high_price", "low_price", "close_price"]
VOLUMES = ["base_volume", "quote_volume"]
TAKER_VOLUMES = ["taker_buy_base_volume", "taker_buy_quote_volume"]
DECIMAL_COLUMNS = [*PRICES, *VOLUMES, *TAKER_VOLUMES]
CLEAN_COLUMNS = [
    *("trading_pair", "open_time", "close_time", *PRICES, *VOLUMES),
    *("number_of_trades", *TAKER_VOLUMES, "fetched_at", "source"),
]
# Where a candle came from: the REST klines endpoint, Binance's bulk archive, or the live stream.
# A raw hour's manifest names its source; hours written before sources existed are REST.
REST, ARCHIVE, STREAM = "rest", "archive", "stream"


def klines_frame(symbol: str, rows: list[list], fetched_at_ms: int | None, source: str = REST) -> "pl.DataFrame":
    """The clean klines of one symbol-hour from the exchange's rows (kept in open-time order).

    ``fetched_at_ms`` None: each candle's own close time, the version of the live stream's rows, below
    that of any batch fetch (see ``defs/klines/live``)."""
    import polars as pl

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
        fetched_at=pl.col("close_time") if fetched_at_ms is None else pl.lit(fetched_at_ms, pl.Int64),
        source=pl.lit(source, pl.String),
    )
    frame = ms_timestamps(frame, ["open_time", "close_time", "fetched_at"])
    return frame.select(CLEAN_COLUMNS).sort("open_time")


def hour_of_klines(lake: LakeResource, symbol: str, hour: datetime) -> "pl.DataFrame":
    rows, manifest = raw_rows(lake, KLINES.name, symbol, hour)
    return klines_frame(symbol, rows, manifest["fetched_at_ms"], manifest.get("source", REST))


klines_parquet = hourly_parquet(
    KLINES,
    "Clean 1-minute candles: exact Decimal(38,8) prices and volumes, UTC ms timestamps, and each candle's "
    "source (rest, archive or stream).",
    hour_of_klines,
)
