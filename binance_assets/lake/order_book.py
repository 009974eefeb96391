"""``order_book_parquet``: the hour's order-book snapshots as one row per level, and its checks.

An hour in which no snapshot was collected gets an empty file and is reported (metadata, a
warning and the ``order_book_snapshots_collected`` check): nothing is invented for it.
"""

import json
from datetime import datetime, timedelta

import polars as pl

from binance_assets.checks import ERROR, WARN, Verdict
from binance_assets.config import DEFAULT_ORDER_BOOK_SNAPSHOT_CRON, cron_from_env
from binance_assets.exchange.order_book import SNAPSHOT_CRON_VARIABLE, raw_order_book
from binance_assets.lake.checks import PARQUET_FILES, hourly_lake_check
from binance_assets.lake.cleaning import hourly_parquet
from binance_assets.lake.frames import exact_decimals, ms_timestamps
from binance_assets.lake.layout import raw_file, sibling
from binance_assets.lake.resource import LakeResource

SIDES = (("bid", "bids"), ("ask", "asks"))
CLEAN_COLUMNS = ["symbol", "snapshot_time", "last_update_id", "side", "level", "price", "quantity"]


class CorruptSnapshotError(RuntimeError):
    pass


def snapshots(lake: LakeResource, symbol: str, hour: datetime) -> list[tuple[int, dict]]:
    """(snapshot time ms, book) of every snapshot the hour's manifest lists, in time order."""
    anchor = raw_file("order_book", symbol, hour)  # any path in the folder names its manifest
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


def order_book_frame(symbol: str, taken: list[tuple[int, dict]]) -> pl.DataFrame:
    """One row per level: side 'bid' (level 1 = highest price) or 'ask' (level 1 = lowest)."""
    columns = {name: [] for name in CLEAN_COLUMNS}
    for snapshot_ms, book in taken:
        for side, key in SIDES:
            for level, (price, quantity, *_) in enumerate(book[key], start=1):
                for name, value in zip(
                    CLEAN_COLUMNS, (symbol, snapshot_ms, book["lastUpdateId"], side, level, price, quantity), strict=True
                ):
                    columns[name].append(value)
    frame = pl.DataFrame(
        columns,
        schema={"symbol": pl.String, "snapshot_time": pl.Int64, "last_update_id": pl.Int64, "side": pl.String,
                "level": pl.Int32, "price": pl.String, "quantity": pl.String},
    )  # fmt: skip
    frame = exact_decimals(frame, ["price", "quantity"], f"{symbol} order book")
    return ms_timestamps(frame, ["snapshot_time"]).select(CLEAN_COLUMNS)


def order_book_raw_rows(lake: LakeResource, dataset: str, symbol: str, hour: datetime) -> int:
    """Levels in the hour's raw snapshots (0 when none were collected), for the reconciliation."""
    return sum(len(book["bids"]) + len(book["asks"]) for _, book in snapshots(lake, symbol, hour))


order_book_parquet = hourly_parquet(
    "order_book",
    raw_order_book,
    "The hour's order-book snapshots, one row per level: symbol, snapshot_time, last_update_id, side, level, "
    "price, quantity (exact Decimal(38,8)). An hour without snapshots yields an empty file and is reported.",
    lambda lake, symbol, hour: order_book_frame(symbol, snapshots(lake, symbol, hour)),
    empty_warning="no order-book snapshot was collected, so their files are empty. A book cannot be fetched for "
    "the past: keep the order_book_snapshots_schedule running.",
)


def expected_snapshots(hour: datetime) -> int:
    """How many snapshots the schedule takes in an hour."""
    from dagster._utils.schedules import cron_string_iterator

    cron = cron_from_env(SNAPSHOT_CRON_VARIABLE, DEFAULT_ORDER_BOOK_SNAPSHOT_CRON)
    ticks = 0
    for tick in cron_string_iterator(hour.timestamp(), cron, "UTC"):
        if tick >= hour + timedelta(hours=1):
            return ticks
        ticks += 1
    return ticks


def _collected_verdict(hour: datetime, figures: tuple | None) -> Verdict:
    collected = figures[0] if figures else 0
    expected = expected_snapshots(hour)
    metadata = {"snapshots": collected, "expected_by_schedule": expected}
    if not collected:
        metadata["error"] = "no snapshot collected in this hour: it cannot be fetched afterwards"
        return Verdict(False, ERROR, metadata)
    return Verdict(collected >= expected, WARN, metadata)


order_book_snapshots_collected = hourly_lake_check(
    order_book_parquet,
    "order_book",
    "order_book_snapshots_collected",
    f"At least one snapshot per symbol-hour (error otherwise); fewer than {SNAPSHOT_CRON_VARIABLE} schedules warns.",
    "count(DISTINCT snapshot_time)",
    _collected_verdict,
)


def _count_verdict(names: tuple[str, ...]):
    def verdict(hour: datetime, figures: tuple | None) -> Verdict:
        snapshots_, *bad = figures or (0, *(0 for _ in names))
        return Verdict(not any(bad), metadata={"snapshots": snapshots_, **dict(zip(names, bad, strict=True))})

    return verdict


BEST_PRICES = f"""(
    SELECT filename, snapshot_time,
           any_value(price) FILTER (WHERE side = 'bid' AND level = 1) AS best_bid,
           any_value(price) FILTER (WHERE side = 'ask' AND level = 1) AS best_ask
    FROM {PARQUET_FILES} GROUP BY filename, snapshot_time
)"""

order_book_not_crossed = hourly_lake_check(
    order_book_parquet,
    "order_book",
    "order_book_not_crossed",
    "In every snapshot the best bid is below the best ask.",
    "count(*), count(*) FILTER (WHERE best_bid >= best_ask)",
    _count_verdict(("crossed_snapshots",)),
    source=BEST_PRICES,
)

NEIGHBOURS = f"""(
    SELECT *, lag(price) OVER side_levels AS previous_price, lag(level) OVER side_levels AS previous_level
    FROM {PARQUET_FILES}
    WINDOW side_levels AS (PARTITION BY filename, snapshot_time, side ORDER BY level)
)"""

order_book_levels_valid = hourly_lake_check(
    order_book_parquet,
    "order_book",
    "order_book_levels_valid",
    "Levels numbered 1, 2, 3… per side; bid prices strictly falling and ask prices strictly rising with the "
    "level; no negative quantity.",
    "count(DISTINCT snapshot_time), "
    "count(*) FILTER (WHERE level <> coalesce(previous_level, 0) + 1), "
    "count(*) FILTER (WHERE (side = 'bid' AND price >= previous_price) OR (side = 'ask' AND price <= previous_price)), "
    "count(*) FILTER (WHERE quantity < 0)",
    _count_verdict(("misnumbered_levels", "out_of_order_levels", "negative_quantities")),
    source=NEIGHBOURS,
)
