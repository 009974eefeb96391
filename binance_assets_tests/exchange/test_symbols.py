"""Configured symbols are checked against exchangeInfo before any data request."""

import pytest

from binance_assets.config import ConfigurationError
from binance_assets.exchange.resource import BinanceExchange
from binance_assets_tests.harness import failure_message

INFO = "/api/v3/exchangeInfo"


def test_known_trading_symbols_pass_with_one_exchange_info_request(stand_in):
    exchange = BinanceExchange(api_url=stand_in.url, symbols="btcusdt, ETHUSDT")
    info = exchange.validate_symbols()
    exchange.validate_symbols()

    assert sorted(info) == ["BTCUSDT", "ETHUSDT"] and info["BTCUSDT"]["status"] == "TRADING"
    (request,) = stand_in.requests  # one request for the run, and only for the configured symbols
    assert (request.path, request.weight, request.params) == (INFO, 20, {"symbols": '["BTCUSDT","ETHUSDT"]'})


def test_an_unknown_symbol_fails_fast_naming_the_setting(pipeline, stand_in):
    pipeline.symbols = "BTCUSDT,NOPEUSDT"
    failed = pipeline.materialize("2024-02-29-22:00", raise_on_error=False)

    message = failure_message(failed)
    assert "Unknown symbol(s) NOPEUSDT" in message and "BINANCE_SYMBOLS" in message
    assert stand_in.count(path="/api/v3/klines") == 0  # not even BTCUSDT was fetched
    assert [r.status for r in stand_in.requests] == [400, 200]  # "Invalid symbol.", then the full list names it


def test_a_symbol_that_is_not_trading_fails_fast_with_its_status(stand_in):
    stand_in.set_symbol_status("ETHUSDT", "BREAK")
    exchange = BinanceExchange(api_url=stand_in.url, symbols="BTCUSDT,ETHUSDT")
    with pytest.raises(ConfigurationError, match=r"not trading: ETHUSDT \(status BREAK\).*BINANCE_SYMBOLS"):
        exchange.validate_symbols()
