"""``clickhouse_klines`` and its reconciliation check."""

import dagster as dg

from binance_assets.exchange.resource import BinanceExchange
from binance_assets.lake.klines import klines_parquet
from binance_assets.lake.resource import LakeResource
from binance_assets.partitions import hourly_partitions, hours_in
from binance_assets.warehouse.loading import load_hours, reconcile_hours
from binance_assets.warehouse.resource import ClickHouseWarehouse


@dg.asset(
    deps=[klines_parquet],
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="klines",
    kinds={"clickhouse"},
    pool="clickhouse",
    description="{CLICKHOUSE_DATABASE}.klines: ReplacingMergeTree(fetched_at) ordered by (trading_pair, open_time).",
)
def clickhouse_klines(
    context: dg.AssetExecutionContext, exchange: BinanceExchange, lake: LakeResource, warehouse: ClickHouseWarehouse
) -> dg.MaterializeResult:
    return load_hours(context, lake, warehouse, "klines", exchange.symbol_list, hours_in(context))


@dg.asset_check(
    asset=clickhouse_klines,
    partitions_def=hourly_partitions,
    pool="clickhouse",
    description="Rows in raw JSON = rows in Parquet = rows in ClickHouse (FINAL) for every symbol-hour.",
)
def klines_reconciled(
    context: dg.AssetCheckExecutionContext, exchange: BinanceExchange, lake: LakeResource, warehouse: ClickHouseWarehouse
):
    yield from reconcile_hours(context, lake, warehouse, "klines", exchange.symbol_list, hours_in(context))
