"""``raw_order_book``: live snapshots of the order book, appended to the current hour's lake folder.

A book cannot be fetched for the past, so this asset is not partitioned and not backfilled: the
``order_book_snapshots`` schedule (``ORDER_BOOK_SNAPSHOT_CRON``, default every 5 minutes) runs it,
and each run adds one snapshot file per symbol, named by its time on the exchange clock.
"""

import json

import dagster as dg

from binance_assets.defs.order_book.dataset import ORDER_BOOK
from binance_assets.resources.binance import BinanceExchange, depth_weight
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import snapshot_file
from binance_assets.settings import TrackedSymbols

SNAPSHOT_CRON_VARIABLE = "ORDER_BOOK_SNAPSHOT_CRON"


def book_summary(book: dict) -> dict:
    bids, asks = book["bids"], book["asks"]
    summary = {"bid_levels": len(bids), "ask_levels": len(asks)}
    if bids and asks:
        summary.update(best_bid=bids[0][0], best_ask=asks[0][0])
    return summary


@dg.asset(
    group_name=ORDER_BOOK.group,
    kinds={"binance", "json"},
    tags=ORDER_BOOK.tags,
    # Not in the binance_api pool: a live snapshot must not wait behind a long backfill (it cannot be
    # taken later), and its weight (5 for 100 levels) is a rounding error next to the 6000/min budget.
    description=(
        "Order-book snapshots (GET /api/v3/depth, ORDER_BOOK_DEPTH_LIMIT levels a side) appended to the current "
        "hour's raw folder, one file per symbol per run, listed in the folder's _SUCCESS manifest. Collected live "
        "by the order_book_snapshots schedule: the past cannot be fetched."
    ),
)
def raw_order_book(
    context: dg.AssetExecutionContext, symbols: TrackedSymbols, exchange: BinanceExchange, lake: LakeResource
) -> dg.MaterializeResult:
    weight = depth_weight(exchange.order_book_depth_limit)  # a bad limit fails before any request
    exchange.validate_symbols(symbols.names)
    exchange.server_now_ms()  # syncs the exchange clock before the books are taken
    snapshots = {}
    for symbol in symbols.names:
        book = exchange.order_book(symbol)
        snapshot_ms = exchange.server_now_ms()
        path = snapshot_file(ORDER_BOOK.name, symbol, snapshot_ms)
        manifest = lake.append_to_partition(
            path,
            json.dumps(book, separators=(",", ":")).encode(),
            {
                "file": path.rsplit("/", 1)[1],
                "snapshot_time_ms": snapshot_ms,
                "last_update_id": book["lastUpdateId"],
                "rows": len(book["bids"]) + len(book["asks"]),
            },
        )
        snapshots[symbol] = {
            "file": path,
            "snapshot_time_ms": snapshot_ms,
            "last_update_id": book["lastUpdateId"],
            "snapshots_this_hour": len(manifest["files"]),
            **book_summary(book),
        }
        context.log.info(f"{symbol}: order-book snapshot {path} ({len(manifest['files'])} this hour)")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(s["bid_levels"] + s["ask_levels"] for s in snapshots.values()),
            "snapshots": dg.MetadataValue.json(snapshots),
            "depth_limit": exchange.order_book_depth_limit,
            "depth_weight": weight,
            **exchange.stats.as_metadata(),
        }
    )
