"""``raw_klines``: the exchange's 1-minute candles, exactly as sent, one lake folder per symbol-hour."""

import time
from collections.abc import Iterator

import dagster as dg

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.partitions import HOUR_MS, hourly_partitions, hours_in, to_ms
from binance_assets.lib.raw import raw_result, write_raw_hour
from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols

PROGRESS_EVERY_PAGES = 50


def _candles(exchange: BinanceExchange, symbol: str, start_ms: int, end_ms: int, log) -> Iterator[list]:
    fetched = 0
    for page_number, page in enumerate(exchange.klines(symbol, start_ms, end_ms), start=1):
        fetched += len(page)
        if page_number % PROGRESS_EVERY_PAGES == 0:
            share = (page[-1][0] - start_ms + 60_000) / (end_ms - start_ms)
            log.info(f"{symbol}: {fetched:,} candles fetched ({share:.0%} of the range)")
        yield from page


@dg.asset(
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=KLINES.group,
    kinds={"binance", "json"},
    tags=KLINES.tags,
    pool="binance_api",
    retry_policy=EXCHANGE_RETRY_POLICY,
    description="1-minute candles as Binance sent them (closed candles only), with a _SUCCESS manifest.",
)
def raw_klines(
    context: dg.AssetExecutionContext, symbols: TrackedSymbols, exchange: BinanceExchange, lake: LakeResource
) -> dg.MaterializeResult:
    hours = hours_in(context)  # a bad partition range fails here, before any request
    exchange.validate_symbols(symbols.names)
    started = time.perf_counter()
    rows_by_symbol: dict[str, int] = {}
    for symbol in symbols.names:
        start_ms, end_ms = to_ms(hours[0]), to_ms(hours[-1]) + HOUR_MS
        candles = _candles(exchange, symbol, start_ms, end_ms, context.log)
        pending = next(candles, None)
        fetched_at = exchange.server_now_ms()
        total = 0
        for hour in hours:
            hour_end = to_ms(hour) + HOUR_MS
            bucket = []
            while pending is not None and pending[0] < hour_end:
                bucket.append(pending)
                pending = next(candles, None)
            total += write_raw_hour(lake, KLINES.name, symbol, hour, bucket, fetched_at)
        rows_by_symbol[symbol] = total
        context.log.info(f"{symbol}: {total:,} candles written to the raw lake for {len(hours)} hour(s)")
    return raw_result(exchange, lake, KLINES.name, rows_by_symbol, hours, started)
