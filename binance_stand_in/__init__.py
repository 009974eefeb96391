"""A stand-in for the Binance Spot REST API, its bulk archive and its websocket kline streams (no dagster).

REST is standard library only; the streams use ``websockets`` (>= 13, asyncio API), imported
the first time they are used. Used by the tests, the benchmarks and the README's offline demo::

    from binance_stand_in import ExchangeStandIn

    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), now_ms=1_717_200_000_000) as ex:
        ex.url                      # "http://127.0.0.1:<free port>" (origin, no /api suffix)
        client = binance.Client("key", "secret", ping=False)
        client.API_URL = f"{ex.url}/api"
        archive = ex.archive_url    # the same origin: f"{archive}/data/spot/monthly/klines/..."
        ex.stream_url               # "ws://127.0.0.1:<another free port>" (starts the streams)
        # websockets: connect(f"{ex.stream_url}/ws/btcusdt@kline_1m"); ex.advance(60_000) -> a close

or from a shell (prints both URLs, serves until Ctrl-C)::

    python -m binance_stand_in --port 8900 [--stream-port 8901] [--symbols BTCUSDT,ETHUSDT]
        [--api-key K --api-secret S --orders-per-hour N --order-hours 24] [--now-ms MS]
    BINANCE_API_URL=http://127.0.0.1:8900 BINANCE_ARCHIVE_URL=http://127.0.0.1:8900 ...

Public API
----------
``ExchangeStandIn(symbols=("BTCUSDT","ETHUSDT"), now_ms=None, weight_limit_1m=6000, latency_s=0.0, *,
arrival_delay_s=0.0, window_s=60.0, ban_seconds=120.0, hammer_grace=1, timeout_fault_s=5.0, server_time_offset_ms=0,
listed_ms=None, archive_publish_delay_ms=0, archive_cache_files=24, restricted_location=False, host="127.0.0.1",
port=0, stream_port=0, stream_ping_interval_s=20.0, stream_pong_timeout_s=60.0, stream_max_lifetime_s=86400.0,
stream_messages_per_s=5, stream_max_streams=1024, stream_update_s=2.0)``; ``symbols`` are names or ``SymbolSpec`` objects.

- ``start()`` / ``stop()`` (= ``close()``), or ``with``; ``url``, ``port``, ``archive_url`` (== ``url``).
- Latency. ``latency_s`` delays every answer; ``arrival_delay_s`` (settable) delays handling, as
  a slow link delays a request's arrival: a signed request arriving later than its recvWindow
  gets -1021 however well the client's clock is synced.
- Clocks. ``server_time_ms`` = real time + ``server_time_offset_ms`` (settable, simulates the
  client's clock skew): ``/api/v3/time`` answers it and signed requests are checked against
  it. ``now_ms`` is the *market* clock: the fixed value given (settable, ``set_now(ms|None)``,
  ``advance(ms)``), else ``server_time_ms``. No candle opens after it, the candle containing
  it is the open one (partial values, close_time > now), orders created after it are not
  listed yet, the order book is drawn at it. A frozen market therefore does not break
  python-binance's signed calls (which stamp real time). ``market_clock_is_fixed``.
- Market data: ``remove_candles(symbol, open_times, interval="1m")``,
  ``remove_range(symbol, start_ms, end_ms, interval="1m")`` (halts: never produced),
  ``correct_candle(symbol, open_time, interval="1m", close="...", ...)`` (fields open, high,
  low, close, volume, quote_volume, trades, taker_buy_base, taker_buy_quote),
  ``candles(symbol, interval="1m", start_ms=None, end_ms=None, limit=1000)`` (what klines
  would answer, as JSON-decoded rows, no HTTP/weight), ``add_symbol(symbol | SymbolSpec,
  listed_ms=None)``, ``set_symbol_status(symbol, "BREAK")``.
- Symbol variants: ``SymbolSpec.make(symbol, listed_ms=None, **overrides)`` overrides any field:
  ``base_price`` (ticks, steps and volume follow it: below 0.01 the tick is 1e-8), ``price_decimals``,
  ``qty_decimals``, ``volume_per_min``, ``base_precision`` / ``quote_precision`` (default 8: the
  decimals of allOrders quantities / prices and quote amounts, e.g. 1 -> "13170.0", 6 ->
  "0.227106"; exchangeInfo's baseAssetPrecision / quoteAssetPrecision), ``idle_minute_share``
  (default 0: that share of 1m candles has no trade — trades 0, volumes "0.00000000", open = high
  = low = close = the previous close; the candle after an idle run opens there too; other
  intervals unaffected). ``"SHIBUSDT"`` is a meme coin pair priced ~0.000018 (tick 1e-8, step 1).
  Klines stay 8-decimal strings with valid OHLC; BTCUSDT/ETHUSDT/other names are unchanged.
- Faults: ``fail_next(n, kind, seconds=None, path=None)``, kind in "500", "502" (HTML body),
  "503", "truncated" (200 + full Content-Length, half the body, connection closed),
  "timeout" (sleeps ``seconds`` or ``timeout_fault_s``, then answers normally), "429"
  (Retry-After ``seconds`` or 1), "451" (restricted location: the edge's pretty-printed JSON
  ``{"code": 0, "msg": "Service unavailable from a restricted location according to 'b.
  Eligibility' ..."}``), "403" (the WAF: CloudFront's "403 ERROR The request could not be
  satisfied" HTML page, text/html). They hit the next n requests to the data endpoints
  (exchangeInfo, klines, depth, allOrders; ping/time never), or only to ``path``.
  ``pending_faults``, ``clear_faults()``. ``restricted_location`` (settable): while True every
  request, ping and time included, gets that 451. 451 and 403 answers are not charged and carry
  no X-MBX-USED-WEIGHT headers.
- Bulk archive (data.binance.vision, see below): ``archive_path(symbol, period,
  interval="1m", checksum=False)`` -> ``/data/spot/...zip[.CHECKSUM]``, period "YYYY-MM"
  (monthly) or "YYYY-MM-DD" (daily); ``archive_publish_delay_ms`` (settable). Archive faults
  persist until ``clear_archive_faults()`` (``archive_faults`` lists them as
  ``{(symbol, interval, period): names}``), each for one file (interval default "1m"):
  ``corrupt_archive_checksum(symbol, period, interval="1m")`` (the CHECKSUM lists a wrong,
  well-formed sha256; zip intact), ``truncate_archive(...)`` (the zip's first half as a
  complete 200 with honest Content-Length; CHECKSUM unchanged, so it fails),
  ``unpublish_archive(...)`` (zip and CHECKSUM 404), ``reupload_archive(symbol, period,
  interval="1m", open_time=None, **values)`` (a correction like ``correct_candle``:
  ``open_time`` defaults to the period's first candle, ``values`` to one more trade; the
  zip, its CHECKSUM and ETag change, klines agree; ends that file's other faults; returns
  the candle's klines row). ``remove_*`` gaps and ``correct_candle`` show in the archive.
  The setters raise ValueError for a malformed period or unserved interval, -1121 ApiError
  for an unknown symbol.
- Observation: ``requests`` (snapshot list of ``RequestRecord(method, path, params, weight,
  status)``; archive requests too, weight 0), ``clear_requests()``, ``count(path=None, status=None, method=None)``,
  ``used_weight_1m``, ``reset_limits()``.
- Account: ``add_api_key(key, secret, permissions=("SPOT",))``, ``add_orders(symbol, orders)``,
  ``generate_orders(symbol, start_ms, end_ms, count, seed=0, same_ms_share=0.25, realistic=True)``,
  ``update_order(symbol, order_id, status=..., executed_qty=..., update_time=..., ...)``,
  ``orders(symbol)``. Rows follow Binance's conditional fields: ``stopPrice`` only on
  STOP_LOSS*/TAKE_PROFIT* orders, ``icebergQty`` only on iceberg orders, ``preventedMatchId`` /
  ``preventedQuantity`` only on orders expired by self-trade prevention (add_orders: only when
  given; ``None`` removes one). Generated rows (``realistic=True``) use every status (NEW,
  PARTIALLY_FILLED, FILLED, CANCELED, PENDING_CANCEL, REJECTED, EXPIRED, EXPIRED_IN_MATCH), every
  type (LIMIT, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT, LIMIT_MAKER),
  GTC/IOC/FOK, orderListId -1; ``realistic=False`` gives the earlier uniform rows (all 20 fields,
  four types). Amounts take the symbol's base / quote precision. Order ids grow with creation
  time and are unique per symbol: ``1e9 + (time_ms - 1.5e12) // 4`` (~5.5e10 in 2024), or the
  next free id when several orders share those 4 ms; adding an order where no id is left
  between its neighbours raises ValueError (add in creation order).

Endpoints (GET; errors ``{"code", "msg"}`` as Binance; unknown path 404, other methods 405;
unknown parameters -1104, duplicated ones -1101, malformed numbers -1100)
-------------------------------------------------------------------------------------------
- ``/api/v3/ping`` (1), ``/api/v3/time`` (1).
- ``/api/v3/exchangeInfo`` (20) ``[symbol= | symbols=["A","B"]] [symbolStatus=]``; unknown
  symbol -1121.
- ``symbol=`` anywhere outside ``^[A-Z0-9-_.]{1,20}$`` (``BTC/USDT``, ``btcusdt``, spaces) is
  400 -1100 "Illegal characters found in parameter 'symbol'; legal range is '...'." and so is a
  ``symbols=`` value outside ``^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$`` (a space
  after a comma too), checked as sent; a well-formed unknown symbol is -1121.
- ``/api/v3/klines`` (2) symbol, interval (1s…1M; else -1120), startTime, endTime, limit
  (default 500, 1..1000 else -1130), timeZone (ignored). With startTime: the oldest candles
  with open_time >= startTime, not past endTime; otherwise the newest ``limit`` candles with
  open_time <= endTime (or now). Gaps are skipped (the limit counts existing candles).
  Values are a deterministic function of (symbol, interval, open_time): a hash-seeded
  price path (next open == previous close), valid OHLC, 8-decimal strings, about one price
  in 37 using all 8 decimals. No candles before the symbol's listing: 2017-08-17 04:00 UTC for BTCUSDT, ETHUSDT
  and unknown symbols, the real dates for BNBUSDT, SOLUSDT, ETHBTC, BTCUSD, 2021-05-10 11:00 UTC for
  SHIBUSDT; ``listed_ms=`` overrides it for all symbols.
- ``/api/v3/depth`` (5/25/50/250 by limit; default 100, > 5000 truncated to 5000).
- ``/api/v3/allOrders`` (20, USER_DATA): X-MBX-APIKEY (missing or malformed — outside
  ``[A-Za-z0-9_-]{1,128}``, e.g. pasted with quotes — -2014, unknown -2015),
  timestamp (-1102), signature = hex HMAC-SHA256 of the raw query string without the
  signature component (-1022), recvWindow default 5000, > 60000 -1131, -1021 if the
  timestamp is >= 1000 ms ahead of ``server_time_ms`` or older than recvWindow. symbol,
  orderId (>=), startTime/endTime (filter ``time``; > 24 h apart -1127), limit (500, max
  1000). Ascending by orderId; with orderId or startTime the first ``limit`` matches,
  otherwise the most recent ``limit``.

Bulk archive (GET/HEAD; no weight, no ``X-MBX-*`` headers, no API key, not subject to bans;
the real one is another host, data.binance.vision, whose base URL here is ``archive_url``)
-------------------------------------------------------------------------------------------
- ``/data/spot/monthly/klines/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{YYYY-MM}.zip`` and
  ``/data/spot/daily/klines/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{YYYY-MM-DD}.zip``, each
  with ``.zip.CHECKSUM`` beside it: ``{sha256 hex of the zip}  {SYMBOL}-{interval}-{period}.zip``
  and a line feed, as sha256sum prints it (two spaces; text/plain). Intervals: daily 1s, 1m,
  3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d; monthly the same without 1s. The zip
  (application/zip, ``ETag`` = quoted MD5 of the body) holds one CSV,
  ``{SYMBOL}-{interval}-{period}.csv``: no header, LF line ends, the 12 kline fields in
  klines' order and digits (open time, open, high, low, close, volume,
  close time, quote volume, trades, taker buy base, taker buy quote, "0"), rows of every
  candle opening in the period, gaps skipped. Times: files whose period starts on or after
  2025-01-01 are in MICROSECONDS (open ms * 1000; close ms * 1000 + 999, ending in 999999),
  earlier files in ms. Same candles -> same bytes (fixed zip metadata).
- Published once the period has closed on the market clock: period end +
  ``archive_publish_delay_ms`` <= ``now_ms`` (real Binance: daily files the next day,
  monthly early in the next month). Otherwise, and for unknown symbols, unserved intervals,
  malformed names, periods without any candle (before the listing, halted throughout),
  ``unpublish_archive``: 404 with S3's body ``<?xml ...?><Error><Code>NoSuchKey</Code>
  <Message>The specified key does not exist.</Message><Key>data/spot/...</Key>...</Error>``
  (application/xml). Other methods: 405 MethodNotAllowed (XML).


Websocket market streams (as Binance's ``wss://stream.binance.com:9443``; kline streams only)
----------------------------------------------------------------------------------------------
Served on a second port from an asyncio loop in a daemon thread, started by the first use of
``stream_url`` / ``stream_port`` / ``pause_stream`` and stopped with the stand-in.

- Paths: ``/ws/<stream>[/<stream>...]`` (raw payloads), ``/ws`` (none yet, SUBSCRIBE later),
  ``/stream?streams=<stream>/<stream>`` (payloads wrapped ``{"stream":<name>,"data":<payload>}``).
  Streams: ``<symbol>@kline_<interval>``, symbol lower case, any REST interval (1s…1M), at most
  ``stream_max_streams`` (1024) per connection. Refused handshakes: unknown path 404; a bad
  stream name (upper case, unknown interval, another stream type such as ``@trade``, the
  ``@+08:00`` timezone variant), a query parameter other than ``streams`` (``timeUnit`` is not
  supported) or too many streams -> HTTP 400, body ``{"code":2,"msg":"Invalid request: invalid
  stream"}`` (or ``...too many streams``; the stand-in's fail-fast choice). A well-formed stream
  of an unknown symbol is accepted and stays silent, as on Binance (it speaks once the symbol
  is added).
- Live methods (text frames), answered in order with the events: ``{"method":"SUBSCRIBE",
  "params":[names],"id":1}`` and ``UNSUBSCRIBE`` -> ``{"result":null,"id":1}``;
  ``LIST_SUBSCRIPTIONS`` -> ``{"result":[names],"id":..}``; ``SET_PROPERTY ["combined",bool]``,
  ``GET_PROPERTY ["combined"]`` (false on /ws, true on /stream). id: 64-bit integer,
  alphanumeric string <= 36, or null. Errors ``{"error":{"code":..,"msg":..},"id":..}``: 0 "Unknown
  property", 1 "Invalid value type: expected Boolean", 2 "Invalid request: ..." (invalid stream,
  too many streams, unknown method variant, bad or missing id, missing method, too many
  parameters), 3 "Invalid JSON: ...".
- Kline event: ``{"e":"kline","E":..,"s":"BTCUSDT","k":{"t","T","s","i","f","L","o","c","h","l",
  "v","n","x","q","V","Q","B":"0"}}``, amounts 8-decimal strings, ms times. Values come from the
  candles of ``/api/v3/klines``: a closed event (``x: true``, ``E`` = close time + 1) equals the
  REST row field for field; an open one (``x: false``, ``E`` = now) is REST's partial candle at
  ``E``, except that h/l are running extremes per connection (h never falls, l never rises
  between updates of a candle; both stay within the final candle). Trade ids are a function of time (40 a second
  since listing): ``f`` = the candle's first id, ``L`` = f + n - 1 (f - 1 with no trades). Gaps
  (``remove_candles``/``remove_range``) are never pushed. The events of one push are ordered by
  ``E``, then by subscription order.
- Time. A subscription starts at the market clock's now. With a fixed clock nothing is pushed
  until it moves: ``advance(ms)`` / ``set_now(ms)`` push, for every stream, the close of each
  candle that closed since the last push, oldest first (at most 1000 per stream and move, the
  newest), then one ``x: false`` update of the open candle, and return once these are queued.
  A clock moved back pushes nothing and restarts the streams there. With the real-time clock
  (``now_ms=None``, shifted by ``server_time_offset_ms``): an update every ``stream_update_s``
  (2.0) and each close right at its boundary.
- Connections: the server pings every ``stream_ping_interval_s`` (20) and closes (1011) a
  connection whose pong has not come within ``stream_pong_timeout_s`` (60); closes (1001) a
  connection older than ``stream_max_lifetime_s`` (24 h); more than ``stream_messages_per_s``
  (5) incoming messages (text, ping and pong frames) within any second -> the earlier ones are
  answered, then close 1008 "Too many requests". These settings are attributes, read when a
  connection opens (ping, pong, lifetime) or at each use. Not modelled: 300 connections per
  5 min per IP, ``serverShutdown`` events, IP bans.
- Test levers: ``drop_stream_connections()`` (cuts every connection without a close frame, the
  client sees 1006; returns how many), ``pause_stream(seconds)`` (cuts them and answers new
  handshakes HTTP 503 for ``seconds`` of real time, None = until ``resume_stream()``; candles
  that close meanwhile are the client's to backfill from REST), ``resume_stream()``.
- Observation: ``stream_connections`` (open now), ``stream_connections_total`` (accepted),
  ``stream_messages_sent`` (text frames sent: events and answers).

Rate limits: every API response carries ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-USED-WEIGHT`` (the
window's weight after the request). Windows are ``window_s`` seconds of real wall-clock
time. Over ``weight_limit_1m`` -> 429, -1003, ``Retry-After`` (seconds to the window's end,
>= 1), not charged. Requests sent while a Retry-After runs: ``hammer_grace`` (default 1)
are answered normally (usually 429 again), the next one starts a ban: 418 with
``Retry-After`` for every request during ``ban_seconds``. 4xx/5xx answers of valid routes
are charged their weight (injected 429s are not).
"""

from .account import sign
from .exchange import ExchangeStandIn
from .intervals import INTERVALS
from .prices import SymbolSpec
from .server import FAULT_KINDS, RequestRecord

__all__ = ["ExchangeStandIn", "RequestRecord", "SymbolSpec", "FAULT_KINDS", "INTERVALS", "sign"]
