"""The exchange resource: python-binance behind rate limiting, retries and clear errors."""

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException
from pydantic import PrivateAttr

from binance_assets.config import DEFAULT_API_URL, DEFAULT_SYMBOLS, ConfigurationError
from binance_assets.exchange.limits import (
    ExchangeBannedError,
    ExchangeUnavailableError,
    RequestStats,
    describe,
    WeightGovernor,
    is_transient,
    retry_after_s,
    retrying,
)

KLINES_PAGE = 1000
KLINE_WEIGHT = 2
TIME_WEIGHT = 1
UNKNOWN_SYMBOL = -1121


class BinanceExchange(dg.ConfigurableResource):
    """Binance Spot REST at ``BINANCE_API_URL`` for the symbols in ``BINANCE_SYMBOLS``."""

    api_url: str = DEFAULT_API_URL
    symbols: str = DEFAULT_SYMBOLS
    request_timeout_s: float = 10.0
    max_retries: int = 3
    backoff_s: float = 0.5
    weight_budget_1m: int = 6000
    weight_headroom: float = 0.9
    weight_window_s: int = 60

    _client: Client | None = PrivateAttr(default=None)
    _governor: WeightGovernor | None = PrivateAttr(default=None)
    _log: logging.Logger = PrivateAttr(default_factory=lambda: logging.getLogger("binance_assets.exchange"))
    _stats: RequestStats = PrivateAttr(default_factory=RequestStats)
    _clock_offset_ms: int | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.log is not None:
            self._log = context.log

    @property
    def symbol_list(self) -> list[str]:
        symbols = [s.strip().upper() for s in self.symbols.split(",") if s.strip()]
        if not symbols:
            raise ConfigurationError("BINANCE_SYMBOLS is empty: set it to symbols such as BTCUSDT,ETHUSDT.")
        return symbols

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def _make_client(self) -> Client:
        client = Client(ping=False, requests_params={"timeout": self.request_timeout_s})
        # python-binance has no base-URL parameter: point it at BINANCE_API_URL after construction.
        client.API_URL = f"{self.api_url.rstrip('/')}/api"
        return client

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self._make_client()
            self._governor = WeightGovernor(
                self.weight_budget_1m, self.weight_headroom, self.weight_window_s, self._log, self._stats
            )
        return self._client

    def call(self, endpoint: str, weight: int, method: Callable[..., Any], **params) -> Any:
        """One exchange request under the weight governor and the retry policy."""
        client = self.client

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
                f"Cannot reach the exchange at {self.api_url} ({type(error).__name__}). "
                "Check BINANCE_API_URL and the network (offline: run the stand-in, see README)."
            ) from None
        except Exception as error:
            if not is_transient(error):
                raise
            raise ExchangeUnavailableError(
                f"Exchange request to {endpoint} failed {self.max_retries + 1} times, last with {describe(error)}. "
                "The exchange is degraded; nothing was written for this run — rerun it later."
            ) from error

    def server_now_ms(self) -> int:
        """The exchange's clock (one ``/api/v3/time`` call per run): candles close by its time, not ours."""
        if self._clock_offset_ms is None:
            before = time.time()
            server = self.call("time", TIME_WEIGHT, self.client.get_server_time)["serverTime"]
            self._clock_offset_ms = int(server - (before + time.time()) / 2 * 1000)
        return int(time.time() * 1000) + self._clock_offset_ms

    def klines(self, symbol: str, start_ms: int, end_ms: int, interval: str = "1m") -> Iterator[list[list]]:
        """Pages of closed candles with open time in [start_ms, end_ms), in full 1000-candle requests."""
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
