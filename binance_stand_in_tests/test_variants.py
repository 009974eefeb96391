"""Where real Binance is less uniform than the stand-in's defaults: order rows with conditional
fields and per-symbol decimals, idle and tiny-priced candles, illegal symbols, 451 and 403."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException

from binance_stand_in import ExchangeStandIn, SymbolSpec
from binance_stand_in.account import ORDER_FIELDS

NOW = 1_717_200_030_000  # 2024-06-01 00:00:30 UTC
MIN = 60_000
HOUR = 60 * MIN
BUSY_HOUR = NOW // HOUR * HOUR - 3 * HOUR
DEC8 = re.compile(r"^\d+\.\d{8}$")
KEY, SECRET = "variants-key", "variants-secret"
STATUSES = {
    "NEW",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "PENDING_CANCEL",
    "REJECTED",
    "EXPIRED",
    "EXPIRED_IN_MATCH",
}
TYPES = {"LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
STOP_TYPES = {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
SYMBOL_MSG = "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."
SYMBOLS_MSG = (
    "Illegal characters found in parameter 'symbols'; legal range is "
    """'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'."""
)
RESTRICTED = {
    "code": 0,
    "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "https://www.binance.com/en/terms. Please contact customer service if you believe you received "
    "this message in error.",
}


@pytest.fixture(scope="module")
def ex():
    symbols = (
        "BTCUSDT",
        "SHIBUSDT",
        SymbolSpec.make("THINBTC", idle_minute_share=0.4),
        SymbolSpec.make("LTCBTC", base_precision=1, quote_precision=6),
    )
    with ExchangeStandIn(symbols=symbols, now_ms=NOW) as exchange:
        exchange.add_api_key(KEY, SECRET)
        exchange.generate_orders("BTCUSDT", BUSY_HOUR, BUSY_HOUR + HOUR, 3000, seed=5)
        exchange.generate_orders("LTCBTC", BUSY_HOUR, BUSY_HOUR + HOUR, 300, seed=6)
        yield exchange


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def client_for(ex) -> Client:
    c = Client(KEY, SECRET, ping=False)
    c.API_URL = f"{ex.url}/api"
    return c


def all_orders_of_the_hour(client, symbol) -> list[dict]:
    """Paged by orderId, as a careful client does."""
    orders = client.get_all_orders(symbol=symbol, startTime=BUSY_HOUR, endTime=BUSY_HOUR + HOUR - 1, limit=1000)
    while orders and len(orders) % 1000 == 0:
        page = client.get_all_orders(
            symbol=symbol,
            orderId=orders[-1]["orderId"] + 1,
            startTime=BUSY_HOUR,
            endTime=BUSY_HOUR + HOUR - 1,
            limit=1000,
        )
        if not page:
            break
        orders += page
    return orders


# ----------------------------------------------------------------------------------- orders
def test_generated_orders_look_like_real_all_orders_rows(ex):
    orders = all_orders_of_the_hour(client_for(ex), "BTCUSDT")
    assert len(orders) == 3000
    assert {o["status"] for o in orders} == STATUSES
    assert {o["type"] for o in orders} == TYPES
    assert {o["timeInForce"] for o in orders} == {"GTC", "IOC", "FOK"}
    for o in orders:
        assert list(o) == [f for f in ORDER_FIELDS if f in o]  # Binance's field order, absent ones left out
        assert ("stopPrice" in o) == (o["type"] in STOP_TYPES)
        assert "icebergQty" not in o or (o["type"] == "LIMIT" and Decimal(o["icebergQty"]) < Decimal(o["origQty"]))
        assert ("preventedMatchId" in o) == ("preventedQuantity" in o)
        assert "preventedQuantity" not in o or o["status"] == "EXPIRED_IN_MATCH"
        assert o["orderListId"] == -1 and 1e9 <= o["orderId"] <= 1e11
        for f in (
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "stopPrice",
            "icebergQty",
            "origQuoteOrderQty",
            "preventedQuantity",
        ):
            assert f not in o or DEC8.match(o[f]), (f, o[f])
        assert Decimal(o["executedQty"]) <= Decimal(o["origQty"])
        if o["type"] in STOP_TYPES and o["status"] == "NEW":  # never triggered
            assert (o["isWorking"], o["workingTime"]) == (False, -1)
    assert sum("icebergQty" in o for o in orders) > 10
    assert sum("preventedMatchId" in o for o in orders) > 10
    ids = [o["orderId"] for o in orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    times = [o["time"] for o in orders]
    assert times == sorted(times)  # ids grow with creation time


def test_order_amounts_take_the_symbols_precision(ex, http):
    info = http.get(f"{ex.url}/api/v3/exchangeInfo", params={"symbol": "LTCBTC"}, timeout=5).json()["symbols"][0]
    assert (info["baseAssetPrecision"], info["quotePrecision"], info["quoteAssetPrecision"]) == (1, 6, 6)
    orders = all_orders_of_the_hour(client_for(ex), "LTCBTC")
    assert len(orders) == 300
    for o in orders:
        for f in ("origQty", "executedQty", "icebergQty", "preventedQuantity"):
            assert f not in o or re.fullmatch(r"\d+\.\d", o[f]), (f, o[f])
        for f in ("price", "stopPrice", "cummulativeQuoteQty", "origQuoteOrderQty"):
            assert f not in o or re.fullmatch(r"\d+\.\d{6}", o[f]), (f, o[f])
    added = ex.add_orders("LTCBTC", [{"time": NOW - 5 * MIN, "price": "0.1", "origQty": "1"}])[0]
    assert (added["price"], added["origQty"], added["executedQty"], added["origQuoteOrderQty"]) == (
        "0.100000",
        "1.0",
        "0.0",
        "0.000000",
    )
    with pytest.raises(ValueError, match="1 decimals"):  # a string Binance would not send
        ex.add_orders("LTCBTC", [{"time": NOW - 4 * MIN, "price": "0.1", "origQty": "0.05"}])


def test_added_orders_carry_conditional_fields_only_where_they_apply(http):
    with ExchangeStandIn(symbols=("ETHUSDT",), now_ms=NOW) as ex:
        t = NOW - HOUR
        limit, stop, iceberg = ex.add_orders(
            "ETHUSDT",
            [
                {"time": t + 10 * MIN, "price": "3000", "origQty": "1"},
                {
                    "time": t + 20 * MIN,
                    "type": "STOP_LOSS_LIMIT",
                    "price": "2990",
                    "stop_price": "2995",
                    "origQty": "1",
                },
                {"time": t + 30 * MIN, "price": "3001", "origQty": "2", "iceberg_qty": "0.5"},
            ],
        )
        assert not {"stopPrice", "icebergQty", "preventedMatchId", "preventedQuantity"} & set(limit)
        assert stop["stopPrice"] == "2995.00000000" and "icebergQty" not in stop
        assert iceberg["icebergQty"] == "0.50000000" and "stopPrice" not in iceberg
        expired = ex.update_order(
            "ETHUSDT",
            limit["orderId"],
            status="EXPIRED_IN_MATCH",
            prevented_match_id=7,
            prevented_quantity="1",
            self_trade_prevention_mode="EXPIRE_TAKER",
        )
        assert (expired["preventedMatchId"], expired["preventedQuantity"]) == (7, "1.00000000")
        assert "icebergQty" not in ex.update_order("ETHUSDT", iceberg["orderId"], iceberg_qty=None)
        # ids: ~1e9-1e11, growing with creation time even when added out of order
        earlier = ex.add_orders("ETHUSDT", [{"time": t}, {"time": t + 15 * MIN}])
        ids = [o["orderId"] for o in ex.orders("ETHUSDT")]
        assert [o["time"] for o in ex.orders("ETHUSDT")] == sorted(o["time"] for o in ex.orders("ETHUSDT"))
        assert ids[0] == earlier[0]["orderId"] and ids[2] == earlier[1]["orderId"]
        assert all(1e9 <= i <= 1e11 for i in ids)
        same_ms = ex.add_orders("ETHUSDT", [{"time": t + 40 * MIN + 1}] * 3)
        assert [o["orderId"] for o in same_ms] == [same_ms[0]["orderId"] + i for i in range(3)]
        with pytest.raises(ValueError, match="creation order"):  # 1 ms earlier: no id left in between
            ex.add_orders("ETHUSDT", [{"time": t + 40 * MIN}])


def test_uniform_rows_remain_available(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        orders = ex.generate_orders("BTCUSDT", BUSY_HOUR, BUSY_HOUR + HOUR, 300, realistic=False)
        assert all(list(o) == list(ORDER_FIELDS[:20]) for o in orders)  # every field on every row
        assert {o["type"] for o in orders} <= {"LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS_LIMIT"}


# ----------------------------------------------------------------------------------- candles
def assert_valid_candle(row):
    ot, o, h, lo, c, v, ct, q, n, tb, tq, unused = row
    for s in (o, h, lo, c, v, q, tb, tq):
        assert DEC8.match(s), s
    o, h, lo, c = map(Decimal, (o, h, lo, c))
    assert 0 < lo <= min(o, c) <= max(o, c) <= h
    assert ct == ot + MIN - 1 and unused == "0"


def test_an_illiquid_symbol_has_minutes_without_trades(ex, http):
    rows = http.get(
        f"{ex.url}/api/v3/klines", params={"symbol": "THINBTC", "interval": "1m", "limit": 1000}, timeout=5
    ).json()
    assert len(rows) == 1000
    idle = [i for i, r in enumerate(rows) if r[8] == 0]
    assert 250 < len(idle) < 550  # idle_minute_share=0.4
    for i in idle[1:] if idle[0] == 0 else idle:
        ot, o, h, lo, c, v, ct, q, n, tb, tq, unused = rows[i]
        assert o == h == lo == c == rows[i - 1][4]  # no trade: the previous close throughout
        assert v == q == tb == tq == "0.00000000"
    for prev, row in zip(rows, rows[1:]):
        assert row[1] == prev[4]  # a candle after idle minutes opens at their price
        assert_valid_candle(row)
    assert ex.candles("THINBTC", "1m", start_ms=rows[0][0]) == rows  # deterministic
    hourly = http.get(
        f"{ex.url}/api/v3/klines", params={"symbol": "THINBTC", "interval": "1h", "limit": 24}, timeout=5
    ).json()
    assert all(r[8] > 0 for r in hourly)  # only 1m candles go idle
    assert all(r[8] > 0 for r in ex.candles("BTCUSDT", "1m", limit=1000))  # liquid symbols never


def test_a_meme_coin_below_1e_4_keeps_exact_8_decimal_prices(ex):
    rows = client_for(ex).get_klines(symbol="SHIBUSDT", interval="1m", limit=1000)
    assert len(rows) == 1000
    for row in rows:
        assert_valid_candle(row)
        assert Decimal("0.000001") < Decimal(row[4]) < Decimal("0.0001")
    assert len({r[4][-1] for r in rows}) > 5  # the 8th decimal moves
    info = client_for(ex).get_symbol_info("SHIBUSDT")
    filters = {f["filterType"]: f for f in info["filters"]}
    assert (filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["stepSize"]) == ("0.00000001", "1.00000000")
    pepe = SymbolSpec.make("PEPEUSDT", base_price=0.00000987)
    assert (pepe.tick_units, pepe.step_units) == (1, 100_000_000)


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", ["BTC/USDT", "btcusdt", "BTC USDT"])
def test_illegal_symbol_characters_are_1100_not_1121(ex, http, bad):
    for path, params in [("/api/v3/klines", {"interval": "1m"}), ("/api/v3/depth", {}), ("/api/v3/exchangeInfo", {})]:
        r = http.get(f"{ex.url}{path}", params={"symbol": bad, **params}, timeout=5)
        assert (r.status_code, r.json()) == (400, {"code": -1100, "msg": SYMBOL_MSG}), path
    symbols = json.dumps([bad], separators=(",", ":"))
    r = http.get(f"{ex.url}/api/v3/exchangeInfo", params={"symbols": symbols}, timeout=5)
    assert (r.status_code, r.json()) == (400, {"code": -1100, "msg": SYMBOLS_MSG})
    with pytest.raises(BinanceAPIException) as e:  # python-binance: status, code and msg as sent
        client_for(ex).get_klines(symbol=bad, interval="1m", limit=1)
    assert (e.value.status_code, e.value.code, e.value.message) == (400, -1100, SYMBOL_MSG)


def test_symbols_are_checked_as_sent_and_unknown_ones_stay_1121(ex, http):
    def answer(symbols):
        r = http.get(f"{ex.url}/api/v3/exchangeInfo", params={"symbols": symbols}, timeout=5)
        return r.status_code, r.json().get("code")

    assert answer('["BTCUSDT", "SHIBUSDT"]') == (400, -1100)  # json.dumps' default space after the comma
    assert answer('["BTCUSDT","SHIBUSDT"]') == (200, None)
    assert answer('["BTCUSDT","NOPEUSDT"]') == (400, -1121)
    r = http.get(f"{ex.url}/api/v3/klines", params={"symbol": "NOPEUSDT", "interval": "1m"}, timeout=5)
    assert (r.status_code, r.json()["code"]) == (400, -1121)
    with pytest.raises(BinanceAPIException) as e:  # signed: the signature passes, the symbol does not
        client_for(ex).get_all_orders(symbol="btcusdt")
    assert (e.value.status_code, e.value.code) == (400, -1100)


def test_451_and_waf_403_faults(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}
        ex.fail_next(1, "451")
        ex.fail_next(1, "403")
        r = http.get(f"{ex.url}/api/v3/klines", params=params, timeout=5)
        assert (r.status_code, r.json()) == (451, RESTRICTED)
        assert "X-MBX-USED-WEIGHT-1M" not in r.headers and ex.used_weight_1m == 0  # the edge answered
        r = http.get(f"{ex.url}/api/v3/klines", params=params, timeout=5)
        assert r.status_code == 403 and r.headers["Content-Type"] == "text/html"
        assert "<H1>403 ERROR</H1>" in r.text and "The request could not be satisfied" in r.text
        assert 300 < len(r.content) < 2000 and "X-MBX-USED-WEIGHT-1M" not in r.headers
        assert [rec.status for rec in ex.requests] == [451, 403] and ex.used_weight_1m == 0
        # python-binance: both are BinanceAPIException with code 0
        client = client_for(ex)
        ex.fail_next(1, "451")
        with pytest.raises(BinanceAPIException) as e:
            client.get_klines(**params)
        assert (e.value.status_code, e.value.code, e.value.message) == (451, 0, RESTRICTED["msg"])
        ex.fail_next(1, "403")
        with pytest.raises(BinanceAPIException) as e:
            client.get_klines(**params)
        assert (e.value.status_code, e.value.code) == (403, 0)
        assert e.value.message.startswith("Invalid JSON error message from Binance: <!DOCTYPE HTML")
        assert client.get_klines(**params)  # faults are one-shot


def test_restricted_location_answers_451_to_everything(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW, restricted_location=True) as ex:
        for path in ("/api/v3/ping", "/api/v3/time", "/api/v3/exchangeInfo", "/api/v3/allOrders", "/nothing"):
            r = http.get(f"{ex.url}{path}", timeout=5)
            assert (r.status_code, r.json()) == (451, RESTRICTED), path
        assert http.post(f"{ex.url}/api/v3/klines", timeout=5).status_code == 451
        with pytest.raises(BinanceAPIException) as e:
            client_for(ex).ping()
        assert (e.value.status_code, e.value.code) == (451, 0)
        ex.restricted_location = False  # e.g. the VPN came back
        assert http.get(f"{ex.url}/api/v3/ping", timeout=5).status_code == 200
