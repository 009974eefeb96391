"""The Dagster code location: ``dagster dev`` and ``dagster asset materialize -m binance_assets.definitions``."""

import dagster as dg

from binance_assets.exchange import klines as exchange_klines
from binance_assets.lake import checks as lake_checks
from binance_assets.lake import klines as lake_klines
from binance_assets.resources import build_resources
from binance_assets.warehouse import klines as warehouse_klines

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([exchange_klines, lake_klines, warehouse_klines]),
    asset_checks=dg.load_asset_checks_from_modules([lake_checks, warehouse_klines]),
    resources=build_resources(),
)
