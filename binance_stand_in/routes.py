"""The Spot REST endpoints the stand-in serves: weight and handler of each path.

A handler gets the :class:`ExchangeStandIn`, the request's :class:`Params`, its headers and
raw query string, and returns the JSON body as ``str`` (or raises :class:`ApiError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from . import errors
from .intervals import HOUR_MS, parse_interval

DAY_WINDOW_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Route:
    handler: Callable
    weight: Callable  # Params -> int (must not raise)
    data: bool  # faults from fail_next() apply


def _const(n: int):
    return lambda params: n


def depth_weight(limit: int) -> int:
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _depth_weight(params: errors.Params) -> int:
    try:
        limit = params.int("limit", default=100)
    except errors.ApiError:
        return 5
    return depth_weight(limit)


def _limit(params: errors.Params, default: int, maximum: int) -> int:
    limit = params.int("limit", default=default)
    if limit < 1 or limit > maximum:
        raise errors.invalid_param("limit")
    return limit


# ------------------------------------------------------------------------------ handlers
def ping(ex, params, headers, raw_query) -> str:
    return "{}"


def server_time(ex, params, headers, raw_query) -> str:
    return '{"serverTime":%d}' % ex.server_time_ms


def exchange_info(ex, params, headers, raw_query) -> str:
    symbol = params.symbol("symbol", required=False)
    symbols_raw = params.raw("symbols")
    params.ignore("permissions", "showPermissionSets")
    status_filter = params.raw("symbolStatus")
    if symbol is not None and symbols_raw is not None:
        raise errors.ApiError(400, -1106, "Parameter 'symbols' sent when not required.")
    if symbols_raw is not None:
        names = params.symbol_list("symbols")
    elif symbol is not None:
        names = [symbol]
    else:
        names = list(ex.market.specs)
    if status_filter is not None and status_filter not in ("TRADING", "HALT", "BREAK"):
        raise errors.invalid_param("symbolStatus")
    infos = [ex.market.symbol_info(n) for n in names]  # unknown -> -1121
    if status_filter is not None:
        infos = [i for i in infos if i["status"] == status_filter]
    minutes = ex.limiter.window_s / 60
    weight_limit = (
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": int(minutes),
            "limit": ex.limiter.limit,
        }
        if minutes == int(minutes)
        else {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "SECOND",
            "intervalNum": int(ex.limiter.window_s),
            "limit": ex.limiter.limit,
        }
    )
    body = {
        "timezone": "UTC",
        "serverTime": ex.server_time_ms,
        "rateLimits": [
            weight_limit,
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": infos,
    }
    return json.dumps(body, separators=(",", ":"))


def klines(ex, params, headers, raw_query) -> str:
    symbol = params.symbol("symbol")
    ex.market.spec(symbol)
    iv = parse_interval(params.require("interval"))
    if iv is None:
        raise errors.bad_interval()
    start = params.int("startTime")
    end = params.int("endTime")
    limit = _limit(params, 500, 1000)
    params.ignore("timeZone")
    if start is not None and end is not None and start > end:
        raise errors.start_after_end()
    params.check_all_read()
    rows = ex.market.klines(symbol, iv.name, ex.now_ms, start, end, limit)
    return "[" + ",".join(c.json() for c in rows) + "]"


def depth(ex, params, headers, raw_query) -> str:
    symbol = params.symbol("symbol")
    ex.market.spec(symbol)
    limit = params.int("limit", default=100)
    if limit < 1:
        raise errors.invalid_param("limit")
    params.ignore("symbolStatus")
    params.check_all_read()
    return json.dumps(ex.market.depth(symbol, ex.now_ms, min(limit, 5000)), separators=(",", ":"))


def all_orders(ex, params, headers, raw_query) -> str:
    ex.api_keys.verify(headers.get("X-MBX-APIKEY"), raw_query, params, ex.server_time_ms)
    symbol = params.symbol("symbol")
    ex.market.spec(symbol)
    order_id = params.int("orderId")
    start = params.int("startTime")
    end = params.int("endTime")
    limit = _limit(params, 500, 1000)
    if start is not None and end is not None:
        if start > end:
            raise errors.start_after_end()
        if end - start > DAY_WINDOW_MS:
            raise errors.too_long_window()
    params.check_all_read()
    orders = ex.orders_store.query(symbol, ex.now_ms, order_id, start, end, limit)
    return json.dumps(orders, separators=(",", ":"))


ROUTES: dict[str, Route] = {
    "/api/v3/ping": Route(ping, _const(1), data=False),
    "/api/v3/time": Route(server_time, _const(1), data=False),
    "/api/v3/exchangeInfo": Route(exchange_info, _const(20), data=True),
    "/api/v3/klines": Route(klines, _const(2), data=True),
    "/api/v3/depth": Route(depth, _depth_weight, data=True),
    "/api/v3/allOrders": Route(all_orders, _const(20), data=True),
}
