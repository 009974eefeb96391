"""The live stream against the stand-in over a real websocket, inserting into the embedded ClickHouse
itself (the server shape: it is the only process opening it here)."""

import json
from datetime import UTC, datetime

import pytest

from binance_assets.defs.klines.live.dataset import live_file
from binance_assets.defs.klines.live.raw import read_live_hour
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.sqs import NotificationQueue
from binance_assets.setup import setup_lake
from binance_assets_tests.harness import (
    FIRST_LIVE_CANDLE as FIRST,
)
from binance_assets_tests.harness import (
    MINUTE,
    LiveStream,
    Pipeline,
    move_market,
    open_live_market,
)
from binance_assets_tests.s3_lake import LAKE_URL

HOUR = datetime(2024, 3, 1, tzinfo=UTC)
# A row as REST's 12 fields (8-decimal strings, ms), then fetched_at and source.
ROWS = (
    "SELECT toUnixTimestamp64Milli(open_time), toDecimalString(open_price, 8), toDecimalString(high_price, 8), "
    "toDecimalString(low_price, 8), toDecimalString(close_price, 8), toDecimalString(base_volume, 8), "
    "toUnixTimestamp64Milli(close_time), toDecimalString(quote_volume, 8), number_of_trades, "
    "toDecimalString(taker_buy_base_volume, 8), toDecimalString(taker_buy_quote_volume, 8), '0', "
    "toUnixTimestamp64Milli(fetched_at), source FROM binance.klines FINAL WHERE trading_pair = {s:String} ORDER BY 1"
)


@pytest.fixture
def market(stand_in, pipeline):
    open_live_market(pipeline)
    return stand_in


def lake_lines(pipeline, symbol: str, source: str) -> list[str]:
    path = pipeline.lake_dir / live_file(symbol, HOUR, source)
    return path.read_text().splitlines() if path.exists() else []


def stored(clickhouse_query, symbol: str) -> list[tuple]:
    return clickhouse_query(ROWS, s=symbol)


def minutes(count: int, start: int = FIRST) -> list[int]:
    return [start + i * MINUTE for i in range(count)]


def test_only_closed_candles_are_written_with_the_values_the_exchange_sent(market, pipeline, clickhouse_query):
    with LiveStream(pipeline) as stream:
        move_market(market, 20_000)  # 00:00:50: an update of the open candle, nothing closes
        move_market(market, 3 * MINUTE)  # 00:03:50: the 00:00, 00:01 and 00:02 candles close
        stream.wait_for_edge(FIRST + 2 * MINUTE)

    for symbol in ("BTCUSDT", "ETHUSDT"):
        messages = [json.loads(line) for line in lake_lines(pipeline, symbol, "stream")]
        assert [m["stream"] for m in messages] == [f"{symbol.lower()}@kline_1m"] * 3
        assert all(m["data"]["k"]["x"] is True for m in messages)  # the x:false updates were dropped
        served = market.candles(symbol, start_ms=FIRST, end_ms=FIRST + 3 * MINUTE - 1)
        assert [[m["data"]["k"][f] for f in "tohlcvTqnVQB"] for m in messages] == served
        rows = stored(clickhouse_query, symbol)
        assert [list(row[:12]) for row in rows] == served  # digit for digit
        assert [(row[12], row[13]) for row in rows] == [(r[6], "stream") for r in served]  # fetched_at = close
    assert market.stream_connections_total == 1


def test_a_cut_connection_is_healed_from_rest_with_nothing_missing_or_doubled(market, pipeline, clickhouse_query):
    with LiveStream(pipeline) as stream:
        move_market(market, MINUTE)  # 00:00 closes on the stream
        stream.wait_for_edge(FIRST)
        market.pause_stream(None)  # cut (1006), and refuse new connections (503)
        move_market(market, 3 * MINUTE)  # 00:01..00:03 close while nobody listens
        market.resume_stream()
        stream.wait_for_edge(FIRST + 3 * MINUTE)  # filled from REST once reconnected
        move_market(market, MINUTE)  # 00:04 on the stream again
        stream.wait_for_edge(FIRST + 4 * MINUTE)
        market.drop_stream_connections()  # and a cut with the market moving on at once
        move_market(market, 2 * MINUTE)
        stream.wait_for_edge(FIRST + 6 * MINUTE)
        assert stream.stats.disconnects == 2

    for symbol in ("BTCUSDT", "ETHUSDT"):
        streamed = {json.loads(line)["data"]["k"]["t"] for line in lake_lines(pipeline, symbol, "stream")}
        filled = {json.loads(line)[0] for line in lake_lines(pipeline, symbol, "rest")}
        assert {FIRST, FIRST + 4 * MINUTE} <= streamed and set(minutes(3, FIRST + MINUTE)) <= filled
        assert not streamed & filled and streamed | filled == set(minutes(7))  # each minute once
        rows = stored(clickhouse_query, symbol)
        assert [row[0] for row in rows] == minutes(7)
        served = market.candles(symbol, start_ms=FIRST, end_ms=FIRST + 7 * MINUTE - 1)
        assert [list(row[:12]) for row in rows] == served
    assert clickhouse_query("SELECT count() FROM binance.klines") == [(14,)]  # not doubled, even before merges


@pytest.mark.parametrize(
    "lifetime_s, rotate_after_s",
    [(30.0, 0.5), (0.5, 3600.0)],
    ids=["rotated-before-the-servers-limit", "closed-by-the-servers-limit"],
)
def test_the_24_hour_limit_loses_nothing(market, pipeline, clickhouse_query, lifetime_s, rotate_after_s):
    """Binance closes a connection at 24 h: the stream replaces it first (here after half a second)
    without any gap to fill; if the server closes it anyway, the gap is filled from REST."""
    market.stream_max_lifetime_s = lifetime_s
    with LiveStream(pipeline, rotate_after_s=rotate_after_s) as stream:
        minute = 0
        while stream.stats.rotations + stream.stats.disconnects < 2:  # moved on each time the edge is written
            move_market(market, MINUTE)
            stream.wait_for_edge(FIRST + minute * MINUTE)
            minute += 1

    rows = stored(clickhouse_query, "BTCUSDT")
    assert [row[0] for row in rows] == minutes(minute)
    sources = {row[13] for row in rows}
    if rotate_after_s < lifetime_s:
        assert stream.stats.disconnects == 0 and sources == {"stream"}  # no gap, nothing fetched
    else:
        assert stream.stats.rotations == 0 and market.stream_connections_total >= 3
    assert clickhouse_query("SELECT count() FROM binance.klines") == [(2 * minute,)]


def test_a_restart_fills_what_closed_while_the_process_was_down(market, pipeline, clickhouse_query):
    with LiveStream(pipeline) as stream:
        move_market(market, MINUTE)
        stream.wait_for_edge(FIRST)
    move_market(market, 3 * MINUTE)  # down (a deploy, a crash): 00:01..00:03 close meanwhile
    with LiveStream(pipeline):  # caught up: it continued from the lake's live edge
        pass

    assert [json.loads(line)[0] for line in lake_lines(pipeline, "BTCUSDT", "rest")] == minutes(3, FIRST + MINUTE)
    assert [(row[0], row[13]) for row in stored(clickhouse_query, "ETHUSDT")] == [
        (FIRST, "stream"),
        *((t, "rest") for t in minutes(3, FIRST + MINUTE)),
    ]


def test_the_stream_writes_an_s3_lake_as_it_writes_a_local_one(aws, stand_in, tmp_path):
    pipeline = Pipeline(stand_in, tmp_path, lake_url=LAKE_URL)
    list(setup_lake(LakeResource(url=LAKE_URL).store, NotificationQueue()))
    open_live_market(pipeline)
    with LiveStream(pipeline, direct=False) as stream:
        move_market(stand_in, 2 * MINUTE)
        stream.wait_for_edge(FIRST + MINUTE)
        stand_in.pause_stream(None)
        move_market(stand_in, MINUTE)
        stand_in.resume_stream()
        stream.wait_for_edge(FIRST + 2 * MINUTE)

    stored = read_live_hour(LakeResource(url=LAKE_URL), "ETHUSDT", HOUR)
    assert [(c.open_time, c.source) for c in stored] == [
        (FIRST, "stream"),
        (FIRST + MINUTE, "stream"),
        (FIRST + 2 * MINUTE, "rest"),
    ]
    assert [list(c.row) for c in stored] == stand_in.candles("ETHUSDT", start_ms=FIRST, end_ms=FIRST + 3 * MINUTE - 1)
