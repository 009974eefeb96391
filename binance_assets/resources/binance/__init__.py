"""Binance Spot REST: the resource the raw assets fetch through (python-binance behind a weight
governor, tenacity retries and errors that name the setting to fix)."""

from binance_assets.resources.binance.client import BinanceExchange, depth_weight

__all__ = ["BinanceExchange", "depth_weight"]
