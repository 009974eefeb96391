"""``raw_klines``: 1-minute candles exactly as Binance sent them, one lake folder per symbol-hour.

Candles come from the bulk archive where it has them and from REST for the rest (``KLINES_SOURCE``,
see ``sources.py``). Either way an hour is the same JSON: the archive's values are the file's own
strings, its times converted exactly to milliseconds. Each hour's manifest names its source and,
for archive hours, the archive file and its sha256.
"""

import time

import dagster as dg

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.defs.klines.fetch import Progress, SymbolFetch
from binance_assets.defs.klines.sources import ARCHIVE_ONLY, plan
from binance_assets.lib.partitions import HOUR_MS, hourly_partitions, hours_in, to_ms
from binance_assets.lib.raw import raw_result
from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY
from binance_assets.resources.binance import BinanceArchive, BinanceExchange
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols


@dg.asset(
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=KLINES.group,
    kinds={"binance", "json"},
    tags=KLINES.tags,
    pool="binance_api",
    retry_policy=EXCHANGE_RETRY_POLICY,
    description="1-minute candles as Binance sent them (closed candles only), from the bulk archive where it has "
    "them and REST for the rest (KLINES_SOURCE), with a _SUCCESS manifest naming each hour's source.",
)
def raw_klines(
    context: dg.AssetExecutionContext,
    symbols: TrackedSymbols,
    exchange: BinanceExchange,
    archive: BinanceArchive,
    lake: LakeResource,
) -> dg.MaterializeResult:
    hours = hours_in(context)  # a bad partition range fails here, before any request
    source = archive.source
    started = time.perf_counter()
    start_ms, end_ms = to_ms(hours[0]), to_ms(hours[-1]) + HOUR_MS
    if source == ARCHIVE_ONLY:  # no REST at all: the archive needs no key, weight or exchange clock
        now_ms = int(time.time() * 1000)
    else:
        exchange.validate_symbols(symbols.names)
        now_ms = exchange.server_now_ms()
    progress = Progress()
    rows_by_symbol: dict[str, int] = {}
    for symbol in symbols.names:
        spans = plan(start_ms, end_ms, now_ms, source)
        fetched_at = now_ms if source == ARCHIVE_ONLY else exchange.server_now_ms()
        fetch = SymbolFetch(symbol, hours, exchange, archive, lake, fetched_at, progress, context.log)
        rows_by_symbol[symbol] = fetch.run(spans)
        context.log.info(
            f"{symbol}: {rows_by_symbol[symbol]:,} candles written to the raw lake for {len(hours)} hour(s) "
            f"({', '.join(f'{n:,} h from {s}' for s, n in progress.hours_by_source.get(symbol, {}).items())})"
        )
    return raw_result(
        exchange,
        lake,
        KLINES.name,
        rows_by_symbol,
        hours,
        started,
        **progress.metadata(),
        **archive.stats.as_metadata(),
    )
