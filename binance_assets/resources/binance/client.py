"""The Binance resource: python-binance behind rate limiting, retries and clear errors.

python-binance (with aiohttp, dateparser and websockets behind it) is imported when a client is
made, not with this module: only the steps that call the exchange need it.
"""

import json
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance import signing
from binance_assets.resources.binance.limits import (
    ExchangeBannedError,
    ExchangeUnavailableError,
    RequestStats,
    WeightGovernor,
    describe,
    is_transient,
    retry_after_s,
    retrying,
)
from binance_assets.resources.binance.refusals import refusal
from binance_assets.resources.binance.websocket import MarketStream, kline_stream_names
from binance_assets.settings import DEFAULTS, FALSE_WORDS, TESTNET_API_URL, TESTNET_STREAM_URL, TRUE_WORDS

KLINES_PAGE = 1000
KLINE_WEIGHT = 2
TIME_WEIGHT = 1
ORDERS_PAGE = 1000
ALL_ORDERS_WEIGHT = 20
EXCHANGE_INFO_WEIGHT = 20
MAX_ORDERS_WINDOW_MS = 24 * 3_600_000  # allOrders refuses startTime..endTime spans over 24 h
# GET /api/v3/depth: request weight by the number of levels asked for.
DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))
UNKNOWN_SYMBOL = -1121
TRADING = "TRADING"
DEFAULT_API_URL = DEFAULTS["BINANCE_API_URL"]
DEFAULT_STREAM_URL = DEFAULTS["BINANCE_STREAM_URL"]


def depth_weight(limit: int) -> int:
    """The weight of a depth request for ``limit`` levels; a limit the exchange refuses is an error."""
    for most, weight in DEPTH_WEIGHTS:
        if 1 <= limit <= most:
            return weight
    raise ConfigurationError(
        f"ORDER_BOOK_DEPTH_LIMIT={limit} is outside the exchange's 1–5000 levels a side: set 1–5000 (default 100; "
        "up to 100 costs weight 5, 500 → 25, 1000 → 50, 5000 → 250)."
    )


class BinanceExchange(dg.ConfigurableResource):
    """Binance Spot REST at ``BINANCE_API_URL``.

    ``api_key`` / ``api_secret`` (``BINANCE_API_KEY`` / ``BINANCE_API_SECRET``) are needed only by
    the account's orders; give them as ``dg.EnvVar`` so their values never enter the definitions.
    ``testnet`` (``BINANCE_TESTNET=1``) points the default URLs at the Spot testnet. Websocket
    market streams come from ``stream_url`` (``BINANCE_STREAM_URL``, see ``market_stream``).
    """

    api_url: str = DEFAULT_API_URL
    stream_url: str = DEFAULT_STREAM_URL
    api_key: str | None = None
    api_secret: str | None = None
    testnet: str = "0"
    recv_window_ms: int = 10_000
    order_book_depth_limit: int = 100
    request_timeout_s: float = 10.0
    max_retries: int = 3
    backoff_s: float = 0.5
    weight_budget_1m: int = 6000
    weight_headroom: float = 0.9
    weight_window_s: int = 60

    _client: Any = PrivateAttr(default=None)  # python-binance Clients, made on first use
    _signed_client: Any = PrivateAttr(default=None)
    _symbol_info: dict[str, dict] | None = PrivateAttr(default=None)
    _governor: WeightGovernor | None = PrivateAttr(default=None)
    _log: logging.Logger = PrivateAttr(default_factory=lambda: logging.getLogger("binance_assets.exchange"))
    _stats: RequestStats = PrivateAttr(default_factory=RequestStats)
    _clock_offset_ms: int | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.log is not None:
            self._log = context.log

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def __repr_args__(self):
        # The secret must not reach a log line through a repr of the resource.
        for name, value in super().__repr_args__():
            yield name, ("***" if name in ("api_key", "api_secret") and value else value)

    @property
    def on_testnet(self) -> bool:
        value = str(self.testnet).strip().lower()
        if value not in (*TRUE_WORDS, *FALSE_WORDS, ""):
            raise ConfigurationError(f"BINANCE_TESTNET={self.testnet!r} is not a yes/no value: set 1 or 0.")
        return value in TRUE_WORDS

    @property
    def base_url(self) -> str:
        """BINANCE_API_URL; with BINANCE_TESTNET=1 and no explicit URL, the Spot testnet."""
        if self.on_testnet and self.api_url.rstrip("/") == DEFAULT_API_URL:
            return TESTNET_API_URL
        return self.api_url.rstrip("/")

    @property
    def stream_base_url(self) -> str:
        """BINANCE_STREAM_URL (``ws://`` or ``wss://``); with BINANCE_TESTNET=1 and no explicit URL, the testnet's."""
        url = self.stream_url.strip().rstrip("/")
        if not url.startswith(("ws://", "wss://")):
            raise ConfigurationError(
                f"BINANCE_STREAM_URL={self.stream_url!r} is not a websocket URL: set {DEFAULT_STREAM_URL} "
                "(or wss://data-stream.binance.vision, which serves market data only)."
            )
        if self.on_testnet and url == DEFAULT_STREAM_URL:
            return TESTNET_STREAM_URL
        return url

    def market_stream(self, symbols: list[str], log: logging.Logger | None = None, **options) -> MarketStream:
        """One combined websocket connection carrying the 1-minute kline stream of every symbol."""
        return MarketStream(self.stream_base_url, kline_stream_names(symbols), log or self._log, **options)

    def require_credentials(self, what: str = "Account orders") -> None:
        """Fail with a message naming BINANCE_API_KEY / BINANCE_API_SECRET when they are not set."""
        signing.require(self.api_key, self.api_secret, what)

    def _make_client(self, api_key: str | None = None, api_secret: str | None = None) -> Any:
        from binance.client import Client

        # testnet is not passed on: python-binance would then ignore API_URL; base_url handles it.
        client = Client(api_key, api_secret, ping=False, requests_params={"timeout": self.request_timeout_s})
        # python-binance has no base-URL parameter: point it at BINANCE_API_URL after construction.
        client.API_URL = f"{self.base_url}/api"
        return client

    @property
    def client(self) -> Any:
        """The public-data client: it never carries the API key."""
        if self._client is None:
            self._client = self._make_client()
            self._governor = WeightGovernor(
                self.weight_budget_1m, self.weight_headroom, self.weight_window_s, self._log, self._stats
            )
        return self._client

    @property
    def signed_client(self) -> Any:
        """The USER_DATA client, holding the key and secret (checked first: a clear error when unset)."""
        if self._signed_client is None:
            self.require_credentials()
            if not 0 < self.recv_window_ms <= signing.MAX_RECV_WINDOW_MS:
                raise ConfigurationError(
                    f"recv_window_ms={self.recv_window_ms} is outside the exchange's 1–60000 ms: lower it."
                )
            self.client  # the weight governor is shared by both clients
            self._signed_client = self._make_client(self.api_key, self.api_secret)
            self._signed_client.REQUEST_RECVWINDOW = self.recv_window_ms
        return self._signed_client

    def call(self, endpoint: str, weight: int, method: Callable[..., Any], **params) -> Any:
        """One exchange request under the weight governor and the retry policy."""
        import requests
        from binance.exceptions import BinanceAPIException

        self.client  # creates the governor
        client = getattr(method, "__self__", self.client)

        def attempt() -> Any:
            self._governor.before_request(weight)
            self._stats.requests += 1
            self._stats.weight_used += weight
            self._stats.by_endpoint[endpoint] = self._stats.by_endpoint.get(endpoint, 0) + 1
            try:
                result = method(**params)
            except BinanceAPIException as error:
                self._governor.after_response(error.response.headers if error.response is not None else None)
                if error.status_code == 418:
                    raise ExchangeBannedError(
                        f"Binance banned this IP (HTTP 418) for {retry_after_s(error) or 'an unknown number of'} "
                        "seconds after repeated rate-limit violations. Nothing more is sent; rerun after the ban."
                    ) from None
                raise
            self._governor.after_response(client.response.headers if client.response is not None else None)
            return result

        try:
            return retrying(self.max_retries, self.backoff_s, self._log, self._stats)(attempt)
        except requests.ConnectionError as error:
            raise ConfigurationError(
                f"Cannot reach the exchange at {self.base_url} ({type(error).__name__}). "
                "Check BINANCE_API_URL and the network (offline: run the stand-in, see README)."
            ) from None
        except Exception as error:
            if is_transient(error):
                raise ExchangeUnavailableError(
                    f"Exchange request to {endpoint} failed {self.max_retries + 1} times, last with "
                    f"{describe(error)}. The exchange is degraded; nothing was written for this run — rerun it later."
                ) from None  # the summary says it all; the exception would bring a whole error page along
            # 451, a firewall 403, -1100 on the symbols: the setting to fix, at once (no retry helps).
            refused = refusal(error, self.base_url) if isinstance(error, BinanceAPIException) else None
            if refused is None:
                raise
            raise refused from None

    def _measure_clock_offset(self) -> int:
        before = time.time()
        server = self.call("time", TIME_WEIGHT, self.client.get_server_time)["serverTime"]
        self._clock_offset_ms = int(server - (before + time.time()) / 2 * 1000)
        return self._clock_offset_ms

    def server_now_ms(self) -> int:
        """The exchange's clock (one ``/api/v3/time`` call per run): candles close by its time, not ours."""
        return self.to_server_ms(time.time())

    def to_server_ms(self, local_s: float) -> int:
        """A moment of the local clock (``time.time()``) on the exchange's clock."""
        if self._clock_offset_ms is None:
            self._measure_clock_offset()
        return int(local_s * 1000) + self._clock_offset_ms

    def sync_clock(self) -> int:
        """Measure the exchange's clock again (a long-running process drifts); returns its now."""
        self._measure_clock_offset()
        return self.server_now_ms()

    def signed_call(self, endpoint: str, weight: int, method_name: str, **params) -> Any:
        """One USER_DATA request: clock skew (-1021) re-syncs with ``/api/v3/time`` and retries once;
        credential refusals become errors that say which variable to fix."""
        from binance.exceptions import BinanceAPIException

        client = self.signed_client
        for attempt in (1, 2):
            try:
                return self.call(endpoint, weight, getattr(client, method_name), **params)
            except BinanceAPIException as error:
                if error.code == signing.CLOCK_SKEW:
                    if attempt == 1:
                        client.timestamp_offset = self._measure_clock_offset()
                        self._log.warning(
                            f"Binance refused the request timestamp ({error.message}): local clock is "
                            f"{-client.timestamp_offset:+,} ms off the exchange's; synced and retrying once."
                        )
                        continue
                    raise signing.clock_skew_error(
                        error, endpoint, -client.timestamp_offset, self.recv_window_ms
                    ) from None
                refusal = signing.credential_error(error, endpoint, self.on_testnet)
                if refusal is not None:
                    raise refusal from None
                raise

    def exchange_info(self, symbols: list[str] | None = None) -> dict:
        """``/api/v3/exchangeInfo`` (weight 20): every symbol with its status and filters, or only
        ``symbols`` (kilobytes instead of the megabytes of the full list)."""
        if symbols is None:
            return self.call("exchangeInfo", EXCHANGE_INFO_WEIGHT, self.client.get_exchange_info)
        # python-binance's get_exchange_info takes no filter; its generic GET (which it builds on) does.
        only = {"symbols": json.dumps(symbols, separators=(",", ":"))}
        return self.call("exchangeInfo", EXCHANGE_INFO_WEIGHT, partial(self.client._get, "exchangeInfo"), data=only)

    def validate_symbols(self, symbols: list[str]) -> dict[str, dict]:
        """``symbols`` (BINANCE_SYMBOLS) checked against exchangeInfo (fetched once per run): each symbol's info.

        Fails fast, before any data request, on a symbol the exchange does not list or that is not
        trading (halted, delisted), saying which one and its status."""
        from binance.exceptions import BinanceAPIException

        if self._symbol_info is None or set(self._symbol_info) != set(symbols):
            try:
                listed = {entry["symbol"]: entry for entry in self.exchange_info(symbols)["symbols"]}
            except BinanceAPIException as error:
                if error.code != UNKNOWN_SYMBOL:
                    raise
                # "Invalid symbol." does not say which: the full list does.
                listed = {entry["symbol"]: entry for entry in self.exchange_info()["symbols"]}
            unknown = [s for s in symbols if s not in listed]
            if unknown:
                raise ConfigurationError(
                    f"Unknown symbol(s) {', '.join(unknown)}: {self.base_url} does not list them. Fix "
                    "BINANCE_SYMBOLS (comma-separated exchange symbols such as BTCUSDT,ETHUSDT)."
                )
            idle = {s: listed[s].get("status") for s in symbols if listed[s].get("status") != TRADING}
            if idle:
                raise ConfigurationError(
                    "Symbol(s) not trading: "
                    + ", ".join(f"{s} (status {status})" for s, status in idle.items())
                    + f". Remove them from BINANCE_SYMBOLS; only {TRADING} symbols have current data."
                )
            self._symbol_info = {s: listed[s] for s in symbols}
        return self._symbol_info

    def order_book(self, symbol: str) -> dict:
        """One ``/api/v3/depth`` snapshot of ``order_book_depth_limit`` levels a side."""
        limit = self.order_book_depth_limit
        return self.call("depth", depth_weight(limit), self.client.get_order_book, symbol=symbol, limit=limit)

    def all_orders(self, symbol: str, start_ms: int, end_ms: int) -> Iterator[list[dict]]:
        """Pages of the account's orders created in [start_ms, end_ms), oldest first, nothing dropped.

        Each window of at most 24 h opens with startTime/endTime; a full page continues by orderId
        (orders ≥ that id), since a busy hour can hold more than 1000 orders sharing a millisecond,
        which time-based paging would cut in the middle of.
        """
        window_start = start_ms
        while window_start < end_ms:
            window_end = min(window_start + MAX_ORDERS_WINDOW_MS, end_ms)
            page = self._orders_page(symbol, startTime=window_start, endTime=window_end - 1)
            while True:
                inside = [order for order in page if window_start <= order["time"] < window_end]
                if inside:
                    yield inside
                if len(page) < ORDERS_PAGE or len(inside) < len(page):
                    break
                page = self._orders_page(symbol, orderId=page[-1]["orderId"] + 1)
            window_start = window_end

    def _orders_page(self, symbol: str, **params) -> list[dict]:
        page = self.signed_call(
            "allOrders", ALL_ORDERS_WEIGHT, "get_all_orders", symbol=symbol, limit=ORDERS_PAGE, **params
        )
        return sorted(page, key=lambda order: order["orderId"])

    def klines(self, symbol: str, start_ms: int, end_ms: int, interval: str = "1m") -> Iterator[list[list]]:
        """Pages of closed candles with open time in [start_ms, end_ms), in full 1000-candle requests."""
        from binance.exceptions import BinanceAPIException

        now_ms = self.server_now_ms()
        cursor = start_ms
        while cursor < end_ms:
            try:
                page = self.call(
                    "klines",
                    KLINE_WEIGHT,
                    self.client.get_klines,
                    symbol=symbol,
                    interval=interval,
                    startTime=cursor,
                    endTime=end_ms - 1,
                    limit=KLINES_PAGE,
                )
            except BinanceAPIException as error:
                if error.code == UNKNOWN_SYMBOL:
                    raise ConfigurationError(
                        f"Unknown symbol {symbol!r}: the exchange says {error.message!r}. "
                        "Fix BINANCE_SYMBOLS (comma-separated exchange symbols such as BTCUSDT)."
                    ) from None
                raise
            closed = [row for row in page if row[6] < now_ms]
            if closed:
                yield closed
            if len(page) < KLINES_PAGE or len(closed) < len(page):
                return
            cursor = page[-1][0] + 1
