"""A dataset's per-hour checks, all in one step: its lake checks (DuckDB on the Parquet) and the
reconciliation raw = Parquet = ClickHouse.

One step instead of one per check: a Dagster step under the default executor is a process that
loads the code location, so a dataset's checks cost one process start, not three to five. The step
opens the warehouse, so it is in pool ``clickhouse``; the lake checks run first and the embedded
engine is held only while reconciling. Any subset of the checks can be run (``can_subset``).
"""

from collections.abc import Sequence

import dagster as dg

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.lake_checks import LakeCheck, run_lake_checks
from binance_assets.lib.partitions import hours_in
from binance_assets.lib.reconcile import RawRows, reconcile_hours, reconciled_spec
from binance_assets.lib.verdicts import report
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols


def hourly_checks(
    dataset: HourlyDataset, lake_checks: Sequence[LakeCheck], raw_rows: RawRows | None = None
) -> dg.AssetChecksDefinition:
    """``{dataset}_checks``: every lake check of the dataset and ``{dataset}_reconciled``, per hour.

    ``raw_rows(lake, dataset, symbol, hour)`` counts a raw partition for the reconciliation
    (default: one JSON array)."""
    reconciled = reconciled_spec(dataset)

    @dg.multi_asset_check(
        name=f"{dataset.name}_checks",
        specs=[*(check.spec(dataset) for check in lake_checks), reconciled],
        can_subset=True,
        pool="clickhouse",
        description=f"The per-hour checks of {dataset.name}: its Parquet (DuckDB) and raw = Parquet = ClickHouse.",
    )
    def checks(
        context: dg.AssetCheckExecutionContext,
        symbols: TrackedSymbols,
        lake: LakeResource,
        duckdb: DuckDB,
        warehouse: ClickHouseWarehouse,
    ):
        selected = context.selected_asset_check_keys
        hours = hours_in(context)
        chosen = [check for check in lake_checks if check.spec(dataset).key in selected]
        verdicts = run_lake_checks(chosen, dataset, symbols.names, hours, lake, duckdb)
        if reconciled.key in selected:
            verdicts.append(reconcile_hours(lake, warehouse, dataset, symbols.names, hours, raw_rows))
        yield from report(context, verdicts)

    return checks
