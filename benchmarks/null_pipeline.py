"""Dagster's own floor: the klines group's shape with bodies that do nothing.

Three hourly assets in a chain, each with ``BackfillPolicy.single_run()``, and four partitioned
checks (two on the Parquet asset, two on the load) that report one result per hour, exactly as the
real checks do (``binance_assets.checks.HourlyVerdicts``). Whatever a range run of this costs is
what Dagster spends on the run itself: its events, storage and step processes.
"""

import dagster as dg

from binance_assets.lib.partitions import hourly_partitions, hours_in
from binance_assets.lib.verdicts import HourlyVerdicts, Verdict

SHAPE = dict(partitions_def=hourly_partitions, backfill_policy=dg.BackfillPolicy.single_run(), group_name="klines")


@dg.asset(**SHAPE)
def raw_klines() -> None:
    pass


@dg.asset(deps=[raw_klines], **SHAPE)
def klines_parquet() -> None:
    pass


@dg.asset(deps=[klines_parquet], **SHAPE)
def clickhouse_klines() -> None:
    pass


def _passing_check(asset: dg.AssetsDefinition, name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=name, partitions_def=hourly_partitions)
    def check(context: dg.AssetCheckExecutionContext):
        verdicts = HourlyVerdicts()
        for hour in hours_in(context):
            verdicts.add("NULL", hour, Verdict())
        yield from verdicts.evaluations(context)

    return check


defs = dg.Definitions(
    assets=[raw_klines, klines_parquet, clickhouse_klines],
    asset_checks=[
        _passing_check(klines_parquet, "klines_complete"),
        _passing_check(klines_parquet, "klines_ohlc_valid"),
        _passing_check(clickhouse_klines, "klines_reconciled"),
        _passing_check(clickhouse_klines, "klines_stream_agrees"),
    ],
)
