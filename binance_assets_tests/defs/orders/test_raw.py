"""Signed allOrders through the exchange resource, against the stand-in over HTTP: paging past 1000
orders an hour, the 24-hour window rule, and a clear error for every credential problem."""

import os

import pytest

from binance_assets.resources.binance.client import BinanceExchange
from binance_assets.resources.binance.signing import (
    BadSignatureError,
    ClockSkewError,
    CredentialsRejectedError,
    MissingCredentialsError,
)
from binance_assets_tests.harness import STAND_IN_NOW_MS
from binance_stand_in import ExchangeStandIn

HOUR_MS = 3_600_000
HOUR = STAND_IN_NOW_MS - 3 * HOUR_MS  # 2024-02-29 21:00 UTC
ALL_ORDERS = "/api/v3/allOrders"


def signed_exchange(stand_in, **overrides) -> BinanceExchange:
    """The resource with the key and secret the ``credentials`` fixture put in the environment."""
    settings = {
        "api_url": stand_in.url,
        "api_key": os.environ["BINANCE_API_KEY"],
        "api_secret": os.environ["BINANCE_API_SECRET"],
        "backoff_s": 0.01,
        "request_timeout_s": 2.0,
        **overrides,
    }
    return BinanceExchange(**settings)


def fetched(exchange: BinanceExchange, start_ms: int, end_ms: int, symbol: str = "BTCUSDT") -> list[dict]:
    return [order for page in exchange.all_orders(symbol, start_ms, end_ms) for order in page]


def created_in(stand_in, start_ms: int, end_ms: int, symbol: str = "BTCUSDT") -> list[dict]:
    return [o for o in stand_in.orders(symbol) if start_ms <= o["time"] < end_ms]


def test_an_hour_with_2500_orders_sharing_milliseconds_is_fetched_whole(stand_in, credentials):
    stand_in.generate_orders("BTCUSDT", HOUR - HOUR_MS, HOUR, 40, seed=1)
    stand_in.generate_orders("BTCUSDT", HOUR, HOUR + HOUR_MS, 2500, seed=2, same_ms_share=0.4)
    stand_in.generate_orders("BTCUSDT", HOUR + HOUR_MS, HOUR + 2 * HOUR_MS, 40, seed=3)
    stand_in.add_orders("BTCUSDT", [{"time": HOUR}, {"time": HOUR + HOUR_MS - 1}, {"time": HOUR + HOUR_MS}])

    orders = fetched(signed_exchange(stand_in), HOUR, HOUR + HOUR_MS)

    expected = created_in(stand_in, HOUR, HOUR + HOUR_MS)
    assert len(expected) == 2502 and len({o["time"] for o in expected}) < 2000  # many share a millisecond
    assert orders == expected  # every order of the hour, once, in orderId order, unmodified
    pages = [r for r in stand_in.requests if r.path == ALL_ORDERS]
    assert len(pages) == 3  # 1000 by time, then 1000 + 502 by orderId
    assert "startTime" in pages[0].params and all("orderId" in p.params for p in pages[1:])
    assert all(p.params["limit"] == "1000" and p.weight == 20 for p in pages)


def test_a_range_longer_than_24_hours_is_asked_in_24_hour_windows(stand_in, credentials):
    start = HOUR - 49 * HOUR_MS
    stand_in.generate_orders("BTCUSDT", start, HOUR + HOUR_MS, 300, seed=4)

    orders = fetched(signed_exchange(stand_in), start, HOUR + HOUR_MS)

    assert orders == created_in(stand_in, start, HOUR + HOUR_MS)
    windows = [
        (int(r.params["startTime"]), int(r.params["endTime"])) for r in stand_in.requests if r.path == ALL_ORDERS
    ]
    assert len(windows) == 3 and all(end - begin < 24 * HOUR_MS for begin, end in windows)
    assert stand_in.count(path=ALL_ORDERS, status=400) == 0


def test_missing_credentials_name_the_variables_and_public_data_still_works(stand_in):
    exchange = BinanceExchange(api_url=stand_in.url, backoff_s=0.01)
    with pytest.raises(MissingCredentialsError, match="BINANCE_API_KEY and BINANCE_API_SECRET are not set"):
        fetched(exchange, HOUR, HOUR + HOUR_MS)
    with pytest.raises(MissingCredentialsError, match=r"^Account orders need a Binance API key: BINANCE_API_SECRET is"):
        fetched(BinanceExchange(api_url=stand_in.url, api_key="some-key"), HOUR, HOUR + HOUR_MS)

    assert stand_in.count(path=ALL_ORDERS) == 0  # refused before sending anything
    assert sum(len(page) for page in exchange.klines("BTCUSDT", HOUR, HOUR + HOUR_MS)) == 60
    assert exchange.order_book("BTCUSDT")["bids"]


@pytest.mark.parametrize(
    "change, error, code, names",
    [
        ({"api_key": "unknownkey"}, CredentialsRejectedError, "-2015", "BINANCE_API_KEY"),
        ({"api_key": '"pasted-with-quotes"'}, CredentialsRejectedError, "-2014", "BINANCE_API_KEY"),
        ({"api_secret": "not-the-secret"}, BadSignatureError, "-1022", "BINANCE_API_SECRET"),
    ],
    ids=["unknown-key", "malformed-key", "wrong-secret"],
)
def test_refused_credentials_get_their_own_clear_error(stand_in, credentials, change, error, code, names):
    exchange = signed_exchange(stand_in, **change)
    with pytest.raises(error, match=f"code {code}.*{names}") as raised:
        fetched(exchange, HOUR, HOUR + HOUR_MS)

    assert stand_in.count(path=ALL_ORDERS) == 1  # not retried: it cannot get better by itself
    message = str(raised.value)
    assert exchange.api_key not in message and exchange.api_secret not in message
    assert raised.value.__suppress_context__  # python-binance's exception (holding the headers) is not chained


@pytest.mark.parametrize("server_offset_ms", [-5_000, 30_000], ids=["local-clock-ahead", "local-clock-behind"])
def test_clock_skew_syncs_with_the_exchange_and_retries_once(stand_in, credentials, server_offset_ms):
    stand_in.server_time_offset_ms = server_offset_ms
    stand_in.generate_orders("BTCUSDT", HOUR, HOUR + HOUR_MS, 10, seed=5)
    exchange = signed_exchange(stand_in)

    assert len(fetched(exchange, HOUR, HOUR + HOUR_MS)) == 10
    assert [r.status for r in stand_in.requests if r.path == ALL_ORDERS] == [400, 200]
    assert stand_in.count(path="/api/v3/time") == 1
    assert abs(exchange.signed_client.timestamp_offset - server_offset_ms) < 1_000


def test_skew_that_survives_a_sync_stops_with_a_clear_error(credentials):
    # A link slower than recvWindow: every request arrives too late, however well the clock is synced.
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=STAND_IN_NOW_MS, arrival_delay_s=0.3) as slow:
        slow.add_api_key(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])
        with pytest.raises(ClockSkewError, match=r"code -1021.*recvWindow \(100 ms\).*NTP"):
            fetched(signed_exchange(slow, recv_window_ms=100), HOUR, HOUR + HOUR_MS)
        assert slow.count(path=ALL_ORDERS) == 2  # the request and the one retry after syncing


def test_the_testnet_switch_moves_the_default_url_only():
    assert BinanceExchange(testnet="1").base_url == "https://testnet.binance.vision"
    assert BinanceExchange(testnet="true", api_url="http://127.0.0.1:1").base_url == "http://127.0.0.1:1"
    assert BinanceExchange(testnet="0").base_url == "https://api.binance.com"
    with pytest.raises(ValueError, match="BINANCE_TESTNET='maybe'"):
        BinanceExchange(testnet="maybe").base_url


def test_the_resource_repr_masks_the_credentials():
    shown = repr(BinanceExchange(api_key="k" * 64, api_secret="s" * 64))
    assert "k" * 64 not in shown and "s" * 64 not in shown and "api_secret='***'" in shown
