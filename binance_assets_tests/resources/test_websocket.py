"""The websocket side of the exchange resource: which URL, refusals that name the setting, Binance's limits."""

import asyncio
import logging

import pytest

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance.client import BinanceExchange
from binance_assets.resources.binance.websocket import ConnectionBudget, MarketStream

LOG = logging.getLogger("test")


def test_the_stream_url_follows_the_settings():
    assert BinanceExchange().stream_base_url == "wss://stream.binance.com:9443"
    assert BinanceExchange(testnet="1").stream_base_url == "wss://stream.testnet.binance.vision"
    explicit = BinanceExchange(stream_url="wss://data-stream.binance.vision/", testnet="1")
    assert explicit.stream_base_url == "wss://data-stream.binance.vision"
    with pytest.raises(ConfigurationError, match="BINANCE_STREAM_URL='https://stream.binance.com' is not a websocket"):
        BinanceExchange(stream_url="https://stream.binance.com").stream_base_url


def test_one_connection_carries_at_most_1024_streams():
    names = [f"s{i}usdt@kline_1m" for i in range(1025)]
    with pytest.raises(ConfigurationError, match="BINANCE_SYMBOLS lists 1025 symbols: .* at most 1024"):
        MarketStream("wss://stream.binance.com:9443", names, LOG)


def test_a_refused_handshake_stops_naming_the_setting(stand_in):
    async def first_event():
        async with MarketStream(f"{stand_in.stream_url}/not-binance", ["btcusdt@kline_1m"], LOG) as stream:
            async for event in stream.events(asyncio.Event()):
                return event

    with pytest.raises(ConfigurationError, match="HTTP 404 .*BINANCE_STREAM_URL is not a Binance stream origin"):
        asyncio.run(first_event())
    assert stand_in.stream_connections_total == 0


def test_connection_attempts_wait_once_the_budget_of_the_window_is_spent():
    async def attempts():
        budget = ConnectionBudget(limit=2, window_s=0.5)
        await budget.acquire()
        await budget.acquire()
        third = asyncio.ensure_future(budget.acquire())
        await asyncio.sleep(0.05)
        waited = not third.done()
        await asyncio.wait_for(third, 5)
        return waited

    assert asyncio.run(attempts())
