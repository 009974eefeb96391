"""``python -m binance_stand_in --port 8900``: serve in the foreground."""

from __future__ import annotations

import argparse
import sys
import time

from .exchange import ExchangeStandIn
from .intervals import HOUR_MS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m binance_stand_in",
        description="An offline stand-in for the Binance Spot REST API and its kline streams.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument(
        "--stream-port",
        type=int,
        default=None,
        help="websocket market streams (default: --port + 1, or a free port with --port 0)",
    )
    p.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated")
    p.add_argument("--now-ms", type=int, default=None, help="freeze the market clock (default: real time)")
    p.add_argument("--weight-limit", type=int, default=6000, help="request weight per minute")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    p.add_argument("--api-key", default=None)
    p.add_argument("--api-secret", default=None)
    p.add_argument("--orders-per-hour", type=int, default=0, help="generated orders per hour and symbol")
    p.add_argument("--order-hours", type=int, default=24, help="hours of generated order history")
    a = p.parse_args(argv)

    symbols = tuple(s.strip().upper() for s in a.symbols.split(",") if s.strip())
    ex = ExchangeStandIn(
        symbols=symbols,
        now_ms=a.now_ms,
        weight_limit_1m=a.weight_limit,
        latency_s=a.latency,
        host=a.host,
        port=a.port,
        stream_port=a.stream_port if a.stream_port is not None else (a.port + 1 if a.port else 0),
    )
    if (a.api_key is None) != (a.api_secret is None):
        p.error("--api-key and --api-secret go together")
    if a.api_key:
        ex.add_api_key(a.api_key, a.api_secret)
    if a.orders_per_hour:
        end = ex.now_ms // HOUR_MS * HOUR_MS
        for sym in symbols:
            for h in range(a.order_hours, 0, -1):
                start = end - h * HOUR_MS
                ex.generate_orders(sym, start, start + HOUR_MS, a.orders_per_hour)
    ex.start()
    print(
        f"Binance Spot stand-in listening on {ex.url}  (symbols: {','.join(symbols)};"
        f" python-binance: client.API_URL = '{ex.url}/api'; bulk archive: {ex.archive_url}/data/spot/...;"
        f" streams: {ex.stream_url})",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        ex.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
