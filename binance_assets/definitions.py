"""The Dagster code location: ``dagster dev`` and ``dagster asset materialize -m binance_assets.definitions``.

Modules are listed in the order data flows: exchange → lake → warehouse.
"""

import dagster as dg

from binance_assets.exchange import klines as exchange_klines
from binance_assets.lake import checks as lake_checks
from binance_assets.lake import klines as lake_klines
from binance_assets.resources import build_resources
from binance_assets.schedules import klines_hourly_schedule, klines_job
from binance_assets.warehouse import klines as warehouse_klines

ASSET_MODULES = [exchange_klines, lake_klines, warehouse_klines]
CHECK_MODULES = [lake_checks, warehouse_klines]
JOBS = [klines_job]
SCHEDULES = [klines_hourly_schedule]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(ASSET_MODULES),
    asset_checks=dg.load_asset_checks_from_modules(CHECK_MODULES),
    jobs=JOBS,
    schedules=SCHEDULES,
    resources=build_resources(),
)
