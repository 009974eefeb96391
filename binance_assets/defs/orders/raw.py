"""``raw_orders``: the account's orders on each symbol, exactly as ``allOrders`` sent them, one lake
folder per symbol-hour of creation time."""

import time
from datetime import datetime

import dagster as dg

from binance_assets.defs.orders.dataset import ORDERS
from binance_assets.lib.partitions import HOUR_MS, hourly_partitions, hours_in, to_ms
from binance_assets.lib.raw import raw_result, write_raw_hour
from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.binance.client import MAX_ORDERS_WINDOW_MS
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols


def _windows(hours: list[datetime]) -> list[list[datetime]]:
    """The run's hours in runs of at most 24: one allOrders time window each, and bounded memory."""
    per_window = MAX_ORDERS_WINDOW_MS // HOUR_MS
    return [hours[i : i + per_window] for i in range(0, len(hours), per_window)]


@dg.asset(
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=ORDERS.group,
    kinds={"binance", "json"},
    tags=ORDERS.tags,
    pool="binance_api",
    retry_policy=EXCHANGE_RETRY_POLICY,
    description=(
        "The account's orders created in the hour (signed allOrders, paged past 1000 by orderId), as Binance "
        "sent them in their current state, with a _SUCCESS manifest. Needs BINANCE_API_KEY / BINANCE_API_SECRET."
    ),
)
def raw_orders(
    context: dg.AssetExecutionContext, symbols: TrackedSymbols, exchange: BinanceExchange, lake: LakeResource
) -> dg.MaterializeResult:
    exchange.require_credentials()
    hours = hours_in(context)  # a bad partition range fails here, before any request
    exchange.validate_symbols(symbols.names)
    started = time.perf_counter()
    rows_by_symbol: dict[str, int] = {}
    for symbol in symbols.names:
        total = 0
        for window in _windows(hours):
            by_hour: dict[int, list[dict]] = {to_ms(hour): [] for hour in window}
            for page in exchange.all_orders(symbol, to_ms(window[0]), to_ms(window[-1]) + HOUR_MS):
                for order in page:
                    by_hour[order["time"] - order["time"] % HOUR_MS].append(order)
            fetched_at = exchange.server_now_ms()
            for hour in window:
                total += write_raw_hour(lake, ORDERS.name, symbol, hour, by_hour[to_ms(hour)], fetched_at)
            if len(hours) > len(window):
                context.log.info(f"{symbol}: orders up to {window[-1]:%Y-%m-%d %H}:00 UTC written ({total:,} so far)")
        rows_by_symbol[symbol] = total
        context.log.info(f"{symbol}: {total:,} orders written to the raw lake for {len(hours)} hour(s)")
    return raw_result(exchange, lake, ORDERS.name, rows_by_symbol, hours, started)
