"""``ExchangeStandIn``: the Python face of the stand-in (see the package docstring)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .account import ApiKeys, OrderStore, generate_orders
from .archive import CORRUPT_CHECKSUM, TRUNCATE, UNPUBLISH, Archive
from .limits import RateLimiter
from .market import Market
from .prices import SymbolSpec
from .server import FAULT_KINDS, Fault, HttpServerThread, RequestRecord
from .streams import StreamStats

if TYPE_CHECKING:  # pragma: no cover
    from .stream_server import StreamServer


class ExchangeStandIn:
    """An HTTP stand-in for the Binance Spot REST API on 127.0.0.1 (a context manager)."""

    def __init__(
        self,
        symbols: Iterable[str | SymbolSpec] = ("BTCUSDT", "ETHUSDT"),
        now_ms: int | None = None,
        weight_limit_1m: int = 6000,
        latency_s: float = 0.0,
        *,
        arrival_delay_s: float = 0.0,
        window_s: float = 60.0,
        ban_seconds: float = 120.0,
        hammer_grace: int = 1,
        timeout_fault_s: float = 5.0,
        server_time_offset_ms: int = 0,
        listed_ms: int | None = None,
        archive_publish_delay_ms: int = 0,
        archive_cache_files: int = 24,
        restricted_location: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        stream_port: int = 0,
        stream_ping_interval_s: float = 20.0,
        stream_pong_timeout_s: float = 60.0,
        stream_max_lifetime_s: float = 24 * 3600.0,
        stream_messages_per_s: int = 5,
        stream_max_streams: int = 1024,
        stream_update_s: float = 2.0,
    ):
        self.market = Market(symbols, listed_ms=listed_ms)
        self.archive = Archive(self.market, archive_publish_delay_ms, archive_cache_files)
        self.limiter = RateLimiter(weight_limit_1m, window_s, ban_seconds, hammer_grace)
        self.api_keys = ApiKeys()
        self.orders_store = OrderStore()
        self.latency_s = latency_s
        self.arrival_delay_s = arrival_delay_s
        self.timeout_fault_s = timeout_fault_s
        self.server_time_offset_ms = server_time_offset_ms
        # settable: while True every request (ping and time too) gets the 451 of a restricted location
        self.restricted_location = restricted_location
        self._now_ms = None if now_ms is None else int(now_ms)
        self._host, self._port = host, port
        self._http: HttpServerThread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._requests: list[RequestRecord] = []
        # websocket streams (started on first use of stream_url / the stream levers); the
        # settings are read when a connection opens (pings, lifetime) or on every use
        self._stream_port = stream_port
        self._streams: StreamServer | None = None
        self._streams_lock = threading.Lock()
        self._stream_stats = StreamStats()
        self.stream_ping_interval_s = stream_ping_interval_s
        self.stream_pong_timeout_s = stream_pong_timeout_s
        self.stream_max_lifetime_s = stream_max_lifetime_s
        self.stream_messages_per_s = stream_messages_per_s
        self.stream_max_streams = stream_max_streams
        self.stream_update_s = stream_update_s

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ExchangeStandIn:
        if self._http is None:
            self._stop.clear()
            self._http = HttpServerThread(self, self._host, self._port)
            self._http.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in latency / "timeout" faults
        with self._streams_lock:
            streams, self._streams = self._streams, None
        if streams is not None:
            streams.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None

    close = stop

    def __enter__(self) -> ExchangeStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the stand-in is not running: use start() or `with`")
        return self._http.port

    @property
    def url(self) -> str:
        """Origin, e.g. ``http://127.0.0.1:40123`` (python-binance: ``client.API_URL = url + "/api"``)."""
        return f"http://{self._http.host if self._http else self._host}:{self.port}"

    @property
    def archive_url(self) -> str:
        """Base of the bulk archive (data.binance.vision): the same origin, ``{archive_url}/data/spot/...``."""
        return self.url

    # ------------------------------------------------------------------ clocks
    @property
    def server_time_ms(self) -> int:
        """The exchange's clock: real time + ``server_time_offset_ms``. Answers ``/api/v3/time``
        and is what signed requests' ``timestamp``/``recvWindow`` are checked against."""
        return int(time.time() * 1000) + self.server_time_offset_ms

    @property
    def now_ms(self) -> int:
        """The market clock: the fixed ``now_ms`` if one was set, else ``server_time_ms``.
        No candle opens after it; the candle containing it is still open; orders created
        after it do not exist yet; the order book is drawn at it."""
        return self._now_ms if self._now_ms is not None else self.server_time_ms

    @now_ms.setter
    def now_ms(self, value: int | None) -> None:
        self._now_ms = None if value is None else int(value)
        self._clock_moved()

    @property
    def market_clock_is_fixed(self) -> bool:
        """True while ``now_ms`` is a set value (it moves only by ``advance``/``set_now``)."""
        return self._now_ms is not None

    def set_now(self, ms: int | None) -> None:
        """Fix the market clock at ``ms`` (None: follow real time again)."""
        self.now_ms = ms

    def advance(self, ms: int) -> int:
        """Move a fixed market clock forward by ``ms``; returns the new now. Streams push the
        closes of the candles that closed meanwhile before this returns (queued, in order)."""
        self._now_ms = self.now_ms + int(ms)
        self._clock_moved()
        return self._now_ms

    def _clock_moved(self) -> None:
        streams = self._streams
        if streams is not None:
            streams.call(streams.hub.pump)

    # ------------------------------------------------------------------ websocket streams
    def _stream_server(self) -> StreamServer:
        if self._http is None:
            raise RuntimeError("the stand-in is not running: use start() or `with`")
        with self._streams_lock:
            if self._streams is None:
                from .stream_server import StreamServer  # needs `websockets`: only when streams are used

                server = StreamServer(self, self._stream_stats, self._http.host, self._stream_port)
                server.start()
                self._streams = server
            return self._streams

    @property
    def stream_url(self) -> str:
        """Websocket origin of the market streams, e.g. ``ws://127.0.0.1:40124`` (starts them)."""
        server = self._stream_server()
        return f"ws://{server.host}:{server.port}"

    @property
    def stream_port(self) -> int:
        return self._stream_server().port

    def drop_stream_connections(self) -> int:
        """Cut every open stream connection, no close frame (clients see 1006); returns how many."""
        streams = self._streams
        return 0 if streams is None else streams.call(streams.hub.drop_all)

    def pause_stream(self, seconds: float | None) -> int:
        """Cut every stream connection and refuse new ones (HTTP 503) for ``seconds`` of real
        time (None: until ``resume_stream()``): a client's disconnect window. Returns how many
        were cut."""
        streams = self._stream_server()
        return streams.call(streams.hub.pause, seconds)

    def resume_stream(self) -> None:
        """End a ``pause_stream`` early."""
        streams = self._streams
        if streams is not None:
            streams.call(streams.hub.resume)

    @property
    def stream_connections(self) -> int:
        """Stream connections open now."""
        streams = self._streams
        return 0 if streams is None else len(streams.hub.connections)

    @property
    def stream_connections_total(self) -> int:
        """Stream connections accepted since construction."""
        return self._stream_stats.connections_total

    @property
    def stream_messages_sent(self) -> int:
        """Text frames sent on streams since construction (events and method answers)."""
        return self._stream_stats.messages_sent

    # ------------------------------------------------------------------ market data
    def add_symbol(self, symbol: str | SymbolSpec, listed_ms: int | None = None) -> SymbolSpec:
        return self.market.add_symbol(symbol, listed_ms)

    def set_symbol_status(self, symbol: str, status: str) -> None:
        """e.g. "BREAK" or "HALT" (exchangeInfo's ``status``); klines are unaffected."""
        self.market.spec(symbol).status = status

    def remove_candles(self, symbol: str, open_times: Iterable[int], interval: str = "1m") -> None:
        """Gaps: the exchange never produced these candles (of ``interval``)."""
        self.market.remove_candles(symbol, open_times, interval)

    def remove_range(self, symbol: str, start_ms: int, end_ms: int, interval: str = "1m") -> None:
        """A halt: no ``interval`` candle opening in [start_ms, end_ms)."""
        self.market.remove_range(symbol, start_ms, end_ms, interval)

    def correct_candle(self, symbol: str, open_time: int, interval: str = "1m", **values) -> None:
        """Later responses return these values (open, high, low, close, volume, quote_volume,
        trades, taker_buy_base, taker_buy_quote; amounts as strings/Decimals)."""
        self.market.correct_candle(symbol, open_time, interval, **values)

    def candles(
        self,
        symbol: str,
        interval: str = "1m",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[list]:
        """What ``GET /api/v3/klines`` would answer now (JSON-decoded rows), without HTTP or weight."""
        return [c.row() for c in self.market.klines(symbol, interval, self.now_ms, start_ms, end_ms, limit)]

    # ------------------------------------------------------------------ bulk archive
    @property
    def archive_publish_delay_ms(self) -> int:
        """A file is published once its period has closed on the market clock plus this delay."""
        return self.archive.publish_delay_ms

    @archive_publish_delay_ms.setter
    def archive_publish_delay_ms(self, value: int) -> None:
        self.archive.publish_delay_ms = int(value)

    def archive_path(self, symbol: str, period: str, interval: str = "1m", checksum: bool = False) -> str:
        """``/data/spot/{daily|monthly}/klines/...zip`` (``.zip.CHECKSUM`` with ``checksum``) of
        ``period`` "YYYY-MM" (monthly) or "YYYY-MM-DD" (daily)."""
        return self.archive.key(symbol, period, interval).path(checksum)

    def corrupt_archive_checksum(self, symbol: str, period: str, interval: str = "1m") -> None:
        """The file's ``.CHECKSUM`` lists a wrong (well-formed) sha256; the zip is intact."""
        self.archive.set_fault(self.archive.key(symbol, period, interval), CORRUPT_CHECKSUM)

    def truncate_archive(self, symbol: str, period: str, interval: str = "1m") -> None:
        """The zip is served cut in half: a complete 200 (honest Content-Length) whose bytes
        fail the unchanged ``.CHECKSUM`` and are not a valid zip."""
        self.archive.set_fault(self.archive.key(symbol, period, interval), TRUNCATE)

    def unpublish_archive(self, symbol: str, period: str, interval: str = "1m") -> None:
        """The file and its ``.CHECKSUM`` answer 404 NoSuchKey."""
        self.archive.set_fault(self.archive.key(symbol, period, interval), UNPUBLISH)

    def reupload_archive(
        self, symbol: str, period: str, interval: str = "1m", open_time: int | None = None, **values
    ) -> list:
        """The file is uploaded again with one candle changed: ``open_time`` (default: the
        period's first candle) gets ``values`` (fields as ``correct_candle``; default: one
        more trade). A correction: klines answer the new values too; the zip's bytes and its
        ``.CHECKSUM`` change. The new upload ends this file's other archive faults.
        Returns the changed candle as a klines row (ms)."""
        return self.archive.reupload(self.archive.key(symbol, period, interval), open_time, **values)

    def clear_archive_faults(self) -> None:
        """End every archive fault (corrupt/truncated/unpublished); re-uploads stay (they are data)."""
        self.archive.clear_faults()

    @property
    def archive_faults(self) -> dict[tuple[str, str, str], tuple[str, ...]]:
        """``{(symbol, interval, period): ("corrupt_checksum" | "truncate" | "unpublish", ...)}``."""
        return self.archive.faults()

    # ------------------------------------------------------------------ faults
    def fail_next(self, n: int, kind: str, seconds: float | None = None, path: str | None = None) -> None:
        """Answer the next ``n`` requests to data endpoints (exchangeInfo, klines, depth,
        allOrders; or only ``path``) with a fault: "500", "502" (HTML body), "503",
        "truncated" (200, body cut in half, connection closed), "timeout" (sleeps
        ``seconds`` or ``timeout_fault_s``, then answers normally), "429" (Retry-After
        ``seconds`` or 1; hammering rules apply), "451" (restricted location, JSON code 0) or
        "403" (the WAF's CloudFront HTML page); 451 and 403 are not charged and carry no
        X-MBX-USED-WEIGHT headers. Archive paths (``/data/...``) take only faults given their exact
        ``path`` (500/503/429 as S3 XML, no hammering rules)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        if seconds is None:
            seconds = self.timeout_fault_s if kind == "timeout" else 1.0
        with self._lock:
            self._faults.extend(Fault(kind, float(seconds), path) for _ in range(n))

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str, scoped_only: bool = False) -> Fault | None:
        """The first pending fault for ``path``; ``scoped_only``: only faults naming it."""
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.path == path or (f.path is None and not scoped_only):
                    return self._faults.pop(i)
        return None

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # ------------------------------------------------------------------ observation
    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every answered request, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def count(self, path: str | None = None, status: int | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (path is None or r.path == path)
                and (status is None or r.status == status)
                and (method is None or r.method == method)
            )

    @property
    def used_weight_1m(self) -> int:
        """Weight used in the current rate-limit window (the X-MBX-USED-WEIGHT-1M value)."""
        return self.limiter.used()

    def reset_limits(self) -> None:
        """Forget used weight, pending Retry-After and bans."""
        self.limiter.reset()

    # ------------------------------------------------------------------ account
    def add_api_key(self, key: str, secret: str, permissions: Iterable[str] = ("SPOT",)) -> None:
        self.api_keys.add(key, secret, tuple(permissions))

    def add_orders(self, symbol: str, orders: Iterable[dict]) -> list[dict]:
        """Add orders (camelCase or snake_case fields; ``time`` required; a missing ``orderId`` grows
        with creation time, ~1e9 + 1 per 4 ms since 2017-07-14). ``stopPrice`` appears on stop
        orders, ``icebergQty``/``preventedMatchId``/``preventedQuantity`` only when given. Amounts
        take the symbol's base / quote precision. Returns them completed as allOrders will show them."""
        spec = self.market.spec(symbol)
        return self.orders_store.add(symbol, orders, spec.base_precision, spec.quote_precision)

    def generate_orders(
        self,
        symbol: str,
        start_ms: int,
        end_ms: int,
        count: int,
        seed: int = 0,
        same_ms_share: float = 0.25,
        realistic: bool = True,
    ) -> list[dict]:
        """Add ``count`` deterministic orders created in [start_ms, end_ms): shaped like real
        allOrders rows, or with ``realistic=False`` every field on every row (the earlier shape)."""
        spec = self.market.spec(symbol)
        orders = generate_orders(
            spec, self.market.paths[symbol], start_ms, end_ms, count, seed, same_ms_share, realistic
        )
        return self.orders_store.add(symbol, orders, spec.base_precision, spec.quote_precision)

    def update_order(self, symbol: str, order_id: int, **changes) -> dict:
        """Change an order after creation, e.g. ``status="FILLED", executed_qty="0.01",
        update_time=ms`` (default updateTime: max(old, now_ms)); cummulativeQuoteQty follows
        executedQty unless given."""
        return self.orders_store.update(symbol, order_id, self.now_ms, self.market.paths[symbol], **changes)

    def orders(self, symbol: str) -> list[dict]:
        """All orders of ``symbol`` (including any created after now_ms), by orderId."""
        return self.orders_store.all(symbol)
