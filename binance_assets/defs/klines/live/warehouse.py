"""Live candles into ``{db}.klines``: inserted by the stream itself on a ClickHouse server, or by
``clickhouse_klines_stream`` from the lake on the embedded warehouse (one process may open chdb)."""

import time
from datetime import timedelta

import dagster as dg
from pydantic import Field

from binance_assets.defs.klines.dataset import TABLE
from binance_assets.defs.klines.live.dataset import GROUP, LiveCandle, live_frame
from binance_assets.defs.klines.live.raw import klines_stream, read_live_hour
from binance_assets.lib.partitions import parse_hour
from binance_assets.lib.preview import preview
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols


def insert_live(warehouse: ClickHouseWarehouse, candles: list[LiveCandle]) -> int:
    """Insert live candles as klines rows (the table is created if missing)."""
    warehouse.ensure_tables([TABLE])
    return warehouse.insert(TABLE.name, live_frame(candles).to_arrow()) if candles else 0


class LiveHours(dg.Config):
    first_hour: str = Field(description="First hour of live candles to load (UTC, YYYY-MM-DD-HH:00).")
    last_hour: str = Field(description="Last hour to load, included.")


@dg.asset(
    deps=[klines_stream],
    group_name=GROUP,
    kinds={"clickhouse"},
    pool="clickhouse",
    description=(
        "Loads the live candles of the given hours from the lake into {CLICKHOUSE_DATABASE}.klines (source "
        "'stream', or 'rest' for gap fills): the embedded warehouse's path, requested by klines_stream_loads. "
        "Rerunning is safe, and the hourly batch's rows replace these."
    ),
)
def clickhouse_klines_stream(
    context: dg.AssetExecutionContext,
    config: LiveHours,
    symbols: TrackedSymbols,
    lake: LakeResource,
    warehouse: ClickHouseWarehouse,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    first, last = parse_hour(config.first_hour), parse_hour(config.last_hour)
    hours = [first + timedelta(hours=i) for i in range(int((last - first) / timedelta(hours=1)) + 1)]
    candles = [c for symbol in symbols.names for hour in hours for c in read_live_hour(lake, symbol, hour)]
    with warehouse.session():  # released when the insert ends, as by every step in pool clickhouse
        inserted = insert_live(warehouse, candles)
    context.log.info(f"Inserted {inserted:,} live candle(s) of {len(hours)} hour(s) into {warehouse.database}.klines")
    newest = max((c.open_time for c in candles), default=None)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": inserted,
            "hours": len(hours),
            "newest_candle": dg.MetadataValue.timestamp(newest / 1000) if newest else "none",
            "table": f"{warehouse.database}.{TABLE.name}",
            "seconds": round(time.perf_counter() - started, 3),
            "preview": preview(live_frame(candles[-20:])),
        }
    )
