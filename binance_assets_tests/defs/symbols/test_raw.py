"""Configured symbols are checked against exchangeInfo before any data request."""

import pytest

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance import BinanceExchange
from binance_assets.settings import parse_symbols
from binance_assets_tests.harness import failure_message

INFO = "/api/v3/exchangeInfo"


def test_known_trading_symbols_pass_with_one_exchange_info_request(stand_in):
    exchange = BinanceExchange(api_url=stand_in.url)
    symbols = parse_symbols("btcusdt, ETHUSDT")
    info = exchange.validate_symbols(symbols)
    exchange.validate_symbols(symbols)

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
    exchange = BinanceExchange(api_url=stand_in.url)
    with pytest.raises(ConfigurationError, match=r"not trading: ETHUSDT \(status BREAK\).*BINANCE_SYMBOLS"):
        exchange.validate_symbols(["BTCUSDT", "ETHUSDT"])


@pytest.mark.parametrize("text", ["BTC/USDT", "BTCUSDT,ETH USDT", "BTC-USDT/ETH"])
def test_symbol_text_the_exchange_would_refuse_fails_before_any_request(pipeline, stand_in, text):
    pipeline.symbols = text
    failed = pipeline.materialize("2024-02-29-22:00", raise_on_error=False)

    message = failure_message(failed)
    assert "BINANCE_SYMBOLS" in message and "not an exchange symbol" in message and "BTCUSDT" in message
    assert stand_in.requests == []
