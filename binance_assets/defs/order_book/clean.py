"""``order_book_parquet``: the hour's order-book snapshots as one row per level.

An hour in which no snapshot was collected gets an empty file and is reported (metadata, a
warning and the ``order_book_snapshots_collected`` check): nothing is invented for it.
"""

import json
from datetime import datetime
from typing import TYPE_CHECKING

from binance_assets.defs.order_book.dataset import ORDER_BOOK
from binance_assets.lib.clean import hour_by_hour, hourly_parquet
from binance_assets.lib.frames import exact_decimals, ms_timestamps
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import raw_file, sibling

if TYPE_CHECKING:  # polars is imported by the step that builds the frames, not by every step process
    import polars as pl

SIDES = (("bid", "bids"), ("ask", "asks"))
CLEAN_COLUMNS = ["symbol", "snapshot_time", "last_update_id", "side", "level", "price", "quantity"]


class CorruptSnapshotError(RuntimeError):
    pass


def snapshots(lake: LakeResource, symbol: str, hour: datetime) -> list[tuple[int, dict]]:
    """(snapshot time ms, book) of every snapshot the hour's manifest lists, in time order."""
    anchor = raw_file(ORDER_BOOK.name, symbol, hour)  # any path in the folder names its manifest
    manifest = lake.manifest(anchor)
    taken = []
    for entry in sorted((manifest or {}).get("files", []), key=lambda f: f["snapshot_time_ms"]):
        data = lake.store.get(sibling(anchor, entry["file"]))
        if data is None:
            raise CorruptSnapshotError(
                f"{symbol} {hour:%Y-%m-%d %H}:00 UTC: the manifest lists snapshot {entry['file']}, which is missing "
                "from the lake. Restore it from a backup or remove its entry from the folder's _SUCCESS."
            )
        taken.append((entry["snapshot_time_ms"], json.loads(data)))
    return taken


def order_book_frame(symbol: str, taken: list[tuple[int, dict]]) -> "pl.DataFrame":
    """One row per level: side 'bid' (level 1 = highest price) or 'ask' (level 1 = lowest)."""
    import polars as pl

    columns = {name: [] for name in CLEAN_COLUMNS}
    for snapshot_ms, book in taken:
        for side, key in SIDES:
            for level, (price, quantity, *_) in enumerate(book[key], start=1):
                for name, value in zip(
                    CLEAN_COLUMNS,
                    (symbol, snapshot_ms, book["lastUpdateId"], side, level, price, quantity),
                    strict=True,
                ):
                    columns[name].append(value)
    frame = pl.DataFrame(
        columns,
        schema={
            "symbol": pl.String,
            "snapshot_time": pl.Int64,
            "last_update_id": pl.Int64,
            "side": pl.String,
            "level": pl.Int32,
            "price": pl.String,
            "quantity": pl.String,
        },
    )
    frame = exact_decimals(frame, ["price", "quantity"], f"{symbol} order book")
    return ms_timestamps(frame, ["snapshot_time"]).select(CLEAN_COLUMNS)


def order_book_raw_rows(lake: LakeResource, dataset: str, symbol: str, hour: datetime) -> int:
    """Levels in the hour's raw snapshots (0 when none were collected), for the reconciliation."""
    return sum(len(book["bids"]) + len(book["asks"]) for _, book in snapshots(lake, symbol, hour))


order_book_parquet = hourly_parquet(
    ORDER_BOOK,
    "The hour's order-book snapshots, one row per level: symbol, snapshot_time, last_update_id, side, level, "
    "price, quantity (exact Decimal(38,8)). An hour without snapshots yields an empty file and is reported.",
    hour_by_hour(lambda lake, symbol, hour: order_book_frame(symbol, snapshots(lake, symbol, hour))),
    empty_warning="no order-book snapshot was collected, so their files are empty. A book cannot be fetched for "
    "the past: keep the order_book_snapshots_schedule running.",
)
