"""Binance: Spot REST (the resource the raw assets fetch through: python-binance behind a weight
governor, tenacity retries and errors that name the setting to fix) and the bulk archive
(data.binance.vision: checksummed kline files, no request weight)."""

from binance_assets.resources.binance.archive import BinanceArchive
from binance_assets.resources.binance.client import BinanceExchange, depth_weight

__all__ = ["BinanceArchive", "BinanceExchange", "depth_weight"]
