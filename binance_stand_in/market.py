"""Market data of the stand-in: klines (with gaps and corrections), order book, exchangeInfo.

Klines are generated on the fly, O(limit) per request: a candle's values depend only on
(symbol, interval, open time) and, for the candle still open, on "now".
"""

from __future__ import annotations

import bisect
import threading

from . import errors
from .intervals import INTERVAL_MS, MINUTE_MS, Interval, parse_interval
from .prices import UNIT, PricePath, SymbolSpec, fmt8, mix64, to_units

# kline fields a correction may change, and their position in the 12-field row
KLINE_FIELDS = {
    "open": 1,
    "high": 2,
    "low": 3,
    "close": 4,
    "volume": 5,
    "quote_volume": 7,
    "trades": 8,
    "taker_buy_base": 9,
    "taker_buy_quote": 10,
}
_D = '"%d.%08d"'
_ROW_FMT = "[%d," + ",".join([_D] * 5) + ",%d," + _D + ",%d," + _D + "," + _D + ',"0"]'


class Candle(tuple):
    """(open_time, open, high, low, close, volume, close_time, quote, trades, taker_base, taker_quote)

    Amounts in integer 1e-8 units.
    """

    def row(self) -> list:
        """The Binance 12-field row, as JSON-decoded (strings with 8 decimals)."""
        ot, o, h, lo, c, v, ct, q, n, tb, tq = self
        return [ot, fmt8(o), fmt8(h), fmt8(lo), fmt8(c), fmt8(v), ct, fmt8(q), n, fmt8(tb), fmt8(tq), "0"]

    def json(self) -> str:
        """The row as JSON text (amounts must be >= 0)."""
        ot, o, h, lo, c, v, ct, q, n, tb, tq = self
        return _ROW_FMT % (
            ot,
            o // UNIT,
            o % UNIT,
            h // UNIT,
            h % UNIT,
            lo // UNIT,
            lo % UNIT,
            c // UNIT,
            c % UNIT,
            v // UNIT,
            v % UNIT,
            ct,
            q // UNIT,
            q % UNIT,
            n,
            tb // UNIT,
            tb % UNIT,
            tq // UNIT,
            tq % UNIT,
        )


class _Gaps:
    """Open times the exchange never produced, as single times and [start, end) ranges."""

    def __init__(self) -> None:
        self.times: set[int] = set()
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add_range(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def range_end(self, t: int) -> int | None:
        """End of a removed range containing ``t`` (the furthest one), else None."""
        i = bisect.bisect_right(self.starts, t)
        best = None
        for j in range(i):
            if self.ends[j] > t and (best is None or self.ends[j] > best):
                best = self.ends[j]
        return best

    def range_start(self, t: int) -> int | None:
        """Start of a removed range containing ``t`` (the earliest one), else None."""
        i = bisect.bisect_right(self.starts, t)
        best = None
        for j in range(i):
            if self.ends[j] > t and (best is None or self.starts[j] < best):
                best = self.starts[j]
        return best


class Market:
    """Symbols, their price paths, the klines' gaps and corrections. Thread-safe."""

    def __init__(self, symbols, listed_ms: int | None = None):
        self._lock = threading.Lock()
        # bumped by every change to a symbol's candles: caches of derived data (archive
        # files) key on it instead of watching gaps and corrections themselves
        self._revisions: dict[str, int] = {}
        self.specs: dict[str, SymbolSpec] = {}
        self.paths: dict[str, PricePath] = {}
        for s in symbols:
            self.add_symbol(s, listed_ms=listed_ms)
        self._gaps: dict[tuple[str, str], _Gaps] = {}
        self._corrections: dict[tuple[str, str], dict[int, dict[int, int]]] = {}

    # ------------------------------------------------------------------ configuration
    def add_symbol(self, symbol: str | SymbolSpec, listed_ms: int | None = None) -> SymbolSpec:
        spec = symbol if isinstance(symbol, SymbolSpec) else SymbolSpec.make(symbol, listed_ms)
        with self._lock:
            self.specs[spec.symbol] = spec
            self.paths[spec.symbol] = PricePath(spec)
            self._bump(spec.symbol)
        return spec

    def revision(self, symbol: str) -> int:
        """Changes whenever ``symbol``'s candles may have changed (re-added, gaps, corrections)."""
        with self._lock:
            return self._revisions.get(symbol, 0)

    def _bump(self, symbol: str) -> None:  # caller holds the lock
        self._revisions[symbol] = self._revisions.get(symbol, 0) + 1

    def spec(self, symbol: str | None) -> SymbolSpec:
        spec = self.specs.get(symbol or "")
        if spec is None:
            raise errors.bad_symbol()
        return spec

    def remove_candles(self, symbol: str, open_times, interval: str = "1m") -> None:
        iv = _interval(interval)
        self.spec(symbol)
        with self._lock:
            gaps = self._gaps.setdefault((symbol, iv.name), _Gaps())
            gaps.times.update(int(t) for t in open_times)
            self._bump(symbol)

    def remove_range(self, symbol: str, start_ms: int, end_ms: int, interval: str = "1m") -> None:
        iv = _interval(interval)
        self.spec(symbol)
        with self._lock:
            self._gaps.setdefault((symbol, iv.name), _Gaps()).add_range(int(start_ms), int(end_ms))
            self._bump(symbol)

    def correct_candle(self, symbol: str, open_time: int, interval: str = "1m", **values) -> None:
        iv = _interval(interval)
        self.spec(symbol)
        if iv.floor(open_time) != open_time:
            raise ValueError(f"{open_time} is not a {interval} open time")
        fields = {}
        for name, value in values.items():
            if name not in KLINE_FIELDS:
                raise TypeError(f"unknown kline field {name!r}; use one of {sorted(KLINE_FIELDS)}")
            fields[KLINE_FIELDS[name]] = int(value) if name == "trades" else to_units(value)
            if fields[KLINE_FIELDS[name]] < 0:
                raise ValueError(f"{name} cannot be negative")
        with self._lock:
            per = self._corrections.setdefault((symbol, iv.name), {})
            per.setdefault(int(open_time), {}).update(fields)
            self._bump(symbol)

    # ------------------------------------------------------------------ klines
    def klines(
        self, symbol: str, interval: str, now: int, start: int | None = None, end: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Candles as ``GET /api/v3/klines`` answers (validation of the arguments is the caller's)."""
        spec = self.spec(symbol)
        iv = _interval(interval)
        with self._lock:
            gaps = self._gaps.get((symbol, iv.name))
            corrections = self._corrections.get((symbol, iv.name))
            if gaps is not None:
                snapshot = _Gaps()
                snapshot.times = set(gaps.times)
                snapshot.starts, snapshot.ends = list(gaps.starts), list(gaps.ends)
                gaps = snapshot
            if corrections is not None:
                corrections = {k: dict(v) for k, v in corrections.items()}
        first = iv.floor(spec.listed_ms)  # the candle containing the first trade
        last = iv.floor(now if end is None else min(end, now))  # never a candle opening after now
        if last < first or limit <= 0:
            return []
        opens: list[int] = []
        if gaps is None and not iv.monthly:  # fast path: a contiguous run of open times
            ms = iv.ms
            if start is not None:
                t0 = max(iv.ceil(start), first)
                n = min(limit, (last - t0) // ms + 1) if t0 <= last else 0
                opens = list(range(t0, t0 + n * ms, ms))
            else:
                n = min(limit, (last - first) // ms + 1)
                opens = list(range(last - (n - 1) * ms, last + 1, ms))
        elif start is not None:
            t = max(iv.ceil(start), first)
            while t <= last and len(opens) < limit:
                if gaps is not None:
                    skip_to = gaps.range_end(t)
                    if skip_to is not None:
                        t = iv.ceil(skip_to)
                        continue
                    if t in gaps.times:
                        t = iv.next(t)
                        continue
                opens.append(t)
                t = iv.next(t)
        else:
            t = last
            while t >= first and len(opens) < limit:
                if gaps is not None:
                    back_to = gaps.range_start(t)
                    if back_to is not None:
                        t = iv.floor(back_to - 1)
                        continue
                    if t in gaps.times:
                        t = iv.prev(t)
                        continue
                opens.append(t)
                t = iv.prev(t)
            opens.reverse()
        return self._candles(spec, iv, opens, now, corrections)

    def _candles(self, spec: SymbolSpec, iv: Interval, opens: list[int], now: int, corrections) -> list[Candle]:
        path = self.paths[spec.symbol]
        tick = spec.tick_units
        step = spec.step_units
        minutes = iv.ms / MINUTE_MS
        span_units = spec.base_price * UNIT * 0.0007 * min(minutes, 43_200.0) ** 0.5
        mean_steps = spec.volume_per_min * minutes * UNIT / step
        trade_units = max(step, int(spec.volume_per_min * UNIT / 900))
        iv_seed = mix64(spec.seed ^ (iv.index + 1) * 0x9E3779B1)
        out: list[Candle] = []
        if not opens:
            return out
        # prices at every open and close boundary, in one sorted pass (next open == this close)
        if iv.monthly:
            bounds = [iv.next(ot) for ot in opens]
        else:
            ms = iv.ms
            bounds = [ot + ms for ot in opens]
        idle = _idle_minutes(spec, iv, opens)
        if idle is None:
            times: list[int] = []
            for ot, ct in zip(opens, bounds):
                if not times or times[-1] != ot:
                    times.append(ot)
                times.append(ct)
            opens_at = None
        else:  # a candle after idle minutes opens at the close before them
            opens_at = {ot: idle.run_start(ot) for ot in opens}
            times = sorted({*opens_at.values(), *bounds})
        price = dict(zip(times, path.units_many(times)))
        f16 = 1.0 / 65536.0
        for ot, ct_boundary in zip(opens, bounds):
            if opens_at is None:
                o = price[ot]
            else:
                o = price[opens_at[ot]]
                if idle.contains(ot):
                    out.append(_fixed(Candle([ot, o, o, o, o, 0, ct_boundary - 1, 0, 0, 0, 0]), corrections))
                    continue
            c = price[ct_boundary]
            h = mix64(iv_seed ^ ot)
            u1 = (h & 0xFFFF) * f16
            u2 = ((h >> 16) & 0xFFFF) * f16
            u3 = ((h >> 32) & 0xFFFF) * f16
            if o > c:
                top, bottom = o, c
            else:
                top, bottom = c, o
            hi = top + int(span_units * u1 * u1 / tick) * tick
            lo = bottom - int(span_units * u2 * u2 / tick) * tick
            if lo < tick:
                lo = min(bottom, tick)
            steps = int(mean_steps * (0.15 + 1.7 * u3 * u3))
            if ct_boundary > now:  # the candle still open: partial values up to now
                frac = (now - ot) / (ct_boundary - ot)
                c = min(max(path.units_at(now), lo), hi)
                hi = max(o, c) + int((hi - max(o, c)) * frac / tick) * tick
                lo = min(o, c) - int((min(o, c) - lo) * frac / tick) * tick
                steps = int(steps * frac)
            vol = steps * step
            vwap = lo + int((hi - lo) * (0.25 + 0.5 * (h >> 48) * f16))
            quote = vol * vwap // UNIT
            taker_base = int(steps * (0.35 + 0.3 * ((h >> 8) & 0xFFFF) * f16)) * step
            taker_quote = taker_base * vwap // UNIT
            trades = max(1, int(vol / trade_units * (0.6 + 0.8 * u1))) if vol else 0
            out.append(
                _fixed(
                    Candle([ot, o, hi, lo, c, vol, ct_boundary - 1, quote, trades, taker_base, taker_quote]),
                    corrections,
                )
            )
        return out

    # ------------------------------------------------------------------ depth
    def depth(self, symbol: str, now: int, limit: int) -> dict:
        spec = self.spec(symbol)
        path = self.paths[spec.symbol]
        tick, step = spec.tick_units, spec.step_units
        mid = path.units_at(now)
        best_bid = mid // tick * tick
        if best_bid <= 0:
            best_bid = tick
        seed = mix64(spec.seed ^ (now // 100) ^ 0xD3E7)
        qty_steps = max(1, int(spec.volume_per_min * UNIT / step / 40))
        bids, asks = [], []
        bid, ask = best_bid, best_bid + tick
        for i in range(limit):
            h = mix64(seed ^ (i + 1))
            if bid > 0:
                bids.append([fmt8(bid), fmt8(step * (1 + int(qty_steps * ((h & 0xFFFF) / 65536.0) ** 3 * 8)))])
            asks.append([fmt8(ask), fmt8(step * (1 + int(qty_steps * (((h >> 16) & 0xFFFF) / 65536.0) ** 3 * 8)))])
            bid -= tick * (1 + (h >> 32) % 3)
            ask += tick * (1 + (h >> 40) % 3)
        last_update_id = 10_000_000_000 + max(0, now - spec.listed_ms) // 10 + (seed % 7)
        return {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}

    # ------------------------------------------------------------------ exchangeInfo
    def symbol_info(self, symbol: str) -> dict:
        s = self.spec(symbol)
        tick, step = fmt8(s.tick_units), fmt8(s.step_units)
        return {
            "symbol": s.symbol,
            "status": s.status,
            "baseAsset": s.base_asset,
            "baseAssetPrecision": s.base_precision,
            "quoteAsset": s.quote_asset,
            "quotePrecision": s.quote_precision,
            "quoteAssetPrecision": s.quote_precision,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "amendAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0.00000000",
                    "maxQty": "100.00000000",
                    "stepSize": "0.00000000",
                },
                {
                    "filterType": "TRAILING_DELTA",
                    "minTrailingAboveDelta": 10,
                    "maxTrailingAboveDelta": 2000,
                    "minTrailingBelowDelta": 10,
                    "maxTrailingBelowDelta": 2000,
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": "5",
                    "bidMultiplierDown": "0.2",
                    "askMultiplierUp": "5",
                    "askMultiplierDown": "0.2",
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00000000",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
            "permissions": [],
            "permissionSets": [["SPOT", "MARGIN"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"],
        }


def _fixed(candle: Candle, corrections) -> Candle:
    """The candle with any ``correct_candle`` values applied."""
    fix = corrections.get(candle[0]) if corrections else None
    if not fix:
        return candle
    row = list(candle)
    for pos, value in fix.items():
        row[pos] = value
    return Candle(row)


class _IdleMinutes:
    """The 1m candles of an illiquid symbol in which nobody traded: a hash of (symbol, open time)
    below ``idle_minute_share``. No trade, no price move: such a candle, and the one after it,
    open at the close before the idle run."""

    _SALT = 0x1D1E_C0DE

    def __init__(self, spec: SymbolSpec, first_open: int):
        self._seed = mix64(spec.seed ^ self._SALT)
        self._below = int(spec.idle_minute_share * 2.0**64)
        self._first = first_open

    def contains(self, open_ms: int) -> bool:
        return open_ms >= self._first and mix64(self._seed ^ open_ms) < self._below

    def run_start(self, open_ms: int) -> int:
        """The time whose price this candle opens at: the open of the first idle minute right
        before it (runs are short: their mean length is share / (1 - share))."""
        t = open_ms
        while self.contains(t - MINUTE_MS):
            t -= MINUTE_MS
        return t


def _idle_minutes(spec: SymbolSpec, iv: Interval, opens: list[int]) -> _IdleMinutes | None:
    # Only 1m candles go idle: the stand-in draws each interval on its own (a 1h candle is not the
    # sum of its minutes), so idle minutes have nothing consistent to carry over to longer ones.
    if not spec.idle_minute_share or iv.name != "1m" or not opens:
        return None
    return _IdleMinutes(spec, iv.floor(spec.listed_ms))


def _interval(name: str) -> Interval:
    iv = parse_interval(name)
    if iv is None:
        raise ValueError(f"unknown interval {name!r}; one of {list(INTERVAL_MS)}")
    return iv
