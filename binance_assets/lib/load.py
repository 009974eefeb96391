"""Loading clean Parquet into ClickHouse, hour by hour — the same for every dataset."""

import time
from datetime import datetime

import dagster as dg

from binance_assets.lib.dataset import HOURLY_LOAD_TAG, HourlyDataset
from binance_assets.lib.partitions import hourly_partitions, hours_in
from binance_assets.lib.preview import preview
from binance_assets.resources.clickhouse import INSERT_BATCH_ROWS, ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file
from binance_assets.settings import TrackedSymbols

# Loads follow the lake on a local disk: ``eager()`` only looks at the latest hourly partition, and a
# backfill of Parquet must load too, so every partition whose Parquet was updated since its last load
# qualifies. The ``clickhouse_follows_lake`` sensor evaluates it (stopped on an S3 lake, where the
# S3 sensor loads instead).
LOAD_WHEN_PARQUET_UPDATES = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
).with_label("load when its Parquet is updated")


class MissingCleanDataError(RuntimeError):
    pass


def incomplete_symbols(lake: LakeResource, dataset: str, symbols: list[str], hour: datetime) -> list[str]:
    """Symbols whose clean file for ``hour`` has no ``_SUCCESS`` yet: the load of that hour would fail."""
    paths = {clean_file(dataset, s, hour): s for s in symbols}
    complete = lake.complete(list(paths))
    return [symbol for path, symbol in paths.items() if path not in complete]


def _missing_clean_data(dataset: str, symbol: str, hour: datetime) -> MissingCleanDataError:
    return MissingCleanDataError(
        f"No complete clean {dataset} Parquet for {symbol} at {hour:%Y-%m-%d %H}:00 UTC: "
        f"materialise {dataset}_parquet for this partition first."
    )


def load_hours(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    warehouse: ClickHouseWarehouse,
    dataset: HourlyDataset,
    symbols: list[str],
    hours: list[datetime],
) -> dg.MaterializeResult:
    """Insert every symbol-hour's clean Parquet into the dataset's table (created if missing).

    Every file is confirmed complete before anything is inserted; the rows then go in batches of
    ``INSERT_BATCH_ROWS`` as they are read (from S3, several files at once), so a range of any
    length loads in bounded memory. The warehouse is released when the load ends."""
    import polars as pl  # only the load steps concatenate frames

    started = time.perf_counter()
    parts = [(symbol, hour, clean_file(dataset.name, symbol, hour)) for symbol in symbols for hour in hours]
    complete = lake.complete([path for _, _, path in parts])
    for symbol, hour, path in parts:
        if path not in complete:
            raise _missing_clean_data(dataset.name, symbol, hour)
    read_s = insert_s = 0.0
    inserted, batch, batch_rows, sample = 0, [], 0, None
    read_started = time.perf_counter()
    frames = lake.concurrently(lambda part: lake.read_parquet(part[2]), parts)  # read ahead while inserting
    with warehouse.session():
        created = warehouse.ensure_tables([dataset.table])
        if created:
            context.log.info(f"Created table(s) {', '.join(created)} in database {warehouse.database}")
        for number, ((symbol, hour, _), frame) in enumerate(zip(parts, frames, strict=True), start=1):
            if frame is None:  # rewritten since the check above: its _SUCCESS is gone for now
                raise _missing_clean_data(dataset.name, symbol, hour)
            if sample is None or sample.is_empty():
                sample = frame
            batch.append(frame)
            batch_rows += frame.height
            if batch_rows >= INSERT_BATCH_ROWS or number == len(parts):
                insert_started = time.perf_counter()
                read_s += insert_started - read_started
                inserted += warehouse.insert(dataset.table.name, pl.concat(batch, how="vertical").to_arrow())
                read_started = time.perf_counter()
                insert_s += read_started - insert_started
                batch, batch_rows = [], 0
                context.log.info(
                    f"{dataset.name}: {inserted:,} rows inserted ({number:,} of {len(parts):,} files read)"
                )
    context.log.info(f"Inserted {inserted:,} {dataset.name} rows into {warehouse.database}.{dataset.table.name}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": inserted,
            "table": f"{warehouse.database}.{dataset.table.name}",
            "read_parquet_s": round(read_s, 3),
            "insert_s": round(insert_s, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "preview": preview(sample),
        }
    )


def hourly_load(dataset: HourlyDataset, description: str) -> dg.AssetsDefinition:
    """``clickhouse_{dataset}``: loads the dataset's clean Parquet into its table, hour by hour."""

    @dg.asset(
        name=dataset.load_asset_name,
        deps=[dataset.parquet_asset_name],
        partitions_def=hourly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=dataset.group,
        kinds={"clickhouse"},
        tags={**dataset.tags, HOURLY_LOAD_TAG: "true"},
        pool="clickhouse",
        automation_condition=LOAD_WHEN_PARQUET_UPDATES,
        description=description,
    )
    def load(
        context: dg.AssetExecutionContext, symbols: TrackedSymbols, lake: LakeResource, warehouse: ClickHouseWarehouse
    ) -> dg.MaterializeResult:
        return load_hours(context, lake, warehouse, dataset, symbols.names, hours_in(context))

    return load
