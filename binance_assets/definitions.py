"""The Dagster code location: ``dagster dev`` and ``dagster asset materialize -m binance_assets.definitions``.

Modules are listed in the order data flows: exchange → lake → warehouse. Where the lake lives
(``LAKE_URL``) decides what starts the loads: S3 notifications or declarative automation.
"""

import dagster as dg

from binance_assets.config import lake_url
from binance_assets.exchange import klines as exchange_klines
from binance_assets.exchange import order_book as exchange_order_book
from binance_assets.exchange import orders as exchange_orders
from binance_assets.exchange import symbols as exchange_symbols
from binance_assets.lake import checks as lake_checks
from binance_assets.lake import klines as lake_klines
from binance_assets.lake import order_book as lake_order_book
from binance_assets.lake import orders as lake_orders
from binance_assets.resources import build_resources
from binance_assets.schedules import klines_hourly_schedule, klines_job
from binance_assets.warehouse import klines as warehouse_klines
from binance_assets.warehouse import order_book as warehouse_order_book
from binance_assets.warehouse import orders as warehouse_orders
from binance_assets.warehouse import symbols as warehouse_symbols
from binance_assets.warehouse.triggers import with_load_triggers

ASSET_MODULES = [
    exchange_klines, exchange_orders, exchange_order_book, exchange_symbols,
    lake_klines, lake_orders, lake_order_book,
    warehouse_klines, warehouse_orders, warehouse_order_book, warehouse_symbols,
]  # fmt: skip
CHECK_MODULES = [
    lake_checks, lake_orders, lake_order_book,
    warehouse_klines, warehouse_orders, warehouse_order_book, warehouse_symbols,
]  # fmt: skip
JOBS = [klines_job]
SCHEDULES = [
    klines_hourly_schedule, exchange_order_book.order_book_snapshot_schedule, exchange_symbols.symbols_daily_schedule,
]  # fmt: skip



def build_defs(lake: str | None = None) -> dg.Definitions:
    defs = dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=dg.load_asset_checks_from_modules(CHECK_MODULES),
        jobs=JOBS,
        schedules=SCHEDULES,
        resources=build_resources(),
    )
    return with_load_triggers(defs, lake or lake_url())


defs = build_defs()
