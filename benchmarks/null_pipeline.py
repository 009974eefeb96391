"""Dagster's own floor: the klines group's shape with bodies that do nothing.

Three hourly assets in a chain, each with ``BackfillPolicy.single_run()``, and the group's four
partitioned checks in one step (two on the Parquet asset, two on the load: the reconciliation and
the live stream's agreement) that report one result per hour naming the materialization they
checked, exactly as the real checks do (``binance_assets.lib.verdicts``), in the same concurrency
pools. Whatever a range run of this costs is what Dagster spends on the run itself: its events,
storage and step processes.
"""

import dagster as dg

from binance_assets.lib.partitions import hourly_partitions, hours_in
from binance_assets.lib.verdicts import HourlyVerdicts, Verdict, report

SHAPE = dict(partitions_def=hourly_partitions, backfill_policy=dg.BackfillPolicy.single_run(), group_name="klines")


@dg.asset(pool="binance_api", **SHAPE)
def raw_klines() -> None:
    pass


@dg.asset(deps=[raw_klines], **SHAPE)
def klines_parquet() -> None:
    pass


@dg.asset(deps=[klines_parquet], pool="clickhouse", **SHAPE)
def clickhouse_klines() -> None:
    pass


def _spec(asset: dg.AssetsDefinition, name: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, partitions_def=hourly_partitions)


@dg.multi_asset_check(
    name="klines_checks",
    specs=[
        _spec(klines_parquet, "klines_complete"),
        _spec(klines_parquet, "klines_ohlc_valid"),
        _spec(clickhouse_klines, "klines_reconciled"),
        _spec(clickhouse_klines, "klines_stream_agrees"),
    ],
    can_subset=True,
    pool="clickhouse",
)
def klines_checks(context: dg.AssetCheckExecutionContext):
    checks = []
    for key in sorted(context.selected_asset_check_keys, key=lambda key: key.name):
        verdicts = HourlyVerdicts(key)
        for hour in hours_in(context):
            verdicts.add("NULL", hour, Verdict())
        checks.append(verdicts)
    yield from report(context, checks)


defs = dg.Definitions(assets=[raw_klines, klines_parquet, clickhouse_klines], asset_checks=[klines_checks])
