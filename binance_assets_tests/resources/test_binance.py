"""The exchange resource against the stand-in over HTTP: paging, rate limits, faults, clear errors."""

import socket
import time
import urllib.error
import urllib.request

import pytest

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance.client import BinanceExchange
from binance_assets.resources.binance.limits import ExchangeBannedError, ExchangeUnavailableError
from binance_assets.resources.binance.refusals import FirewallBlockedError, IllegalSymbolError, RestrictedLocationError
from binance_assets_tests.harness import STAND_IN_NOW_MS
from binance_stand_in import ExchangeStandIn

DAY_MS = 86_400_000
KLINES = "/api/v3/klines"


def exchange_for(stand_in, **overrides) -> BinanceExchange:
    return BinanceExchange(**{"api_url": stand_in.url, "backoff_s": 0.01, "request_timeout_s": 1.0, **overrides})


def fetch(exchange: BinanceExchange, start_ms: int, end_ms: int, symbol: str = "BTCUSDT") -> list[list]:
    return [row for page in exchange.klines(symbol, start_ms, end_ms) for row in page]


def test_a_range_is_fetched_in_full_1000_candle_pages(stand_in):
    start = STAND_IN_NOW_MS - 3 * DAY_MS
    rows = fetch(exchange_for(stand_in), start, STAND_IN_NOW_MS)

    assert len(rows) == 3 * 1440
    assert [r[0] for r in rows] == list(range(start, STAND_IN_NOW_MS, 60_000))
    assert rows == stand_in.candles("BTCUSDT", start_ms=start, end_ms=STAND_IN_NOW_MS - 1, limit=5000)
    assert stand_in.count(path=KLINES) == 5  # ceil(4320 / 1000)
    assert all(r.params["limit"] == "1000" for r in stand_in.requests if r.path == KLINES)


def test_the_still_open_candle_is_not_kept():
    with ExchangeStandIn(symbols=("BTCUSDT",)) as live:  # market clock = the real clock
        now = int(time.time() * 1000)
        rows = fetch(exchange_for(live), now - 30 * 60_000, now + 60 * 60_000)
        served = live.candles("BTCUSDT", start_ms=now - 30 * 60_000, end_ms=now + 60 * 60_000)

    assert served[-1][6] > now  # the exchange did send the open candle…
    assert rows == served[:-1]  # …and we kept only the closed ones
    assert all(r[6] < time.time() * 1000 for r in rows)


def test_429_waits_retry_after_then_resumes_without_losing_rows(stand_in):
    exchange = exchange_for(stand_in)
    stand_in.fail_next(1, "429", seconds=1, path=KLINES)
    started = time.monotonic()
    rows = fetch(exchange, STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)

    assert time.monotonic() - started >= 1.0
    assert len(rows) == 1440 and len({r[0] for r in rows}) == 1440
    assert exchange.stats.rate_limited == 1
    assert stand_in.count(status=418) == 0


def test_governor_slows_down_before_the_weight_budget_runs_out():
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=STAND_IN_NOW_MS, weight_limit_1m=12, window_s=2) as tight:
        exchange = exchange_for(tight, weight_budget_1m=12, weight_window_s=2, weight_headroom=1.0)
        rows = fetch(exchange, STAND_IN_NOW_MS - 8 * DAY_MS, STAND_IN_NOW_MS)  # 12 pages = 24 weight

        assert len(rows) == 8 * 1440
        assert tight.count(status=429) == 0
        assert exchange.stats.waited_s > 0


def test_a_ban_stops_every_request(stand_in):
    hammer = f"{stand_in.url}/api/v3/klines?symbol=BTCUSDT&interval=1m"
    stand_in.fail_next(1, "429", seconds=60, path=KLINES)
    statuses = []
    for _ in range(3):  # another client ignoring Retry-After gets this IP banned
        try:
            urllib.request.urlopen(hammer, timeout=2)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    assert statuses[-1] == 418
    before = stand_in.count()

    with pytest.raises(ExchangeBannedError, match="418"):
        fetch(exchange_for(stand_in), STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)
    assert stand_in.count() - before == 1  # the first 418 ends it: no retries into a ban


@pytest.mark.parametrize("kind", ["500", "502", "503", "truncated", "timeout"])
def test_transient_faults_are_retried_and_nothing_is_lost_or_duplicated(stand_in, kind):
    clean = stand_in.candles("BTCUSDT", start_ms=STAND_IN_NOW_MS - DAY_MS, end_ms=STAND_IN_NOW_MS - 1, limit=5000)
    exchange = exchange_for(stand_in)
    stand_in.fail_next(2, kind, seconds=2 if kind == "timeout" else None, path=KLINES)

    assert fetch(exchange, STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS) == clean
    assert exchange.stats.retries == 2


def test_a_persistent_server_error_gives_up_after_three_retries(stand_in):
    stand_in.fail_next(10, "503", path=KLINES)
    with pytest.raises(ExchangeUnavailableError, match="failed 4 times, last with HTTP 503"):
        fetch(exchange_for(stand_in), STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)
    assert stand_in.count(path=KLINES) == 4


def test_an_unknown_symbol_names_the_setting_to_fix(stand_in):
    with pytest.raises(ConfigurationError, match="Unknown symbol 'NOPEUSDT'.*BINANCE_SYMBOLS"):
        fetch(exchange_for(stand_in), STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS, symbol="NOPEUSDT")


def test_an_unreachable_exchange_names_the_setting_to_fix():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    exchange = BinanceExchange(api_url=f"http://127.0.0.1:{port}", backoff_s=0.01)
    with pytest.raises(ConfigurationError, match="BINANCE_API_URL"):
        fetch(exchange, STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)


def refused_with(exchange: BinanceExchange) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as refused:
        fetch(exchange, STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)
    return refused.value


def test_a_restricted_location_names_the_endpoint_setting_and_is_not_retried(stand_in):
    stand_in.restricted_location = True  # as api.binance.com answers from the US: every request, time included

    error = refused_with(exchange_for(stand_in))

    assert isinstance(error, RestrictedLocationError)
    assert "HTTP 451, code 0: Service unavailable from a restricted location" in str(error)
    assert "Set BINANCE_API_URL" in str(error) and "binance_stand_in" in str(error)
    assert stand_in.count() == 1


def test_a_firewall_block_shows_the_status_and_the_pages_title_not_the_page(stand_in):
    stand_in.fail_next(1, "403", path=KLINES)

    error = refused_with(exchange_for(stand_in))

    assert isinstance(error, FirewallBlockedError)
    message = str(error)
    assert "HTTP 403, not JSON (text/html: 'ERROR: The request could not be satisfied')" in message
    assert "Slow down" in message and "IP" in message
    assert "<" not in message and "\n" not in message
    assert stand_in.count(path=KLINES) == 1


def test_symbol_text_the_exchange_refuses_names_the_symbols_setting_and_its_format(stand_in):
    exchange = exchange_for(stand_in)  # the resource sends what it is given (the settings check it first)

    with pytest.raises(IllegalSymbolError) as refused:
        exchange.validate_symbols(["BTC/USDT"])

    message = str(refused.value)
    assert "HTTP 400, code -1100: Illegal characters found in parameter 'symbols'" in message
    assert "Fix BINANCE_SYMBOLS" in message and "BTCUSDT, not BTC/USDT" in message
    assert stand_in.count(path="/api/v3/exchangeInfo") == 1


def test_an_html_error_page_is_summarised_in_one_line(stand_in):
    stand_in.fail_next(10, "502", path=KLINES)

    with pytest.raises(ExchangeUnavailableError) as unavailable:
        fetch(exchange_for(stand_in), STAND_IN_NOW_MS - DAY_MS, STAND_IN_NOW_MS)

    message = str(unavailable.value)
    assert "last with HTTP 502, not JSON (text/html: '502 Bad Gateway')" in message
    assert "<" not in message and "\n" not in message
    assert unavailable.value.__cause__ is None  # the page does not come along as a chained exception
