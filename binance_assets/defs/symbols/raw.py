"""``exchange_info``: the exchange's symbol list with statuses and trading rules, fetched daily.

Kept as Binance sent it (one lake file per UTC day) and loaded into the ``symbols`` dimension by
``clickhouse_symbols``; the ``symbols_daily`` schedule refreshes both.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import RAW, daily_file

GROUP = "symbols"


@dg.asset(
    group_name=GROUP,
    kinds={"binance", "json"},
    pool="binance_api",
    retry_policy=EXCHANGE_RETRY_POLICY,
    description="GET /api/v3/exchangeInfo as Binance sent it (every symbol, its status, precisions and filters), "
    "one lake file per UTC day.",
)
def exchange_info(
    context: dg.AssetExecutionContext, exchange: BinanceExchange, lake: LakeResource
) -> dg.MaterializeResult:
    info = exchange.exchange_info()
    fetched_at = exchange.server_now_ms()
    path = daily_file(RAW, "exchange_info", datetime.fromtimestamp(fetched_at / 1000, UTC))
    symbols = info.get("symbols", [])
    statuses: dict[str, int] = {}
    for entry in symbols:
        statuses[entry.get("status", "?")] = statuses.get(entry.get("status", "?"), 0) + 1
    lake.write_partition(
        path, json.dumps(info, separators=(",", ":")).encode(), {"rows": len(symbols), "fetched_at_ms": fetched_at}
    )
    context.log.info(f"exchangeInfo: {len(symbols):,} symbols written to {path}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(symbols),
            "symbols_by_status": statuses,
            "lake_file": path,
            "lake_path": dg.MetadataValue.path(lake.store.uri(path)),
            **exchange.stats.as_metadata(),
        }
    )
