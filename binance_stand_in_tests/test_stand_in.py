"""The Binance Spot stand-in, over real HTTP (requests) and through python-binance 1.0.37."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException

from binance_stand_in import INTERVALS, ExchangeStandIn, sign

NOW = 1_717_200_030_000  # 2024-06-01 00:00:30 UTC: the 00:00 candle is still open
MIN = 60_000
HOUR = 60 * MIN
DEC8 = re.compile(r"^\d+\.\d{8}$")
KEY, SECRET = "stand-in-key", "stand-in-secret"


@pytest.fixture(scope="module")
def ex():
    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), now_ms=NOW) as exchange:
        exchange.add_api_key(KEY, SECRET)
        yield exchange


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def get(session, ex, path, headers=None, timeout=5, **params):
    return session.get(f"{ex.url}{path}", params=params, headers=headers or {}, timeout=timeout)


def klines(session, ex, **params):
    r = get(session, ex, "/api/v3/klines", **params)
    assert r.status_code == 200, r.text
    return r.json()


def client_for(ex, key=KEY, secret=SECRET) -> Client:
    c = Client(key, secret, ping=False)
    c.API_URL = f"{ex.url}/api"
    return c


def assert_valid_candle(row, interval_ms=MIN):
    assert len(row) == 12
    ot, o, h, lo, c, v, ct, q, n, tb, tq, unused = row
    assert isinstance(ot, int) and isinstance(ct, int) and isinstance(n, int)
    for s in (o, h, lo, c, v, q, tb, tq):
        assert DEC8.match(s), s
    o, h, lo, c, v, q, tb, tq = map(Decimal, (o, h, lo, c, v, q, tb, tq))
    assert lo <= min(o, c) <= max(o, c) <= h and lo > 0
    assert v >= 0 and q >= 0 and 0 <= tb <= v and 0 <= tq <= q
    if v:
        assert lo * v * Decimal("0.999") <= q <= h * v * Decimal("1.001")  # quote ~ volume x price
    assert ct == ot + interval_ms - 1
    assert unused == "0"


# ----------------------------------------------------------------------------------- klines
def test_klines_with_start_time_returns_oldest_from_the_aligned_start(ex, http):
    start = NOW - 10 * MIN
    rows = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=start + 1, limit=5)
    opens = [r[0] for r in rows]
    first = (start // MIN + 1) * MIN  # the first open time >= startTime
    assert opens == [first + i * MIN for i in range(5)]
    for prev, row in zip(rows, rows[1:]):
        assert row[1] == prev[4]  # the next open is the previous close
    for row in rows:
        assert_valid_candle(row)


def test_klines_end_time_limit_and_no_future(ex, http):
    start = NOW // MIN * MIN - 3 * HOUR
    end = start + 9 * MIN
    rows = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=start, endTime=end, limit=1000)
    assert [r[0] for r in rows] == [start + i * MIN for i in range(10)]  # open <= endTime
    only_end = klines(http, ex, symbol="BTCUSDT", interval="1m", endTime=end + 30_000, limit=3)
    assert [r[0] for r in only_end] == [end - 2 * MIN, end - MIN, end]  # newest 3 ending at endTime
    assert only_end == rows[-3:]
    newest = klines(http, ex, symbol="BTCUSDT", interval="1m")
    assert len(newest) == 500  # the default limit
    assert newest[-1][0] == NOW // MIN * MIN  # the candle still open...
    assert newest[-1][6] > NOW  # ...has its close time in the future
    assert all(r[0] <= NOW for r in newest)
    assert klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=NOW + MIN) == []
    late_end = klines(http, ex, symbol="BTCUSDT", interval="1m", endTime=NOW + 10 * HOUR, limit=2)
    assert late_end == newest[-2:]


def test_open_candle_has_partial_values_then_closes(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        open_row = klines(http, ex, symbol="BTCUSDT", interval="1m", limit=1)[0]
        assert open_row[0] == NOW // MIN * MIN and open_row[6] > NOW
        ex.set_now(NOW + 2 * MIN)
        closed = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=open_row[0], limit=1)[0]
        assert closed[6] < ex.now_ms
        assert_valid_candle(open_row)
        assert open_row[1] == closed[1]  # same open
        assert Decimal(open_row[5]) <= Decimal(closed[5])  # half a minute of volume so far
        assert Decimal(open_row[2]) <= Decimal(closed[2]) and Decimal(open_row[3]) >= Decimal(closed[3])


def test_klines_are_deterministic_and_stress_exact_decimals(ex, http):
    rows = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=NOW - 2000 * MIN, limit=1000)
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW + 5 * HOUR) as other:
        assert klines(http, other, symbol="BTCUSDT", interval="1m", startTime=NOW - 2000 * MIN, limit=1000) == rows
    assert len(rows) == 1000
    for row in rows:
        assert_valid_candle(row)
    closes = [Decimal(r[4]) for r in rows]
    assert min(closes) > 10_000 and max(closes) < 200_000  # BTC-like prices
    assert any(not r[4].endswith("000000") for r in rows)  # some prices use all 8 decimals
    assert any(not r[7].endswith("0") for r in rows)  # quote volumes carry all 8 decimals
    daily = klines(http, ex, symbol="BTCUSDT", interval="1d", endTime=NOW - 24 * HOUR, limit=10)
    assert all(len(r[7].replace(".", "").lstrip("0")) > 15 for r in daily)  # more digits than a float holds


def test_all_intervals_parse_and_align(ex, http):
    for interval in INTERVALS:
        rows = klines(http, ex, symbol="ETHUSDT", interval=interval, endTime=NOW - 1, limit=2)
        assert len(rows) == 2, interval
        for row in rows:
            assert_valid_candle(row, interval_ms=row[6] + 1 - row[0])
        assert rows[0][6] + 1 == rows[1][0]
    month = klines(http, ex, symbol="BTCUSDT", interval="1M", endTime=NOW, limit=2)
    assert [r[0] for r in month] == [1_714_521_600_000, 1_717_200_000_000]  # 2024-05-01, 2024-06-01
    assert month[0][6] == 1_717_199_999_999
    week = klines(http, ex, symbol="BTCUSDT", interval="1w", endTime=NOW, limit=1)
    assert week[0][0] == 1_716_768_000_000  # Monday 2024-05-27 00:00 UTC


def test_klines_errors(ex, http):
    def error(**params):
        r = get(http, ex, "/api/v3/klines", **params)
        return r.status_code, r.json()["code"]

    assert error(symbol="NOPEUSDT", interval="1m") == (400, -1121)
    assert error(symbol="BTCUSDT", interval="2m") == (400, -1120)
    assert error(symbol="BTCUSDT", interval="1m", limit=1001) == (400, -1130)
    assert error(symbol="BTCUSDT") == (400, -1102)
    assert error(interval="1m") == (400, -1102)
    assert error(symbol="BTCUSDT", interval="1m", startTime="abc") == (400, -1100)
    assert error(symbol="BTCUSDT", interval="1m", startTime=NOW, endTime=NOW - 1) == (400, -1023)
    assert error(symbol="BTCUSDT", interval="1m", bogus=1) == (400, -1104)
    assert len(klines(http, ex, symbol="BTCUSDT", interval="1m", limit=1000, timeZone="+08:00")) == 1000
    first = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=0, limit=1)
    assert first[0][0] == 1_502_942_400_000  # no candle before the listing (2017-08-17 04:00 UTC)


def test_python_binance_pages_a_day_of_klines(ex):
    client = client_for(ex)
    day = NOW // (24 * HOUR) * (24 * HOUR) - 24 * HOUR
    got, start = [], day
    while True:
        page = client.get_klines(
            symbol="BTCUSDT", interval="1m", startTime=start, endTime=day + 24 * HOUR - 1, limit=1000
        )
        if not page:
            break
        got += page
        start = page[-1][0] + 1
    assert [r[0] for r in got] == [day + i * MIN for i in range(1440)]


# ----------------------------------------------------------------------------------- gaps, corrections
def test_gaps_and_corrections(http):
    base = NOW // HOUR * HOUR - 5 * HOUR
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        before = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=base, limit=20)
        gap = [base + 3 * MIN, base + 4 * MIN, base + 10 * MIN]
        ex.remove_candles("BTCUSDT", gap)
        after = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=base, limit=20)
        assert len(after) == 20  # the limit counts candles that exist
        opens = [r[0] for r in after]
        assert not set(gap) & set(opens)
        assert opens[-1] == base + 22 * MIN
        assert [r for r in before if r[0] not in gap] == after[:17]
        # a halt: a whole range never produced; paging backwards from endTime skips it too
        ex.remove_range("BTCUSDT", base + HOUR, base + 2 * HOUR)
        back = klines(http, ex, symbol="BTCUSDT", interval="1m", endTime=base + 2 * HOUR, limit=3)
        assert [r[0] for r in back] == [base + HOUR - 2 * MIN, base + HOUR - MIN, base + 2 * HOUR]
        # corrections: later responses return the corrected values
        target = before[5]
        ex.correct_candle("BTCUSDT", target[0], close="67123.45678901", volume="1.5")
        fixed = klines(http, ex, symbol="BTCUSDT", interval="1m", startTime=target[0], limit=1)[0]
        assert fixed[4] == "67123.45678901" and fixed[5] == "1.50000000"
        assert fixed[:4] == target[:4] and fixed[6:] == target[6:]
        assert ex.candles("BTCUSDT", "1m", start_ms=target[0], limit=1)[0] == fixed
        # other intervals are unaffected by 1m gaps
        assert klines(http, ex, symbol="BTCUSDT", interval="1h", startTime=base + HOUR, limit=1)[0][0] == base + HOUR


# ----------------------------------------------------------------------------------- weights, limits
def test_weights_headers_and_records(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        expected = 0
        for path, params, weight in [
            ("/api/v3/ping", {}, 1),
            ("/api/v3/time", {}, 1),
            ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1000}, 2),
            ("/api/v3/exchangeInfo", {}, 20),
            ("/api/v3/depth", {"symbol": "BTCUSDT"}, 5),
            ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": 101}, 25),
            ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": 1000}, 50),
            ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5000}, 250),
            ("/api/v3/klines", {"symbol": "NOPE", "interval": "1m"}, 2),  # errors are charged too
        ]:
            r = get(http, ex, path, **params)
            expected += weight
            assert r.headers["X-MBX-USED-WEIGHT-1M"] == str(expected), path
            assert r.headers["X-MBX-USED-WEIGHT"] == str(expected)
            assert ex.requests[-1].weight == weight
        assert ex.used_weight_1m == expected
        assert ex.count(path="/api/v3/depth") == 4
        assert ex.count(path="/api/v3/klines", status=200) == 1
        assert ex.count(status=400) == 1
        rec = ex.requests[2]
        assert (rec.method, rec.path, rec.params, rec.status) == (
            "GET",
            "/api/v3/klines",
            {"symbol": "BTCUSDT", "interval": "1m", "limit": "1000"},
            200,
        )
        assert r.json() == {"code": -1121, "msg": "Invalid symbol."}
        assert get(http, ex, "/api/v3/nothing").status_code == 404
        assert http.post(f"{ex.url}/api/v3/klines", timeout=5).status_code == 405
        assert get(http, ex, "/api/v3/time").json()["serverTime"] == pytest.approx(time.time() * 1000, abs=2000)


def test_429_with_retry_after_then_418_when_hammered(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW, weight_limit_1m=10, window_s=1, ban_seconds=1) as ex:
        time.sleep(1 - time.time() % 1 + 0.02)  # start a fresh 1 s window
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}
        for _ in range(5):
            assert get(http, ex, "/api/v3/klines", **params).status_code == 200
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 429 and r.json()["code"] == -1003
        assert r.headers["Retry-After"] == "1"
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "10" and ex.requests[-1].weight == 0
        # one request of grace while Retry-After runs (answered normally: 429 again), then the ban
        assert get(http, ex, "/api/v3/ping").status_code == 429
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 418 and int(r.headers["Retry-After"]) >= 1
        r = get(http, ex, "/api/v3/ping")
        assert r.status_code == 418 and r.json()["code"] == -1003
        assert int(r.headers["Retry-After"]) >= 1
        assert ex.count(status=418) == 2
        time.sleep(1.05)  # the ban is over (and so is the window)
        assert get(http, ex, "/api/v3/klines", **params).status_code == 200


def test_waiting_for_retry_after_is_not_hammering(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW, weight_limit_1m=4, window_s=1, ban_seconds=60) as ex:
        time.sleep(1 - time.time() % 1 + 0.02)
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}
        assert [get(http, ex, "/api/v3/klines", **params).status_code for _ in range(3)] == [200, 200, 429]
        retry_after = int(get(http, ex, "/api/v3/klines", **params).headers["Retry-After"])  # the grace
        time.sleep(max(0.0, 1 - time.time() % 1) + 0.02)
        assert retry_after == 1
        assert get(http, ex, "/api/v3/klines", **params).status_code == 200
        assert ex.count(status=418) == 0


# ----------------------------------------------------------------------------------- faults
def test_injected_faults(http):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as ex:
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 10}
        ex.fail_next(1, "500")
        ex.fail_next(1, "502")
        ex.fail_next(1, "503")
        assert get(http, ex, "/api/v3/ping").status_code == 200  # ping/time take no faults
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 500 and r.json()["code"] == -1000
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 503 and "X-MBX-USED-WEIGHT-1M" in r.headers
        ex.fail_next(1, "truncated")
        with pytest.raises(requests.exceptions.RequestException):
            get(http, ex, "/api/v3/klines", **params).json()
        ex.fail_next(1, "timeout", seconds=1.0)
        with pytest.raises(requests.exceptions.Timeout):
            get(http, ex, "/api/v3/klines", timeout=0.2, **params)
        ex.fail_next(1, "429")
        r = get(http, ex, "/api/v3/klines", **params)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1" and r.json()["code"] == -1003
        time.sleep(1.05)
        ex.fail_next(2, "503", path="/api/v3/depth")
        assert get(http, ex, "/api/v3/klines", **params).status_code == 200
        assert get(http, ex, "/api/v3/depth", symbol="BTCUSDT").status_code == 503
        assert ex.pending_faults == 1
        ex.clear_faults()
        assert get(http, ex, "/api/v3/depth", symbol="BTCUSDT").status_code == 200
        assert ex.count(path="/api/v3/klines", status=200) >= 2  # truncated + timeout were 200s
        # python-binance surfaces the 5xx as BinanceAPIException with the status code
        ex.fail_next(1, "503")
        with pytest.raises(BinanceAPIException) as e:
            client_for(ex).get_klines(symbol="BTCUSDT", interval="1m", limit=1)
        assert e.value.status_code == 503


# ----------------------------------------------------------------------------------- exchangeInfo, depth
def test_exchange_info(ex, http):
    r = get(http, ex, "/api/v3/exchangeInfo")
    info = r.json()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = info["symbols"][0]
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
    assert btc["baseAssetPrecision"] == 8 and btc["quoteAssetPrecision"] == 8
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000} in info[
        "rateLimits"
    ]
    one = get(http, ex, "/api/v3/exchangeInfo", symbol="ETHUSDT").json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    compact = json.dumps(["ETHUSDT", "BTCUSDT"], separators=(",", ":"))  # as Binance's legal range demands
    two = get(http, ex, "/api/v3/exchangeInfo", symbols=compact).json()
    assert [s["symbol"] for s in two["symbols"]] == ["ETHUSDT", "BTCUSDT"]
    bad = get(http, ex, "/api/v3/exchangeInfo", symbol="DOGEUSDT")
    assert (bad.status_code, bad.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert get(http, ex, "/api/v3/exchangeInfo", symbols='["BTCUSDT","NOPE"]').json()["code"] == -1121
    assert client_for(ex).get_symbol_info("BTCUSDT")["symbol"] == "BTCUSDT"


def test_symbol_status_break(http):
    with ExchangeStandIn(symbols=("BTCUSDT", "LUNAUSDT"), now_ms=NOW) as ex:
        ex.set_symbol_status("LUNAUSDT", "BREAK")
        info = get(http, ex, "/api/v3/exchangeInfo").json()
        assert {s["symbol"]: s["status"] for s in info["symbols"]} == {"BTCUSDT": "TRADING", "LUNAUSDT": "BREAK"}
        luna = info["symbols"][1]
        assert (luna["baseAsset"], luna["quoteAsset"]) == ("LUNA", "USDT")


def test_depth(ex, http):
    book = get(http, ex, "/api/v3/depth", symbol="BTCUSDT").json()
    assert set(book) == {"lastUpdateId", "bids", "asks"}
    assert len(book["bids"]) == len(book["asks"]) == 100
    bids = [Decimal(p) for p, q in book["bids"]]
    asks = [Decimal(p) for p, q in book["asks"]]
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == 100
    assert asks == sorted(asks) and len(set(asks)) == 100
    assert bids[0] < asks[0]
    assert all(DEC8.match(x) for level in book["bids"] + book["asks"] for x in level)
    assert get(http, ex, "/api/v3/depth", symbol="BTCUSDT").json() == book  # deterministic at a fixed now
    assert len(get(http, ex, "/api/v3/depth", symbol="BTCUSDT", limit=5).json()["asks"]) == 5
    assert get(http, ex, "/api/v3/depth", symbol="XUSDT").json()["code"] == -1121


# ----------------------------------------------------------------------------------- signed allOrders
@pytest.fixture(scope="module")
def busy_hour(ex):
    """2500 orders in one hour: paging must go by orderId."""
    hour = NOW // HOUR * HOUR - 3 * HOUR
    ex.generate_orders("BTCUSDT", hour, hour + HOUR, 2500)
    ex.generate_orders("BTCUSDT", hour - HOUR, hour, 50, seed=1)  # the hour before
    return hour


def test_all_orders_with_python_binance_pages_by_order_id(ex, busy_hour):
    client = client_for(ex)
    start, end = busy_hour, busy_hour + HOUR - 1
    first = client.get_all_orders(symbol="BTCUSDT", startTime=start, endTime=end, limit=1000)
    assert len(first) == 1000
    conditional = ("stopPrice", "icebergQty", "preventedMatchId", "preventedQuantity")  # only where they apply
    for o in first:
        assert [f for f in o if f not in conditional] == [
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "time",
            "updateTime",
            "isWorking",
            "workingTime",
            "origQuoteOrderQty",
            "selfTradePreventionMode",
        ]
        assert o["orderListId"] == -1
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
        assert start <= o["time"] <= end and o["updateTime"] >= o["time"]
    ids = [o["orderId"] for o in first]
    assert ids == sorted(ids)
    # the page boundary falls inside a millisecond shared by several orders?  paging by time would
    # then lose or duplicate orders; paging by orderId cannot
    everything = list(first)
    while True:
        page = client.get_all_orders(
            symbol="BTCUSDT", orderId=everything[-1]["orderId"] + 1, startTime=start, endTime=end, limit=1000
        )
        if not page:
            break
        everything += page
    assert len(everything) == 2500
    assert len({o["orderId"] for o in everything}) == 2500
    times = [o["time"] for o in everything]
    assert len(set(times)) < len(times) - 100  # many orders share their millisecond
    statuses = {o["status"] for o in everything}
    assert {"FILLED", "CANCELED", "NEW"} <= statuses
    # what python-binance sent: sorted params, recvWindow=10000, timestamp, signature last
    rec = ex.requests[-1]
    assert list(rec.params) == [
        "endTime",
        "limit",
        "orderId",
        "recvWindow",
        "startTime",
        "symbol",
        "timestamp",
        "signature",
    ]
    assert rec.params["recvWindow"] == "10000" and rec.weight == 20
    # without startTime/endTime nor orderId: the most recent orders
    recent = client.get_all_orders(symbol="BTCUSDT", limit=5)
    assert [o["orderId"] for o in recent] == [o["orderId"] for o in ex.orders("BTCUSDT")[-5:]]


def test_all_orders_auth_errors(ex, busy_hour, http):
    start = busy_hour

    def api_error(client, **params):
        with pytest.raises(BinanceAPIException) as e:
            client.get_all_orders(symbol="BTCUSDT", **params)
        return e.value.status_code, e.value.code

    assert api_error(client_for(ex, key="unknown-key"), startTime=start) == (401, -2015)
    assert api_error(client_for(ex, secret="wrong-secret"), startTime=start) == (400, -1022)
    assert api_error(client_for(ex), startTime=start, endTime=start + 24 * HOUR + 1) == (400, -1127)
    assert len(client_for(ex).get_all_orders(symbol="BTCUSDT", startTime=start, endTime=start + 24 * HOUR)) == 500
    # missing key header -> -2014; missing timestamp -> -1102; recvWindow > 60000 -> -1131
    query = urlencode({"symbol": "BTCUSDT", "timestamp": ex.server_time_ms})
    r = get(http, ex, f"/api/v3/allOrders?{query}&signature={sign(SECRET, query)}")
    assert (r.status_code, r.json()["code"]) == (401, -2014)
    hdr = {"X-MBX-APIKEY": KEY}
    query = "symbol=BTCUSDT"
    r = get(http, ex, f"/api/v3/allOrders?{query}&signature={sign(SECRET, query)}", headers=hdr)
    assert (r.status_code, r.json()["code"]) == (400, -1102)
    query = urlencode({"symbol": "BTCUSDT", "recvWindow": 60001, "timestamp": ex.server_time_ms})
    r = get(http, ex, f"/api/v3/allOrders?{query}&signature={sign(SECRET, query)}", headers=hdr)
    assert (r.status_code, r.json()["code"]) == (400, -1131)
    # hand-signed request in any parameter order: Binance signs the raw query string
    query = urlencode({"timestamp": ex.server_time_ms, "symbol": "BTCUSDT", "limit": 3})
    r = get(http, ex, f"/api/v3/allOrders?{query}&signature={sign(SECRET, query)}", headers=hdr)
    assert r.status_code == 200 and len(r.json()) == 3


def test_clock_skew_gives_1021_until_the_client_syncs(ex, busy_hour):
    client = client_for(ex)
    try:
        ex.server_time_offset_ms = -5_000  # the server is behind: the client's timestamp is in its future
        with pytest.raises(BinanceAPIException) as e:
            client.get_all_orders(symbol="BTCUSDT", startTime=busy_hour, limit=1)
        assert (e.value.status_code, e.value.code) == (400, -1021)
        ex.server_time_offset_ms = 30_000  # the server is ahead: older than recvWindow (10000)
        with pytest.raises(BinanceAPIException) as e:
            client.get_all_orders(symbol="BTCUSDT", startTime=busy_hour, limit=1)
        assert e.value.code == -1021 and "recvWindow" in e.value.message
        client.timestamp_offset = client.get_server_time()["serverTime"] - int(time.time() * 1000)
        assert len(client.get_all_orders(symbol="BTCUSDT", startTime=busy_hour, limit=1)) == 1
    finally:
        ex.server_time_offset_ms = 0


def test_orders_change_after_creation_and_future_orders_are_hidden(http):
    with ExchangeStandIn(symbols=("ETHUSDT",), now_ms=NOW) as ex:
        ex.add_api_key(KEY, SECRET)
        created = ex.add_orders(
            "ETHUSDT",
            [
                {"time": NOW - MIN, "price": "3000.5", "origQty": "0.5", "side": "SELL"},
                {"time": NOW + MIN, "price": "3001", "origQty": "1"},  # not created yet at now
            ],
        )
        client = client_for(ex)
        listed = client.get_all_orders(symbol="ETHUSDT")
        assert [o["orderId"] for o in listed] == [created[0]["orderId"]]
        assert listed[0]["status"] == "NEW" and listed[0]["price"] == "3000.50000000"
        ex.update_order("ETHUSDT", created[0]["orderId"], status="FILLED", executed_qty="0.5", update_time=NOW)
        again = client.get_all_orders(symbol="ETHUSDT")[0]
        assert (again["status"], again["executedQty"], again["cummulativeQuoteQty"], again["updateTime"]) == (
            "FILLED",
            "0.50000000",
            "1500.25000000",
            NOW,
        )
        ex.set_now(NOW + 2 * MIN)
        assert len(client.get_all_orders(symbol="ETHUSDT")) == 2


def test_generated_orders_are_deterministic(ex):
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as a, ExchangeStandIn(symbols=("BTCUSDT",)) as b:
        assert a.generate_orders("BTCUSDT", NOW - HOUR, NOW, 300) == b.generate_orders("BTCUSDT", NOW - HOUR, NOW, 300)


# ----------------------------------------------------------------------------------- misc
def test_duplicate_parameter_and_real_time_clock(http):
    with ExchangeStandIn(symbols=("BTCUSDT",)) as ex:  # no now_ms: the market follows real time
        r = http.get(f"{ex.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&interval=1h", timeout=5)
        assert (r.status_code, r.json()["code"]) == (400, -1101)
        newest = klines(http, ex, symbol="BTCUSDT", interval="1m", limit=2)
        now = time.time() * 1000
        assert newest[-1][0] <= now < newest[-1][6] + 1000


def test_cli_serves_until_interrupted():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "binance_stand_in",
            "--port",
            "0",
            "--symbols",
            "BTCUSDT",
            "--api-key",
            "k",
            "--api-secret",
            "s",
            "--orders-per-hour",
            "20",
            "--order-hours",
            "2",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert requests.get(f"{url}/api/v3/ping", timeout=5).json() == {}
        c = Client("k", "s", ping=False)
        c.API_URL = f"{url}/api"
        assert len(c.get_all_orders(symbol="BTCUSDT", limit=1000)) == 40
    finally:
        proc.terminate()
        proc.wait(timeout=10)
