"""Account side of the stand-in: API keys, HMAC-SHA256 request signing, the orders of
``GET /api/v3/allOrders`` and a deterministic order generator.

Signature check (as api.binance.com): ``signature`` must be the hex HMAC-SHA256, keyed by
the API secret, of the *raw* query string as sent with the ``signature=...`` component
removed (python-binance 1.0.37 sends the parameters sorted by name, ``symbol`` URL-quoted,
the others verbatim, ``signature`` last, and signs exactly that string).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import threading
from bisect import bisect_left, bisect_right, insort

from . import errors
from .prices import UNIT, PricePath, SymbolSpec, fmt8, fmt_decimals, seed_of, to_units

# allOrders fields in Binance's order. stopPrice, icebergQty, preventedMatchId and preventedQuantity
# are conditional ("Conditional fields in Order Responses"): a row carries them only when they apply.
ORDER_FIELDS = (
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
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "workingTime",
    "origQuoteOrderQty",
    "selfTradePreventionMode",
    "preventedMatchId",
    "preventedQuantity",
)
CONDITIONAL_FIELDS = frozenset({"stopPrice", "icebergQty", "preventedMatchId", "preventedQuantity"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
# amounts in base asset units (formatted with the symbol's base precision), the rest in quote units
BASE_AMOUNT_FIELDS = ("origQty", "executedQty", "icebergQty", "preventedQuantity")
QUOTE_AMOUNT_FIELDS = ("price", "stopPrice", "cummulativeQuoteQty", "origQuoteOrderQty")
AMOUNT_FIELDS = BASE_AMOUNT_FIELDS + QUOTE_AMOUNT_FIELDS
READ_PERMISSIONS = frozenset({"SPOT", "READ", "USER_DATA", "MARGIN", "TRADE"})
# Binance keys are 64 letters and digits; '-' and '_' are let through for readable test keys. A key
# pasted with quotes or spaces gets -2014 ("API-key format invalid."), as on api.binance.com.
KEY_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,128}")

# Order ids: Binance counts the orders of each symbol (BTCUSDT's ids were ~3e10 in 2024). The
# stand-in derives them from creation time instead, so orders added in any order still get ids
# growing with creation time: one id per ORDER_ID_MS since ORDER_ID_EPOCH_MS, 1e9 + ~5e10 by 2024.
ORDER_ID_BASE = 1_000_000_000
ORDER_ID_EPOCH_MS = 1_500_000_000_000  # 2017-07-14, Binance's launch
ORDER_ID_MS = 4


def order_id_for(time_ms: int) -> int:
    """The id an order created at ``time_ms`` gets when nothing crowds it (sparse for one account)."""
    return ORDER_ID_BASE + max(0, time_ms - ORDER_ID_EPOCH_MS) // ORDER_ID_MS


# ---------------------------------------------------------------------------------- signing
class ApiKeys:
    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, secret: str, permissions=("SPOT",)) -> None:
        with self._lock:
            self._keys[key] = (secret, frozenset(p.upper() for p in permissions))

    def remove(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def verify(self, api_key: str | None, raw_query: str, params: errors.Params, server_now: int) -> None:
        """Raise the ApiError Binance would answer for a USER_DATA request, else return."""
        if not api_key or not KEY_FORMAT.fullmatch(api_key):
            raise errors.bad_api_key_format()
        with self._lock:
            entry = self._keys.get(api_key)
        if entry is None or not (entry[1] & READ_PERMISSIONS):
            raise errors.rejected_api_key()
        secret = entry[0]
        timestamp = params.int("timestamp", required=True)
        signature = params.require("signature")
        recv_window = params.int("recvWindow", default=5000)
        if recv_window > 60_000 or recv_window <= 0:
            raise errors.bad_recv_window()
        payload = "&".join(p for p in raw_query.split("&") if p and not p.startswith("signature="))
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise errors.bad_signature()
        if timestamp >= server_now + 1000:
            raise errors.timestamp_ahead()
        if server_now - timestamp > recv_window:
            raise errors.timestamp_outside()


def sign(secret: str, query: str) -> str:
    """The signature Binance expects for ``query`` (helper for tests and hand-made clients)."""
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------- orders
def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


class OrderStore:
    """Orders per symbol, kept sorted by orderId (which grows with creation time). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, list[int]] = {}
        self._by_time: dict[str, list[tuple[int, int]]] = {}  # (time, orderId), sorted
        self._orders: dict[str, dict[int, dict]] = {}
        self._decimals: dict[str, tuple[int, int]] = {}  # symbol -> (base, quote) decimals

    def _next_id(self, symbol: str, time_ms: int) -> int:
        """An id above every order created up to ``time_ms`` and below every later one."""
        by_time = self._by_time.get(symbol, [])
        i = bisect_right(by_time, (time_ms, float("inf")))
        oid = order_id_for(time_ms)
        if i:
            oid = max(oid, by_time[i - 1][1] + 1)
        if i < len(by_time) and oid >= by_time[i][1]:
            later_time, later_id = by_time[i]
            raise ValueError(
                f"no {symbol} order id left between the orders created up to {time_ms} and order "
                f"{later_id} created at {later_time}: add orders in creation order"
            )
        return oid

    def _format(self, symbol: str, field: str, value) -> str:
        base, quote = self._decimals.get(symbol, (8, 8))
        decimals = base if field in BASE_AMOUNT_FIELDS else quote
        try:
            return fmt_decimals(to_units(value), decimals)
        except ValueError as e:
            raise ValueError(f"{symbol} {field} {value!r}: {e} ({symbol} sends {decimals} decimals)") from None

    def add(self, symbol: str, orders, base_decimals: int = 8, quote_decimals: int = 8) -> list[dict]:
        """Add order dicts (camelCase fields; ``time`` required, the rest defaulted). Conditional
        fields appear only when given (``None`` = absent), except ``stopPrice`` which stop orders
        always carry. Amounts are formatted with the symbol's base / quote decimals."""
        added = []
        with self._lock:
            self._decimals[symbol] = (base_decimals, quote_decimals)
            ids = self._ids.setdefault(symbol, [])
            by_time = self._by_time.setdefault(symbol, [])
            store = self._orders.setdefault(symbol, {})
            for raw in orders:
                o = {_camel(k): v for k, v in dict(raw).items()}
                if "time" not in o:
                    raise ValueError("an order needs its creation 'time' (ms)")
                unknown = set(o) - set(ORDER_FIELDS)
                if unknown:
                    raise ValueError(f"unknown order fields {sorted(unknown)}")
                t = int(o["time"])
                oid = int(o["orderId"]) if o.get("orderId") is not None else self._next_id(symbol, t)
                if oid in store:
                    raise ValueError(f"orderId {oid} already exists for {symbol}")
                fields = {
                    "orderListId": -1,
                    "clientOrderId": f"web_{seed_of('cid', symbol, oid):016x}{seed_of('cid2', oid):016x}",
                    "price": "0",
                    "origQty": "0",
                    "executedQty": "0",
                    "cummulativeQuoteQty": "0",
                    "status": "NEW",
                    "timeInForce": "GTC",
                    "type": "LIMIT",
                    "side": "BUY",
                    "updateTime": t,
                    "isWorking": True,
                    "workingTime": t,
                    "origQuoteOrderQty": "0",
                    "selfTradePreventionMode": "EXPIRE_MAKER",
                }
                fields.update(o)
                if fields["type"] in STOP_TYPES:
                    fields.setdefault("stopPrice", "0")
                fields["symbol"], fields["orderId"], fields["time"] = symbol, oid, t
                full = self._row(symbol, fields)
                store[oid] = full
                insort(ids, oid)
                insort(by_time, (t, oid))
                added.append(dict(full))
        return added

    def _row(self, symbol: str, fields: dict) -> dict:
        """An allOrders row: fields in Binance's order, absent conditional ones left out."""
        row = {}
        for f in ORDER_FIELDS:
            value = fields.get(f)
            if value is None:
                if f in CONDITIONAL_FIELDS:
                    continue
                raise ValueError(f"order field {f} cannot be None")
            if f in AMOUNT_FIELDS:
                value = self._format(symbol, f, value)
            elif f in ("time", "updateTime", "workingTime", "preventedMatchId"):
                value = int(value)
            row[f] = value
        return row

    def update(self, symbol: str, order_id: int, now: int, path: PricePath | None = None, **changes) -> dict:
        with self._lock:
            order = self._orders.get(symbol, {}).get(int(order_id))
            if order is None:
                raise KeyError(f"no order {order_id} for {symbol}")
            changes = {_camel(k): v for k, v in changes.items()}
            unknown = set(changes) - set(ORDER_FIELDS)
            if unknown or {"orderId", "symbol"} & set(changes):
                raise ValueError(f"cannot change {sorted(unknown | ({'orderId', 'symbol'} & set(changes)))}")
            fields = {**order, **changes}
            if "executedQty" in changes and "cummulativeQuoteQty" not in changes:
                price = to_units(fields["price"])
                if price == 0 and path is not None:
                    price = path.units_at(int(fields["updateTime"] if "updateTime" in changes else now))
                quote_unit = 10 ** (8 - self._decimals.get(symbol, (8, 8))[1])
                fields["cummulativeQuoteQty"] = fmt8(
                    to_units(fields["executedQty"]) * price // UNIT // quote_unit * quote_unit
                )
            if "updateTime" not in changes:
                fields["updateTime"] = max(int(order["updateTime"]), now)
            row = self._row(symbol, fields)
            if row["time"] != order["time"]:  # moved in time (its id stays): keep the time index right
                by_time = self._by_time[symbol]
                by_time.remove((order["time"], order["orderId"]))
                insort(by_time, (row["time"], order["orderId"]))
            order.clear()
            order.update(row)
            return dict(order)

    def all(self, symbol: str) -> list[dict]:
        with self._lock:
            store = self._orders.get(symbol, {})
            return [dict(store[i]) for i in self._ids.get(symbol, [])]

    def query(
        self, symbol: str, now: int, order_id: int | None, start: int | None, end: int | None, limit: int
    ) -> list[dict]:
        """``allOrders`` semantics: ascending by orderId; with orderId or startTime the first
        ``limit`` matches, otherwise the most recent ``limit``. Orders created after ``now``
        do not exist yet."""
        with self._lock:
            ids = self._ids.get(symbol, [])
            store = self._orders.get(symbol, {})
            i = bisect_left(ids, order_id) if order_id is not None else 0
            hits = []
            for oid in ids[i:]:
                o = store[oid]
                t = o["time"]
                if t > now or (start is not None and t < start) or (end is not None and t > end):
                    continue
                hits.append(o)
            hits = hits[:limit] if (order_id is not None or start is not None) else hits[-limit:]
            return [dict(o) for o in hits]


def generate_orders(
    spec: SymbolSpec,
    path: PricePath,
    start_ms: int,
    end_ms: int,
    count: int,
    seed: int = 0,
    same_ms_share: float = 0.25,
    realistic: bool = True,
) -> list[dict]:
    """``count`` deterministic orders created in [start_ms, end_ms).

    About ``same_ms_share`` of the orders share their creation millisecond with the order
    before them (batches, OCO legs, bots), so paging by ``time`` alone loses orders.
    ``realistic`` rows look like real allOrders rows (see :func:`_realistic_orders`); otherwise
    every row has all 20 fields and only LIMIT, MARKET, LIMIT_MAKER and STOP_LOSS_LIMIT orders
    (the stand-in's earlier, uniform shape).
    """
    if end_ms <= start_ms:
        raise ValueError("end_ms must be after start_ms")
    rng = random.Random(seed_of("orders", spec.symbol, start_ms, end_ms, count, seed))
    times = sorted(rng.randrange(start_ms, end_ms) for _ in range(count))
    for i in range(1, count):
        if rng.random() < same_ms_share:
            times[i] = times[i - 1]
    if count >= 2 and len(set(times)) == count:
        times[1] = times[0]
    if realistic:
        return _realistic_orders(spec, path, times, rng)
    return _uniform_orders(spec, path, times, rng)


def _uniform_orders(spec: SymbolSpec, path: PricePath, times: list[int], rng: random.Random) -> list[dict]:
    tick, step = spec.tick_units, spec.step_units
    out = []
    for t in times:
        market = path.units_at(t) // tick * tick
        side = "BUY" if rng.random() < 0.5 else "SELL"
        r = rng.random()
        otype = "LIMIT" if r < 0.6 else "MARKET" if r < 0.85 else "LIMIT_MAKER" if r < 0.93 else "STOP_LOSS_LIMIT"
        sign_ = -1 if side == "BUY" else 1
        price = max(tick, (market + sign_ * int(market * rng.random() * 0.003)) // tick * tick)
        notional = rng.randint(10, 5000) * UNIT
        qty = max(step, notional * UNIT // max(price, 1) // step * step)
        stop = 0
        working, is_working = t, True
        quote_order_qty = 0
        s = rng.random()
        if otype == "MARKET":
            status = "FILLED" if s < 0.95 else "EXPIRED"
            fill_price = max(tick, market - sign_ * int(market * rng.random() * 0.0005))
            if rng.random() < 0.3:
                quote_order_qty = notional
            price = 0
        else:
            fill_price = price
            if otype == "STOP_LOSS_LIMIT":
                stop = max(tick, (price - sign_ * int(price * 0.001)) // tick * tick)
                status = "NEW" if s < 0.4 else "FILLED" if s < 0.7 else "CANCELED"
                if status == "NEW":
                    working, is_working = -1, False
            elif otype == "LIMIT_MAKER":
                status = "FILLED" if s < 0.4 else "CANCELED" if s < 0.8 else "NEW" if s < 0.9 else "EXPIRED"
            else:
                status = (
                    "FILLED"
                    if s < 0.5
                    else "CANCELED"
                    if s < 0.8
                    else "PARTIALLY_FILLED"
                    if s < 0.86
                    else "NEW"
                    if s < 0.94
                    else "EXPIRED"
                )
        if status == "FILLED":
            executed = qty
        elif status in ("PARTIALLY_FILLED", "EXPIRED") or (status == "CANCELED" and rng.random() < 0.3):
            executed = qty * rng.randint(1, 99) // 100 // step * step
            if otype == "LIMIT_MAKER":
                executed = 0
        else:
            executed = 0
        if otype == "MARKET" or status == "NEW":
            update = t
        elif status in ("FILLED", "PARTIALLY_FILLED"):
            update = t + int(rng.random() ** 3 * 600_000)
        else:
            update = t + int(rng.random() ** 2 * 3_600_000)
        prefix = ("web_", "and_", "ios_", "x-")[rng.randrange(4)]
        out.append(
            {
                "clientOrderId": f"{prefix}{rng.getrandbits(128):032x}",
                "price": fmt8(price),
                "origQty": fmt8(qty),
                "executedQty": fmt8(executed),
                "cummulativeQuoteQty": fmt8(executed * fill_price // UNIT),
                "status": status,
                "timeInForce": "GTC",
                "type": otype,
                "side": side,
                "stopPrice": fmt8(stop),
                "icebergQty": fmt8(0),
                "time": t,
                "updateTime": update,
                "isWorking": is_working,
                "workingTime": working,
                "origQuoteOrderQty": fmt8(quote_order_qty),
            }
        )
    return out


# (value, weight) tables of the realistic generator
_TYPES = (
    ("LIMIT", 50),
    ("MARKET", 22),
    ("LIMIT_MAKER", 8),
    ("STOP_LOSS_LIMIT", 7),
    ("TAKE_PROFIT_LIMIT", 5),
    ("STOP_LOSS", 4),
    ("TAKE_PROFIT", 4),
)
_LIMIT_TIME_IN_FORCE = (("GTC", 80), ("IOC", 15), ("FOK", 5))
# PENDING_CANCEL is documented as "currently unused" and REJECTED orders are "not processed": both
# rare, but a reader of allOrders must still accept them.
_STATUSES = {
    "GTC": (
        ("FILLED", 40),
        ("CANCELED", 24),
        ("NEW", 9),
        ("PARTIALLY_FILLED", 6),
        ("EXPIRED", 8),
        ("EXPIRED_IN_MATCH", 6),
        ("REJECTED", 4),
        ("PENDING_CANCEL", 3),
    ),
    "IOC": (("FILLED", 55), ("EXPIRED", 38), ("EXPIRED_IN_MATCH", 7)),
    "FOK": (("FILLED", 60), ("EXPIRED", 40)),
    "MARKET": (("FILLED", 86), ("EXPIRED", 6), ("EXPIRED_IN_MATCH", 5), ("REJECTED", 3)),
    "LIMIT_MAKER": (("FILLED", 35), ("CANCELED", 33), ("NEW", 10), ("EXPIRED", 15), ("EXPIRED_IN_MATCH", 7)),
    "STOP": (("NEW", 30), ("FILLED", 30), ("CANCELED", 27), ("EXPIRED", 7), ("EXPIRED_IN_MATCH", 6)),
}
_STP_MODES = ("EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
_ICEBERG_SHARE = 0.04  # of LIMIT GTC orders
_PREVENTED_MATCH_MS = 10_000  # preventedMatchId: a per-symbol sequence, here one per 10 s


def _pick(rng: random.Random, table) -> str:
    values, weights = zip(*table)
    return rng.choices(values, weights)[0]


def _realistic_orders(spec: SymbolSpec, path: PricePath, times: list[int], rng: random.Random) -> list[dict]:
    """Rows as real allOrders answers them: every documented status and type, stopPrice only on
    STOP_LOSS*/TAKE_PROFIT* orders, icebergQty only on iceberg orders, preventedMatchId and
    preventedQuantity on orders expired by self-trade prevention (EXPIRED_IN_MATCH), workingTime -1
    on stop orders never triggered, prices and quantities on the symbol's precisions."""
    quote_unit = 10 ** (8 - spec.quote_precision)
    tick = max(spec.tick_units, quote_unit)
    step = max(spec.step_units, 10 ** (8 - spec.base_precision))
    out = []
    for t in times:
        market = max(tick, path.units_at(t) // tick * tick)
        side = "BUY" if rng.random() < 0.5 else "SELL"
        otype = _pick(rng, _TYPES)
        away = -1 if side == "BUY" else 1  # limit prices rest away from the market
        notional = rng.randint(10, 5000) * UNIT
        tif = _pick(rng, _LIMIT_TIME_IN_FORCE) if otype == "LIMIT" else "GTC"
        price = stop = 0
        if otype in ("LIMIT", "LIMIT_MAKER"):
            price = max(tick, (market + away * int(market * rng.random() * 0.003)) // tick * tick)
        elif otype in STOP_TYPES:
            # stop losses trigger against the position, take profits with it
            toward = away if otype.startswith("STOP_LOSS") else -away
            stop = max(tick, (market - toward * int(market * (0.002 + rng.random() * 0.01))) // tick * tick)
            if otype.endswith("_LIMIT"):
                price = max(tick, (stop - toward * int(stop * 0.001)) // tick * tick)
        qty = max(2 * step, notional * UNIT // max(price or market, 1) // step * step)
        kind = tif if otype == "LIMIT" else "STOP" if otype in STOP_TYPES else otype
        status = _pick(rng, _STATUSES[kind])
        partial = max(step, min(qty - step, qty * rng.randint(1, 99) // 100 // step * step))
        if status == "FILLED":
            executed = qty
        elif (
            status == "PARTIALLY_FILLED"
            or (status == "EXPIRED" and otype in ("MARKET", "LIMIT") and tif != "FOK")
            or status in ("CANCELED", "EXPIRED_IN_MATCH", "PENDING_CANCEL")
            and rng.random() < 0.3
        ):
            executed = partial
        else:
            executed = 0
        if otype in ("MARKET", "STOP_LOSS", "TAKE_PROFIT"):
            reference = stop or market
            fill_price = max(tick, reference - away * int(reference * rng.random() * 0.0005))
        else:
            fill_price = price
        if status in ("NEW", "REJECTED") or otype == "MARKET" or tif != "GTC":  # done when placed
            update = t
        elif status in ("FILLED", "PARTIALLY_FILLED"):
            update = t + int(rng.random() ** 3 * 600_000)
        else:
            update = t + int(rng.random() ** 2 * 3_600_000)
        triggered = otype not in STOP_TYPES or executed > 0 or status in ("FILLED", "EXPIRED", "EXPIRED_IN_MATCH")
        working = t if otype not in STOP_TYPES else t + int((update - t) * rng.random()) if triggered else -1
        row = {
            "clientOrderId": _client_order_id(rng),
            "price": fmt8(price),
            "origQty": fmt8(qty),
            "executedQty": fmt8(executed),
            "cummulativeQuoteQty": fmt8(executed * fill_price // UNIT // quote_unit * quote_unit),
            "status": status,
            "timeInForce": tif,
            "type": otype,
            "side": side,
            "time": t,
            "updateTime": max(update, working),
            "isWorking": triggered,
            "workingTime": working,
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if otype == "MARKET" and rng.random() < 0.3:  # sent with quoteOrderQty instead of quantity
            row["origQuoteOrderQty"] = fmt8(notional // quote_unit * quote_unit)
        if otype in STOP_TYPES:
            row["stopPrice"] = fmt8(stop)
        if otype == "LIMIT" and tif == "GTC" and rng.random() < _ICEBERG_SHARE:
            row["icebergQty"] = fmt8(max(step, qty * rng.randint(10, 50) // 100 // step * step))
        if status == "EXPIRED_IN_MATCH":
            row["selfTradePreventionMode"] = rng.choice(_STP_MODES)
            row["preventedMatchId"] = max(0, t - ORDER_ID_EPOCH_MS) // _PREVENTED_MATCH_MS
            row["preventedQuantity"] = fmt8(qty - executed)
        out.append(row)
    return out


def _client_order_id(rng: random.Random) -> str:
    """As Binance's apps ("web_", "and_", "ios_"), brokers ("x-") or the API's random default."""
    style = rng.randrange(5)
    if style == 4:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(rng.choice(alphabet) for _ in range(22))
    return f"{('web_', 'and_', 'ios_', 'x-')[style]}{rng.getrandbits(128):032x}"
