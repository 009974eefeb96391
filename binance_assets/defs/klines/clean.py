"""``klines_parquet``: one sorted, typed Parquet file per symbol-hour."""

from datetime import datetime
from typing import TYPE_CHECKING

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.clean import hour_by_hour, hourly_parquet, raw_rows
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


def klines_frames(symbol: str, hours: list[tuple[list[list], int | None, str]]) -> list["pl.DataFrame"]:
    """The clean klines of several raw hours of one symbol, each ``(rows, fetched_at_ms, source)``, in one
    polars pass: a frame per hour, in the same order, each in open-time order.

    ``fetched_at_ms`` None: each candle's own close time, the version of the live stream's rows, below
    that of any batch fetch (see ``defs/klines/live``)."""
    import polars as pl

    raw_schema = {
        name: (pl.Int64 if name in ("open_time", "close_time", "number_of_trades") else pl.String)
        for name in RAW_FIELDS
    }
    frame = pl.DataFrame(
        [[*row[:12], part] for part, (rows, _, _) in enumerate(hours) for row in rows],
        schema={**raw_schema, "part": pl.Int32},
        orient="row",
    )
    frame = exact_decimals(frame, DECIMAL_COLUMNS, f"{symbol} klines")
    versions = pl.DataFrame(
        {"part": range(len(hours)), "fetched_ms": [h[1] for h in hours], "source": [h[2] for h in hours]},
        schema={"part": pl.Int32, "fetched_ms": pl.Int64, "source": pl.String},
    )
    frame = frame.join(versions, on="part", how="left").with_columns(
        trading_pair=pl.lit(symbol, pl.String), fetched_at=pl.coalesce("fetched_ms", "close_time")
    )
    frame = ms_timestamps(frame, ["open_time", "close_time", "fetched_at"])
    frame = frame.select("part", *CLEAN_COLUMNS).sort("part", "open_time")
    by_part = frame.partition_by("part", as_dict=True, include_key=False)
    empty = frame.drop("part").clear()
    return [by_part.get((part,), empty) for part in range(len(hours))]


def klines_frame(symbol: str, rows: list[list], fetched_at_ms: int | None, source: str = REST) -> "pl.DataFrame":
    """The clean klines of one symbol-hour (see ``klines_frames``)."""
    return klines_frames(symbol, [(rows, fetched_at_ms, source)])[0]


def klines_of_hours(lake: LakeResource, symbol: str, hours: list[datetime]) -> dict[datetime, "pl.DataFrame"]:
    raw = hour_by_hour(lambda lake, symbol, hour: raw_rows(lake, KLINES.name, symbol, hour))(lake, symbol, hours)
    versions = [(rows, manifest["fetched_at_ms"], manifest.get("source", REST)) for rows, manifest in raw.values()]
    return dict(zip(raw, klines_frames(symbol, versions), strict=True))


klines_parquet = hourly_parquet(
    KLINES,
    "Clean 1-minute candles: exact Decimal(38,8) prices and volumes, UTC ms timestamps, and each candle's "
    "source (rest, archive or stream).",
    klines_of_hours,
)
