"""The symbols check: every tracked symbol is listed and trading in the latest dimension."""

import dagster as dg

from binance_assets.defs.symbols.dataset import TABLE
from binance_assets.defs.symbols.warehouse import clickhouse_symbols
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.resources.binance.client import TRADING
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.settings import TrackedSymbols


@dg.asset_check(
    asset=clickhouse_symbols,
    pool="clickhouse",
    retry_policy=STORAGE_RETRY_POLICY,
    description="Every symbol in BINANCE_SYMBOLS is listed and TRADING in the latest symbols dimension.",
)
def configured_symbols_trading(symbols: TrackedSymbols, warehouse: ClickHouseWarehouse) -> dg.AssetCheckResult:
    with warehouse.session():
        warehouse.ensure_tables([TABLE])
        statuses = dict(
            warehouse.query(
                "SELECT symbol, status FROM {database}.symbols FINAL WHERE symbol IN {symbols:Array(String)}",
                symbols=symbols.names,
            )
        )
    idle = {s: statuses.get(s, "not listed") for s in symbols.names if statuses.get(s) != TRADING}
    return dg.AssetCheckResult(
        passed=not idle,
        metadata={"configured": ", ".join(symbols.names), **({"not_trading": idle} if idle else {})},
        description=None if not idle else "Remove or replace these in BINANCE_SYMBOLS: their raw assets will fail.",
    )
