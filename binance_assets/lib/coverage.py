"""Hours in the lake but not in the warehouse: no hour goes missing silently.

A load that failed, a notification that never came, an automation that was switched off: whatever
the cause, ``{dataset}_warehouse_coverage`` compares every symbol-hour with clean Parquet in the lake
against the hours ``{db}.{table}`` holds rows for, and its check fails (ERROR) naming the missing
ones and what loads them. It runs every 15 minutes (``clickhouse_follows_lake`` evaluates it),
beside the retries of failed loads.
"""

from datetime import UTC, datetime

import dagster as dg

from binance_assets.lib.dataset import COVERAGE_TAG, HourlyDataset
from binance_assets.lib.partitions import (
    HOUR_MS,
    PARTITION_FORMAT,
    hourly_partitions,
    key_span,
    listed_symbol_hours,
    parse_hour,
)
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import CLEAN, SUCCESS_MARKER, clean_file, parse
from binance_assets.settings import TrackedSymbols

COVERAGE_GROUP = "warehouse_coverage"
COVERAGE_CRON = "*/15 * * * *"
SymbolHour = tuple[str, datetime]


def lake_hours(lake: LakeResource, dataset: str, symbols: list[str]) -> set[SymbolHour]:
    """Symbol-hours of the partitions whose clean file is complete (has its ``_SUCCESS``)."""
    first, last = (
        parse_hour(key)
        for key in (hourly_partitions.get_first_partition_key(), hourly_partitions.get_last_partition_key())
    )
    found = set()
    for path in lake.store.paths_under(f"{CLEAN}/{dataset}"):
        located = parse(path)
        if (
            located is not None
            and located.file == SUCCESS_MARKER
            and located.symbol in symbols
            and first <= located.hour <= last
        ):
            found.add((located.symbol, located.hour))
    return found


def warehouse_hours(warehouse: ClickHouseWarehouse, dataset: HourlyDataset, symbols: list[str]) -> set[SymbolHour]:
    """Symbol-hours the dataset's table holds at least one row for."""
    warehouse.ensure_tables([dataset.table])
    rows = warehouse.query(
        f"SELECT DISTINCT {dataset.symbol_column}, "
        f"intDiv(toUnixTimestamp64Milli({dataset.time_column}), {HOUR_MS}) * {HOUR_MS} "
        f"FROM {{database}}.{dataset.table.name} WHERE {dataset.symbol_column} IN {{symbols:Array(String)}}",
        symbols=symbols,
    )
    return {(symbol, datetime.fromtimestamp(hour_ms / 1000, UTC)) for symbol, hour_ms in rows}


def missing_from_warehouse(
    lake: LakeResource, warehouse: ClickHouseWarehouse, dataset: HourlyDataset, symbols: list[str]
) -> tuple[list[SymbolHour], int]:
    """Symbol-hours whose Parquet has rows but the warehouse has none, and how many the lake holds."""
    in_lake = lake_hours(lake, dataset.name, symbols)
    absent = in_lake - warehouse_hours(warehouse, dataset, symbols)
    # An hour without rows (an exchange outage, no snapshot taken) has nothing to load.
    missing = [
        (symbol, hour)
        for symbol, hour in absent
        if (lake.manifest(clean_file(dataset.name, symbol, hour)) or {}).get("rows", 1) > 0
    ]
    return sorted(missing, key=lambda pair: (pair[1], pair[0])), len(in_lake)


def warehouse_coverage(dataset: HourlyDataset, load: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """``{dataset}_warehouse_coverage``: the symbol-hours in the lake but not in the warehouse, with a
    check ``{dataset}_lake_hours_loaded`` that fails while there are any."""
    check_name = f"{dataset.name}_lake_hours_loaded"

    @dg.asset(
        name=f"{dataset.name}_warehouse_coverage",
        deps=[load],
        group_name=COVERAGE_GROUP,
        kinds={"clickhouse"},
        tags={**dataset.tags, COVERAGE_TAG: "true"},
        pool="clickhouse",
        retry_policy=STORAGE_RETRY_POLICY,
        automation_condition=dg.AutomationCondition.cron_tick_passed(COVERAGE_CRON).since_last_handled()
        & ~dg.AutomationCondition.in_progress(),
        check_specs=[
            dg.AssetCheckSpec(
                check_name,
                asset=f"{dataset.name}_warehouse_coverage",
                description=f"Every symbol-hour with rows in the clean {dataset.name} Parquet has rows in ClickHouse.",
            )
        ],
        description=f"Symbol-hours with clean {dataset.name} Parquet in the lake but no rows in ClickHouse "
        f"(every 15 minutes).",
    )
    def coverage(
        context: dg.AssetExecutionContext, symbols: TrackedSymbols, lake: LakeResource, warehouse: ClickHouseWarehouse
    ):
        with warehouse.session():  # released when the query ends, as by every step in pool clickhouse
            missing, in_lake = missing_from_warehouse(lake, warehouse, dataset, symbols.names)
        figures = {"lake_symbol_hours": in_lake, "missing_symbol_hours": len(missing)}
        yield dg.MaterializeResult(metadata=figures)
        if not missing:
            yield dg.AssetCheckResult(check_name=check_name, passed=True, metadata=figures)
            return
        description = (
            f"{listed_symbol_hours(missing)} have {dataset.name} Parquet in the lake but no rows in "
            f"{warehouse.database}.{dataset.table.name}. Failed loads are retried every 5 minutes by "
            f"clickhouse_follows_lake; to load now, materialise {dataset.load_asset_name} for "
            f"{key_span(hour for _, hour in missing)}."
        )
        context.log.warning(description)
        yield dg.AssetCheckResult(
            check_name=check_name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={**figures, "first_missing": missing[0][1].strftime(PARTITION_FORMAT)},
        )

    return coverage
