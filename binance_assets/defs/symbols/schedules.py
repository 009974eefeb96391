"""The symbols dimension refreshed on ``SYMBOLS_REFRESH_CRON`` (daily), running from the start."""

import dagster as dg

from binance_assets.defs.symbols.raw import GROUP
from binance_assets.lib.schedules import running_schedule

symbols_refresh_job = dg.define_asset_job(
    "symbols_refresh",
    selection=dg.AssetSelection.groups(GROUP),
    description="Fetches exchangeInfo and reloads the symbols dimension.",
)

symbols_daily_schedule = running_schedule(
    "symbols_daily",
    symbols_refresh_job,
    "SYMBOLS_REFRESH_CRON",
    "one weight-20 request a day keeps statuses and trading rules current.",
)
