"""The order-book checks, per hour and in one step: snapshots collected, books not crossed, levels in order
(DuckDB on the Parquet), and raw = Parquet = ClickHouse."""

from datetime import datetime, timedelta

from binance_assets import settings
from binance_assets.defs.order_book.clean import order_book_raw_rows
from binance_assets.defs.order_book.dataset import ORDER_BOOK
from binance_assets.defs.order_book.raw import SNAPSHOT_CRON_VARIABLE
from binance_assets.lib.hourly_checks import hourly_checks
from binance_assets.lib.lake_checks import PARQUET_FILES, LakeCheck
from binance_assets.lib.verdicts import ERROR, WARN, Verdict


def expected_snapshots(hour: datetime) -> int:
    """How many snapshots the schedule takes in an hour."""
    from dagster._utils.schedules import cron_string_iterator

    cron = settings.current().cron(SNAPSHOT_CRON_VARIABLE)
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


ORDER_BOOK_SNAPSHOTS_COLLECTED = LakeCheck(
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

ORDER_BOOK_NOT_CROSSED = LakeCheck(
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

ORDER_BOOK_LEVELS_VALID = LakeCheck(
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


order_book_checks = hourly_checks(
    ORDER_BOOK,
    [ORDER_BOOK_SNAPSHOTS_COLLECTED, ORDER_BOOK_NOT_CROSSED, ORDER_BOOK_LEVELS_VALID],
    raw_rows=order_book_raw_rows,
)
