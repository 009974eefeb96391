"""``clickhouse_symbols``: the symbol dimension ``{CLICKHOUSE_DATABASE}.symbols`` from exchangeInfo."""

import json
from typing import TYPE_CHECKING

import dagster as dg

from binance_assets.defs.symbols.dataset import TABLE
from binance_assets.defs.symbols.raw import GROUP, exchange_info
from binance_assets.lib.clean import MissingUpstreamError
from binance_assets.lib.frames import exact_decimals, ms_timestamps
from binance_assets.lib.preview import preview
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource

if TYPE_CHECKING:  # polars is imported by the step that builds the frame, not by every step process
    import polars as pl

# Which exchangeInfo filter holds each trading rule (NOTIONAL replaced MIN_NOTIONAL in 2023).
FILTER_FIELDS = {
    "tick_size": (("PRICE_FILTER", "tickSize"),),
    "step_size": (("LOT_SIZE", "stepSize"),),
    "min_qty": (("LOT_SIZE", "minQty"),),
    "min_notional": (("NOTIONAL", "minNotional"), ("MIN_NOTIONAL", "minNotional")),
}


def _filter_value(entry: dict, sources) -> str | None:
    filters = {f.get("filterType"): f for f in entry.get("filters", [])}
    for filter_type, field in sources:
        if field in filters.get(filter_type, {}):
            return filters[filter_type][field]
    return None


def symbols_frame(info: dict, fetched_at_ms: int) -> "pl.DataFrame":
    import polars as pl

    schema = {
        "symbol": pl.String,
        "status": pl.String,
        "base_asset": pl.String,
        "quote_asset": pl.String,
        "base_asset_precision": pl.UInt8,
        "quote_asset_precision": pl.UInt8,
        **{name: pl.String for name in FILTER_FIELDS},
        "order_types": pl.List(pl.String),
        "is_spot_trading_allowed": pl.Boolean,
        "fetched_at": pl.Int64,
    }
    rows = [
        {
            "symbol": entry["symbol"],
            "status": entry.get("status"),
            "base_asset": entry.get("baseAsset"),
            "quote_asset": entry.get("quoteAsset"),
            "base_asset_precision": entry.get("baseAssetPrecision"),
            "quote_asset_precision": entry.get("quoteAssetPrecision", entry.get("quotePrecision")),
            **{name: _filter_value(entry, sources) for name, sources in FILTER_FIELDS.items()},
            "order_types": entry.get("orderTypes", []),
            "is_spot_trading_allowed": entry.get("isSpotTradingAllowed", False),
            "fetched_at": fetched_at_ms,
        }
        for entry in info.get("symbols", [])
    ]
    frame = exact_decimals(pl.DataFrame(rows, schema=schema), list(FILTER_FIELDS), "exchangeInfo")
    return ms_timestamps(frame, ["fetched_at"]).sort("symbol")


@dg.asset(
    deps=[exchange_info],
    group_name=GROUP,
    kinds={"clickhouse"},
    pool="clickhouse",
    retry_policy=STORAGE_RETRY_POLICY,
    description="{CLICKHOUSE_DATABASE}.symbols: symbol, status, base/quote asset, precisions, tick size, step size, "
    "min quantity and notional; ReplacingMergeTree(fetched_at) by symbol, so the latest fetch wins.",
)
def clickhouse_symbols(
    context: dg.AssetExecutionContext, lake: LakeResource, warehouse: ClickHouseWarehouse
) -> dg.MaterializeResult:
    latest = context.instance.get_latest_materialization_event(exchange_info.key)
    path = latest.asset_materialization.metadata["lake_file"].value if latest else None
    data = lake.read(path) if path else None
    if data is None:
        raise MissingUpstreamError(
            f"No complete exchangeInfo in the lake{f' at {path}' if path else ''}: materialise exchange_info first."
        )
    frame = symbols_frame(json.loads(data), lake.manifest(path)["fetched_at_ms"])
    with warehouse.session():
        warehouse.ensure_tables([TABLE])
        inserted = warehouse.insert(TABLE.name, frame.to_arrow())
    context.log.info(f"Loaded {inserted:,} symbols from {path} into {warehouse.database}.symbols")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": inserted,
            "table": f"{warehouse.database}.symbols",
            "source": path,
            "preview": preview(frame),
        }
    )
