"""Kline streams as Binance pushes them, without the network (that is ``stream_server.py``).

- Stream names (``btcusdt@kline_1m``) and the kline event payload.
- :class:`KlineSubscription`: which events one stream owes when the market clock moves. Every
  value comes from :meth:`Market.klines`, the source of ``GET /api/v3/klines``, so a closed
  candle pushed here equals the REST row to the digit.
- :class:`StreamSession`: one connection's subscriptions, its ``combined`` property and the
  answers to the live JSON methods (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY,
  GET_PROPERTY), with Binance's error codes.

Standard library only: the REST stand-in must keep working where ``websockets`` is missing.
"""

from __future__ import annotations

import json
import re

from .intervals import Interval, parse_interval
from .market import Candle, Market
from .prices import fmt8

# lower case only: Binance's stream names are lower case ("All symbols for streams are lowercase")
_STREAM_RE = re.compile(r"([a-z0-9._-]{1,20})@kline_([0-9]{1,2}[smhdwM])")
_ID_STR_RE = re.compile(r"[A-Za-z0-9]{1,36}")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")

# A clock jump owes at most this many closed candles per stream (the newest ones): a frozen
# clock moved by years must not flood a connection. A client loses nothing it can't backfill.
MAX_CLOSES_PER_JUMP = 1000

# Trade ids are handed out by time: 40 a second per symbol, more than any synthetic candle
# trades (market._candles: at most ~2,400 trades a minute). So a candle's first trade id
# follows from its open time alone, and ids grow from one candle (and interval) to the next.
TRADE_IDS_PER_S = 40

_EVENT_FMT = (
    '{"e":"kline","E":%d,"s":"%s","k":{"t":%d,"T":%d,"s":"%s","i":"%s","f":%d,"L":%d,'
    '"o":"%s","c":"%s","h":"%s","l":"%s","v":"%s","n":%d,"x":%s,"q":"%s","V":"%s","Q":"%s","B":"0"}}'
)


class StreamError(Exception):
    """A live-method request Binance refuses: answered as ``{"error":{"code","msg"},"id"}``."""

    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def parse_stream(name: object) -> tuple[str, Interval] | None:
    """``"btcusdt@kline_1m"`` -> (``"BTCUSDT"``, the 1m Interval); None if not a kline stream name."""
    if not isinstance(name, str):
        return None
    m = _STREAM_RE.fullmatch(name)
    if m is None:
        return None
    iv = parse_interval(m.group(2))
    return None if iv is None else (m.group(1).upper(), iv)


def first_trade_id(listed_ms: int, open_time: int) -> int:
    return max(0, open_time - listed_ms) * TRADE_IDS_PER_S // 1000 + 1


def kline_event(
    candle: Candle,
    symbol: str,
    interval: str,
    event_time: int,
    closed: bool,
    first_id: int,
    high: int | None = None,
    low: int | None = None,
) -> str:
    """The kline event as Binance sends it (JSON text). With no trades, L = f - 1 (n = L - f + 1)."""
    ot, o, h, lo, c, v, ct, q, n, tb, tq = candle
    if high is not None:
        h = high
    if low is not None:
        lo = low
    return _EVENT_FMT % (
        event_time,
        symbol,
        ot,
        ct,
        symbol,
        interval,
        first_id,
        first_id + n - 1,
        fmt8(o),
        fmt8(c),
        fmt8(h),
        fmt8(lo),
        fmt8(v),
        n,
        "true" if closed else "false",
        fmt8(q),
        fmt8(tb),
        fmt8(tq),
    )


class KlineSubscription:
    """One ``<symbol>@kline_<interval>`` stream of one connection: remembers what it has pushed.

    ``due(market, now, partial)`` returns the events owed at market time ``now``, as
    (event time, JSON) pairs: the close (``x: true``, event time = close time + 1) of every
    candle that closed since the last call, oldest first, then the open candle (``x: false``,
    event time = now) if ``partial`` is True, or, when ``partial`` is None, if the clock moved.

    The open candle's values are REST's at ``now`` (its partial candle), except that h and l
    never retreat on one connection: REST draws a partial high from the price *now*, a real
    stream's high is the running maximum. Both stay within the final candle's range.
    """

    def __init__(self, name: str, symbol: str, interval: Interval, now: int):
        self.name = name
        self.symbol = symbol
        self.interval = interval
        self._reset(now)

    def _reset(self, now: int) -> None:
        self.cursor = now  # market time up to which events were pushed
        self.next_open = self.interval.floor(now)  # the oldest candle whose close is still owed
        self._partial_open: int | None = None
        self._high = self._low = 0

    def due(self, market: Market, now: int, partial: bool | None = None) -> list[tuple[int, str]]:
        spec = market.specs.get(self.symbol)
        if now < self.cursor:  # the clock went back: start over from there, owe nothing
            self._reset(now)
            return []
        if spec is None:  # unknown symbol: silent, as Binance (it may be listed later)
            self.cursor = now
            return []
        iv = self.interval
        moved = now > self.cursor
        self.cursor = now
        out: list[tuple[int, str]] = []
        open_now = iv.floor(now)
        if self.next_open < open_now:
            start = self.next_open
            if not iv.monthly and (open_now - start) // iv.ms > MAX_CLOSES_PER_JUMP:
                start = open_now - MAX_CLOSES_PER_JUMP * iv.ms
            for c in market.klines(self.symbol, iv.name, now, start, open_now - 1, MAX_CLOSES_PER_JUMP):
                event_time = c[6] + 1
                out.append(
                    (
                        event_time,
                        kline_event(c, spec.symbol, iv.name, event_time, True, first_trade_id(spec.listed_ms, c[0])),
                    )
                )
            self.next_open = open_now
        if moved if partial is None else partial:
            rows = market.klines(self.symbol, iv.name, now, open_now, open_now, 1)
            if rows and rows[0][0] == open_now:  # none while halted (a removed candle)
                c = rows[0]
                if self._partial_open != open_now:
                    self._partial_open, self._high, self._low = open_now, c[2], c[3]
                self._high, self._low = max(self._high, c[2]), min(self._low, c[3])
                out.append(
                    (
                        now,
                        kline_event(
                            c,
                            spec.symbol,
                            iv.name,
                            now,
                            False,
                            first_trade_id(spec.listed_ms, open_now),
                            self._high,
                            self._low,
                        ),
                    )
                )
        return out


class StreamStats:
    """Counters that outlive a restart of the stream server."""

    def __init__(self) -> None:
        self.connections_total = 0  # websocket handshakes accepted
        self.messages_sent = 0  # text frames sent: events and method answers


class StreamSession:
    """One connection's streams and ``combined`` property; answers the live JSON methods."""

    def __init__(self, combined: bool, max_streams: int):
        self.combined = combined
        self.max_streams = max_streams
        self.subscriptions: dict[str, KlineSubscription] = {}

    def subscribe(self, names: list[str], now: int) -> None:
        """Add streams (already valid names); existing ones keep their place and cursor."""
        new = [n for n in dict.fromkeys(names) if n not in self.subscriptions]
        if len(self.subscriptions) + len(new) > self.max_streams:
            raise StreamError(2, f"Invalid request: too many streams (at most {self.max_streams} per connection)")
        for name in new:
            symbol, iv = parse_stream(name)  # type: ignore[misc]
            self.subscriptions[name] = KlineSubscription(name, symbol, iv, now)

    def due(self, market: Market, now: int, partial: bool | None = None) -> list[str]:
        """Events owed by every stream, by event time (streams in subscription order on ties)."""
        events: list[tuple[int, int, str, str]] = []
        for i, sub in enumerate(self.subscriptions.values()):
            events.extend((t, i, sub.name, payload) for t, payload in sub.due(market, now, partial))
        events.sort(key=lambda e: (e[0], e[1]))  # stable: a stream's own events keep their order
        if self.combined:
            return ['{"stream":"%s","data":%s}' % (name, payload) for _, _, name, payload in events]
        return [payload for _, _, _, payload in events]

    def answer(self, text: str, now: int) -> str:
        """The reply to one JSON method message (``{"result":..,"id":..}`` or an error)."""
        request_id: object = None
        try:
            try:
                request = json.loads(text)
            except ValueError as e:
                line, col = getattr(e, "lineno", 1), getattr(e, "colno", 1)
                raise StreamError(3, f"Invalid JSON: expected value at line {line} column {col}") from None
            if not isinstance(request, dict) or "method" not in request:
                raise StreamError(2, "Invalid request: missing field `method`")
            request_id = request.get("id")
            if "id" not in request or not _valid_id(request_id):
                request_id = None
                raise StreamError(2, "Invalid request: request ID must be an unsigned integer")
            result = self._run(request.get("method"), request.get("params"), now)
        except StreamError as e:
            return json.dumps({"error": {"code": e.code, "msg": e.msg}, "id": request_id}, separators=(",", ":"))
        return json.dumps({"result": result, "id": request_id}, separators=(",", ":"))

    def _run(self, method: object, params: object, now: int) -> object:
        if method not in _METHODS:
            raise StreamError(
                2,
                f"Invalid request: unknown variant `{method}`, expected one of "
                + ", ".join(f"`{m}`" for m in _METHODS),
            )
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or any(parse_stream(p) is None for p in params):
                raise StreamError(2, "Invalid request: invalid stream")
            if method == "SUBSCRIBE":
                self.subscribe(params, now)
            else:
                for name in params:
                    self.subscriptions.pop(name, None)
            return None
        if method == "LIST_SUBSCRIPTIONS":
            if params not in (None, []):
                raise StreamError(2, "Invalid request: too many parameters")
            return list(self.subscriptions)
        # SET_PROPERTY ["combined", bool] / GET_PROPERTY ["combined"]
        want = 2 if method == "SET_PROPERTY" else 1
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            raise StreamError(2, "Invalid request: property name must be a string")
        if len(params) > want:
            raise StreamError(2, "Invalid request: too many parameters")
        if params[0] != "combined":
            raise StreamError(0, "Unknown property")
        if method == "GET_PROPERTY":
            return self.combined
        if len(params) < 2 or not isinstance(params[1], bool):
            raise StreamError(1, "Invalid value type: expected Boolean")
        self.combined = params[1]
        return None


def _valid_id(value: object) -> bool:
    """Binance accepts a 64-bit signed integer, an alphanumeric string of at most 36, or null."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and _ID_STR_RE.fullmatch(value) is not None
