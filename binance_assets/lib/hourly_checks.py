"""A dataset's per-hour checks, all in one step: its lake checks (DuckDB on the Parquet), any other
per-hour check of its own (the klines stream's agreement) and the reconciliation raw = Parquet =
ClickHouse.

One step instead of one per check: a Dagster step under the default executor is a process that
loads the code location, so a dataset's checks cost one process start, not three to five. The step
opens the warehouse, so it is in pool ``clickhouse``; the lake checks run first and the embedded
engine is held only while reconciling. Any subset of the checks can be run (``can_subset``).
Like the lake and warehouse steps, the step is retried after 15, 45 and 105 s (``STORAGE_RETRY_POLICY``)
when the lake or the warehouse is busy; an unreadable Parquet file is a failed check, not an error.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.lake_checks import LakeCheck, run_lake_checks
from binance_assets.lib.partitions import hours_in
from binance_assets.lib.reconcile import RawRows, reconcile_hours, reconciled_spec
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.lib.verdicts import HourlyVerdicts, report
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols


@dataclass(frozen=True)
class HourlyCheck:
    """Another per-hour check of a dataset: its spec, and ``run(lake, symbols, hours)`` giving its
    verdicts (keyed by ``spec.key``)."""

    spec: dg.AssetCheckSpec
    run: Callable[[LakeResource, list[str], list[datetime]], HourlyVerdicts]


def hourly_checks(
    dataset: HourlyDataset,
    lake_checks: Sequence[LakeCheck],
    raw_rows: RawRows | None = None,
    other_checks: Sequence[HourlyCheck] = (),
) -> dg.AssetChecksDefinition:
    """``{dataset}_checks``: every lake check of the dataset, its ``other_checks`` and
    ``{dataset}_reconciled``, per hour.

    ``raw_rows(lake, dataset, symbol, hour)`` counts a raw partition for the reconciliation
    (default: one JSON array)."""
    reconciled = reconciled_spec(dataset)

    @dg.multi_asset_check(
        name=f"{dataset.name}_checks",
        specs=[*(check.spec(dataset) for check in lake_checks), *(check.spec for check in other_checks), reconciled],
        can_subset=True,
        pool="clickhouse",
        retry_policy=STORAGE_RETRY_POLICY,
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
        verdicts += [check.run(lake, symbols.names, hours) for check in other_checks if check.spec.key in selected]
        if reconciled.key in selected:
            verdicts.append(reconcile_hours(lake, warehouse, dataset, symbols.names, hours, raw_rows))
        yield from report(context, verdicts)

    return checks
