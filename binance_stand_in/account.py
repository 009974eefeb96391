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
from bisect import bisect_left, insort

from . import errors
from .prices import UNIT, PricePath, SymbolSpec, fmt8, seed_of, to_units

ORDER_FIELDS = (
    "symbol", "orderId", "orderListId", "clientOrderId", "price", "origQty", "executedQty",
    "cummulativeQuoteQty", "status", "timeInForce", "type", "side", "stopPrice", "icebergQty", "time",
    "updateTime", "isWorking", "workingTime", "origQuoteOrderQty", "selfTradePreventionMode",
)
AMOUNT_FIELDS = ("price", "origQty", "executedQty", "cummulativeQuoteQty", "stopPrice", "icebergQty",
                 "origQuoteOrderQty")
READ_PERMISSIONS = frozenset({"SPOT", "READ", "USER_DATA", "MARGIN", "TRADE"})
MAX_ORDERS_PER_MS = 100  # generated order ids are time_ms * 100 + n
# Binance keys are 64 letters and digits; '-' and '_' are let through for readable test keys. A key
# pasted with quotes or spaces gets -2014 ("API-key format invalid."), as on api.binance.com.
KEY_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,128}")


def order_id_for(time_ms: int, n: int = 0) -> int:
    """Order ids grow with creation time, like Binance's per-symbol ids (sparse for one account)."""
    return time_ms * MAX_ORDERS_PER_MS + n


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


def _amount(value) -> str:
    return fmt8(to_units(value))


class OrderStore:
    """Orders per symbol, kept sorted by orderId. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, list[int]] = {}
        self._orders: dict[str, dict[int, dict]] = {}

    def _next_id(self, symbol: str, time_ms: int) -> int:
        orders = self._orders.get(symbol, {})
        for n in range(MAX_ORDERS_PER_MS):
            oid = order_id_for(time_ms, n)
            if oid not in orders:
                return oid
        raise ValueError(f"more than {MAX_ORDERS_PER_MS} orders in millisecond {time_ms} of {symbol}")

    def add(self, symbol: str, orders) -> list[dict]:
        """Add order dicts (camelCase fields; ``time`` required, the rest defaulted)."""
        added = []
        with self._lock:
            ids = self._ids.setdefault(symbol, [])
            store = self._orders.setdefault(symbol, {})
            for raw in orders:
                o = {_camel(k): v for k, v in dict(raw).items()}
                if "time" not in o:
                    raise ValueError("an order needs its creation 'time' (ms)")
                t = int(o["time"])
                oid = int(o["orderId"]) if o.get("orderId") is not None else self._next_id(symbol, t)
                if oid in store:
                    raise ValueError(f"orderId {oid} already exists for {symbol}")
                full = {
                    "symbol": symbol,
                    "orderId": oid,
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
                    "stopPrice": "0",
                    "icebergQty": "0",
                    "time": t,
                    "updateTime": t,
                    "isWorking": True,
                    "workingTime": t,
                    "origQuoteOrderQty": "0",
                    "selfTradePreventionMode": "EXPIRE_MAKER",
                }
                unknown = set(o) - set(full)
                if unknown:
                    raise ValueError(f"unknown order fields {sorted(unknown)}")
                full.update(o)
                full["symbol"], full["orderId"], full["time"] = symbol, oid, t
                for f in AMOUNT_FIELDS:
                    full[f] = _amount(full[f])
                full["updateTime"], full["workingTime"] = int(full["updateTime"]), int(full["workingTime"])
                store[oid] = full
                insort(ids, oid)
                added.append(dict(full))
        return added

    def update(self, symbol: str, order_id: int, now: int, path: PricePath | None = None, **changes) -> dict:
        with self._lock:
            order = self._orders.get(symbol, {}).get(int(order_id))
            if order is None:
                raise KeyError(f"no order {order_id} for {symbol}")
            changes = {_camel(k): v for k, v in changes.items()}
            unknown = set(changes) - set(ORDER_FIELDS)
            if unknown or {"orderId", "symbol"} & set(changes):
                raise ValueError(f"cannot change {sorted(unknown | ({'orderId', 'symbol'} & set(changes)))}")
            for f, v in changes.items():
                order[f] = _amount(v) if f in AMOUNT_FIELDS else int(v) if f in ("time", "updateTime",
                                                                                   "workingTime") else v
            if "executedQty" in changes and "cummulativeQuoteQty" not in changes:
                price = to_units(order["price"])
                if price == 0 and path is not None:
                    price = path.units_at(int(order["updateTime"] if "updateTime" in changes else now))
                order["cummulativeQuoteQty"] = fmt8(to_units(order["executedQty"]) * price // UNIT)
            if "updateTime" not in changes:
                order["updateTime"] = max(int(order["updateTime"]), now)
            return dict(order)

    def all(self, symbol: str) -> list[dict]:
        with self._lock:
            store = self._orders.get(symbol, {})
            return [dict(store[i]) for i in self._ids.get(symbol, [])]

    def query(self, symbol: str, now: int, order_id: int | None, start: int | None, end: int | None,
              limit: int) -> list[dict]:
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


def generate_orders(spec: SymbolSpec, path: PricePath, start_ms: int, end_ms: int, count: int,
                    seed: int = 0, same_ms_share: float = 0.25) -> list[dict]:
    """``count`` deterministic, realistic orders created in [start_ms, end_ms).

    About ``same_ms_share`` of the orders share their creation millisecond with the order
    before them (batches, OCO legs, bots), so paging by ``time`` alone loses orders.
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
                status = ("FILLED" if s < 0.5 else "CANCELED" if s < 0.8 else "PARTIALLY_FILLED" if s < 0.86
                          else "NEW" if s < 0.94 else "EXPIRED")
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
        out.append({
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
        })
    return out
