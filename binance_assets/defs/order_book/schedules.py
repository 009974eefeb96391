"""Order-book snapshots on ``ORDER_BOOK_SNAPSHOT_CRON``, running from the start."""

import dagster as dg

from binance_assets.defs.order_book.raw import SNAPSHOT_CRON_VARIABLE, raw_order_book
from binance_assets.lib.schedules import running_schedule

order_book_snapshot_job = dg.define_asset_job(
    "order_book_snapshots",
    selection=[raw_order_book],
    description="Takes one order-book snapshot per configured symbol.",
    # Ahead of queued backfill runs: a late snapshot is a lost one.
    tags={"dagster/priority": "10"},
)

order_book_snapshot_schedule = running_schedule(
    "order_book_snapshots_schedule",
    order_book_snapshot_job,
    SNAPSHOT_CRON_VARIABLE,
    "a book not collected is gone for good, and a snapshot costs little weight (5 for 100 levels).",
)
