"""The stand-in's websocket kline streams, over real websockets (the ``websockets`` sync client)."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.sync.client import connect

from binance_stand_in import ExchangeStandIn

NOW = 1_717_200_030_000  # 2024-06-01 00:00:30 UTC: the 00:00 candle is open
MIN = 60_000
OPEN = NOW // MIN * MIN
DEC8 = re.compile(r"^\d+\.\d{8}$")


@pytest.fixture
def ex():
    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), now_ms=NOW) as exchange:
        yield exchange


def recv(ws, timeout=2.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def recv_n(ws, n: int) -> list[dict]:
    return [recv(ws) for _ in range(n)]


def nothing_more(ws, wait=0.15) -> bool:
    try:
        ws.recv(timeout=wait)
    except TimeoutError:
        return True
    return False


def rest_klines(ex, symbol, start, limit) -> list[list]:
    r = requests.get(
        f"{ex.url}/api/v3/klines",
        params={"symbol": symbol, "interval": "1m", "startTime": start, "limit": limit},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return r.json()


def as_row(k: dict) -> list:
    """A kline event's ``k`` in REST's 12-field order."""
    return [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], k["B"]]


def closed_event_time(ev) -> int:
    return ev["k"]["T"] + 1


# ----------------------------------------------------------------------------------- payload, paths
def test_kline_event_payload_as_documented(ex):
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws:
        ex.advance(10_000)
        ev = recv(ws)
    assert list(ev) == ["e", "E", "s", "k"]
    assert list(ev["k"]) == ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"]
    k = ev["k"]
    assert (ev["e"], ev["E"], ev["s"]) == ("kline", NOW + 10_000, "BTCUSDT")
    assert (k["t"], k["T"], k["s"], k["i"], k["x"], k["B"]) == (OPEN, OPEN + MIN - 1, "BTCUSDT", "1m", False, "0")
    for f in "ochlvqVQ":
        assert DEC8.match(k[f]), (f, k[f])
    assert k["L"] - k["f"] + 1 == k["n"] > 0
    assert (
        Decimal(k["l"])
        <= min(Decimal(k["o"]), Decimal(k["c"]))
        <= max(Decimal(k["o"]), Decimal(k["c"]))
        <= Decimal(k["h"])
    )


def test_closed_candle_equals_the_rest_row_and_partials_precede_it(ex):
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws:
        partials = []
        for _ in range(14):  # 00:00:32 ... 00:00:58, one update every 2 s as Binance
            ex.advance(2_000)
            partials.append(recv(ws))
        ex.advance(4_000)  # 00:01:02: the 00:00 candle closed
        close, next_open = recv_n(ws, 2)
    assert all(p["k"]["x"] is False and p["k"]["t"] == OPEN for p in partials)
    assert close["k"]["x"] is True and close["k"]["t"] == OPEN and close["E"] == OPEN + MIN
    assert next_open["k"]["x"] is False and next_open["k"]["t"] == OPEN + MIN
    assert as_row(close["k"]) == rest_klines(ex, "BTCUSDT", OPEN, 1)[0]  # to the digit
    final = {f: Decimal(close["k"][f]) for f in "ochlv"}
    prev = None
    for p in partials:  # a prefix of the final candle
        k = p["k"]
        assert k["o"] == close["k"]["o"] and k["f"] == close["k"]["f"]
        h, lo, c, v = (Decimal(k[f]) for f in "hlcv")
        assert final["l"] <= lo <= c <= h <= final["h"]
        assert v <= final["v"] and k["n"] <= close["k"]["n"] and k["L"] <= close["k"]["L"]
        if prev is not None:  # running high and low, growing volume
            assert h >= Decimal(prev["h"]) and lo <= Decimal(prev["l"])
            assert v >= Decimal(prev["v"]) and k["n"] >= prev["n"]
        prev = k
    assert [p["E"] for p in partials] == sorted(p["E"] for p in partials)


def test_advancing_n_minutes_emits_n_closes_in_order(ex):
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws:
        ex.advance(5 * MIN)
        events = recv_n(ws, 6)
        assert nothing_more(ws)
    closes, partial = events[:5], events[5]
    assert [e["k"]["x"] for e in closes] == [True] * 5
    assert [e["k"]["t"] for e in closes] == [OPEN + i * MIN for i in range(5)]
    assert [e["E"] for e in closes] == [closed_event_time(e) for e in closes]
    assert [as_row(e["k"]) for e in closes] == rest_klines(ex, "BTCUSDT", OPEN, 5)
    assert partial["k"]["x"] is False and partial["k"]["t"] == OPEN + 5 * MIN and partial["E"] == NOW + 5 * MIN
    for a, b in zip(closes, closes[1:]):
        assert b["k"]["o"] == a["k"]["c"] and b["k"]["f"] > a["k"]["L"]  # next open = previous close


def test_raw_path_with_several_streams_and_a_halt(ex):
    ex.remove_candles("ETHUSDT", [OPEN + MIN])  # never produced: no close for it, as REST
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m/ethusdt@kline_1m/btcusdt@kline_3m") as ws:
        ex.advance(2 * MIN)
        events = recv_n(ws, 6)
        assert nothing_more(ws)
    got = [(e["s"], e["k"]["i"], e["k"]["t"], e["k"]["x"]) for e in events]
    assert got == [  # by event time, then in the order of the path
        ("BTCUSDT", "1m", OPEN, True),
        ("ETHUSDT", "1m", OPEN, True),
        ("BTCUSDT", "1m", OPEN + MIN, True),  # ETHUSDT's 00:01 candle was never produced
        ("BTCUSDT", "1m", OPEN + 2 * MIN, False),
        ("ETHUSDT", "1m", OPEN + 2 * MIN, False),
        ("BTCUSDT", "3m", OPEN, False),
    ]


def test_combined_path_wraps_payloads(ex):
    names = ["btcusdt@kline_1m", "ethusdt@kline_1m"]
    with connect(f"{ex.stream_url}/stream?streams={'/'.join(names)}") as ws:
        ex.advance(MIN)
        events = recv_n(ws, 4)
    assert [list(e) for e in events] == [["stream", "data"]] * 4
    assert [e["stream"] for e in events] == names * 2
    assert [(e["data"]["s"], e["data"]["k"]["x"]) for e in events] == [
        ("BTCUSDT", True),
        ("ETHUSDT", True),
        ("BTCUSDT", False),
        ("ETHUSDT", False),
    ]
    assert as_row(events[1]["data"]["k"]) == rest_klines(ex, "ETHUSDT", OPEN, 1)[0]


def test_bad_paths_and_stream_names_are_refused(ex):
    for path, status in [
        ("/ws/BTCUSDT@kline_1m", 400),
        ("/ws/btcusdt@kline_7m", 400),
        ("/ws/btcusdt@trade", 400),
        ("/stream?streams=btcusdt@kline_1m&timeUnit=MICROSECOND", 400),
        ("/api/v3/klines", 404),
    ]:
        with pytest.raises(InvalidStatus) as e:
            connect(f"{ex.stream_url}{path}", open_timeout=2)
        assert e.value.response.status_code == status, path
    ex.stream_max_streams = 2
    with pytest.raises(InvalidStatus):
        connect(f"{ex.stream_url}/ws/btcusdt@kline_1m/ethusdt@kline_1m/btcusdt@kline_5m", open_timeout=2)
    with connect(f"{ex.stream_url}/ws/xyzusdt@kline_1m") as ws:  # unknown symbol: accepted, silent
        ex.advance(MIN)
        assert nothing_more(ws)
    assert ex.stream_connections_total == 1


# ----------------------------------------------------------------------------------- live methods
def test_subscribe_unsubscribe_list_and_properties(ex):
    ex.stream_messages_per_s = 100  # this test talks faster than Binance allows
    with connect(f"{ex.stream_url}/ws") as ws:

        def call(method, params=None, id_=1):
            msg = {"method": method, "id": id_} if params is None else {"method": method, "params": params, "id": id_}
            ws.send(json.dumps(msg))
            return recv(ws)

        assert call("SUBSCRIBE", ["btcusdt@kline_1m", "ethusdt@kline_1m"]) == {"result": None, "id": 1}
        assert call("LIST_SUBSCRIPTIONS", id_="abc") == {
            "result": ["btcusdt@kline_1m", "ethusdt@kline_1m"],
            "id": "abc",
        }
        assert call("UNSUBSCRIBE", ["ethusdt@kline_1m"], id_=312) == {"result": None, "id": 312}
        assert call("GET_PROPERTY", ["combined"], id_=2) == {"result": False, "id": 2}
        ex.advance(MIN)
        close, partial = recv_n(ws, 2)
        assert (close["s"], close["k"]["x"], partial["k"]["x"]) == ("BTCUSDT", True, False)
        assert call("SET_PROPERTY", ["combined", True], id_=5) == {"result": None, "id": 5}
        ex.advance(MIN)
        wrapped = recv_n(ws, 2)
        assert [w["stream"] for w in wrapped] == ["btcusdt@kline_1m"] * 2
        assert wrapped[0]["data"]["k"]["t"] == OPEN + MIN

        def error(reply):
            return reply["error"]["code"], reply["error"]["msg"]

        assert error(call("SUBSCRIBE", ["btcusdt@depth"])) == (2, "Invalid request: invalid stream")
        assert error(call("SUBSCRIBE", [f"s{i}usdt@kline_1m" for i in range(1024)]))[0] == 2  # > 1024 streams
        assert error(call("subscribe", ["btcusdt@kline_1m"]))[0] == 2
        assert error(call("GET_PROPERTY", ["speed"])) == (0, "Unknown property")
        assert error(call("SET_PROPERTY", ["combined", "yes"])) == (1, "Invalid value type: expected Boolean")
        assert error(call("LIST_SUBSCRIPTIONS", id_=1.5)) == (
            2,
            "Invalid request: request ID must be an unsigned integer",
        )
        ws.send("{not json")
        reply = recv(ws)
        assert reply["error"]["code"] == 3 and reply["id"] is None
        assert call("LIST_SUBSCRIPTIONS", id_=None) == {"result": ["btcusdt@kline_1m"], "id": None}


# ----------------------------------------------------------------------------------- connection management
def test_message_rate_limit_disconnects(ex):
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws:
        for i in range(6):  # Binance: at most 5 incoming messages a second
            ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        answers = [recv(ws)["id"] for _ in range(5)]
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=2)
    assert answers == [0, 1, 2, 3, 4]
    assert (e.value.rcvd.code, e.value.rcvd.reason) == (1008, "Too many requests")


def test_lifetime_closes_the_connection(ex):
    ex.stream_max_lifetime_s = 0.3
    start = time.monotonic()
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws, pytest.raises(ConnectionClosed) as e:
        ws.recv(timeout=3)
    assert 0.25 < time.monotonic() - start < 2
    assert e.value.rcvd.code == 1001


def _raw_connect(port: int, path: str) -> socket.socket:
    """A websocket client that never answers pings (the websockets client always does)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """(opcode, payload) of the next server frame (unmasked), None at end of stream."""

    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    head = exactly(2)
    if head is None:
        return None
    n = head[1] & 0x7F
    if n == 126:
        n = int.from_bytes(exactly(2), "big")
    elif n == 127:
        n = int.from_bytes(exactly(8), "big")
    return head[0] & 0x0F, exactly(n) if n else b""


def test_server_pings_and_disconnects_a_client_that_does_not_pong(ex):
    ex.stream_ping_interval_s, ex.stream_pong_timeout_s = 0.4, 0.4
    start = time.monotonic()
    silent = _raw_connect(ex.stream_port, "/ws/btcusdt@kline_1m")
    with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as polite:  # answers pings by itself
        frames = []
        while (frame := _read_frame(silent)) is not None:
            frames.append((frame[0], round(time.monotonic() - start, 1)))
            close_payload = frame[1]
        silent.close()
        assert [op for op, _ in frames] == [0x9, 0x8]  # a ping, then a close frame...
        assert int.from_bytes(close_payload[:2], "big") == 1011  # "keepalive ping timeout"
        assert frames[0][1] >= 0.3 and frames[1][1] < 2.0  # ...after ping interval + pong timeout
        time.sleep(0.5)
        polite.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}))
        assert recv(polite) == {"result": ["btcusdt@kline_1m"], "id": 7}  # still connected
        assert ex.stream_connections == 1


def test_drop_pause_and_counters(ex):
    url = f"{ex.stream_url}/ws/btcusdt@kline_1m"
    a, b = connect(url), connect(url)
    assert (ex.stream_connections, ex.stream_connections_total) == (2, 2)
    ex.advance(MIN)
    recv_n(a, 2)
    assert ex.drop_stream_connections() == 2
    for ws in (a, b):
        with pytest.raises(ConnectionClosedError) as e:
            while True:
                ws.recv(timeout=2)  # b still holds its two queued events
        assert e.value.rcvd is None  # no close frame: a network cut
        ws.close()
    assert ex.stream_connections == 0 and ex.stream_messages_sent >= 4

    with connect(url) as ws:  # a pause: dropped, and refused for a while
        assert ex.pause_stream(0.5) == 1
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=2)
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=2)
    assert refused.value.response.status_code == 503
    ex.advance(3 * MIN)  # candles that close while the client is away: REST has them, the stream won't
    time.sleep(0.5)
    with connect(url) as ws:
        ex.advance(MIN)
        close = recv(ws)
    assert close["k"]["t"] == OPEN + 4 * MIN  # only the newest close; the window is REST's to backfill
    assert [r[0] for r in rest_klines(ex, "BTCUSDT", OPEN + MIN, 3)] == [OPEN + MIN * i for i in (1, 2, 3)]
    assert ex.stream_connections_total == 4


def test_real_time_clock_updates_and_closes_at_the_boundary():
    boundary = NOW // MIN * MIN + MIN
    offset = boundary - 1000 - int(time.time() * 1000)  # the market clock runs 1 s before a close
    with ExchangeStandIn(symbols=("BTCUSDT",), server_time_offset_ms=offset, stream_update_s=0.2) as ex:
        with connect(f"{ex.stream_url}/ws/btcusdt@kline_1m") as ws:
            events = []
            while not any(e["k"]["x"] for e in events):
                events.append(recv(ws))
            events.append(recv(ws))  # the next candle's first update
        assert ex.market_clock_is_fixed is False
        closed = events[-2]
        assert as_row(closed["k"]) == ex.candles("BTCUSDT", start_ms=boundary - MIN, limit=1)[0]
    updates = events[:-2]
    assert len(updates) >= 2 and all(not e["k"]["x"] and e["k"]["t"] == boundary - MIN for e in updates)
    assert closed["E"] == boundary and events[-1]["k"]["t"] == boundary


def test_cli_prints_the_stream_url():
    proc = subprocess.Popen(
        [sys.executable, "-m", "binance_stand_in", "--port", "0", "--symbols", "BTCUSDT", "--now-ms", str(NOW)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        stream_url = re.search(r"streams: (ws://127\.0\.0\.1:\d+)", line).group(1)
        with connect(f"{stream_url}/ws", open_timeout=5) as ws:
            ws.send('{"method":"LIST_SUBSCRIPTIONS","id":1}')
            assert recv(ws) == {"result": [], "id": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
