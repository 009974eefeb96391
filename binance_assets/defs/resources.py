"""The resources every dataset shares, one per external system, configured from the settings."""

import dagster as dg

from binance_assets import settings
from binance_assets.resources import build_resources


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(settings.current()))
