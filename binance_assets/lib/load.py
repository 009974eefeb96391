"""Loading clean Parquet into ClickHouse, hour by hour — the same for every dataset."""

import time
from datetime import datetime

import dagster as dg

from binance_assets import settings
from binance_assets.errors import NotRetryable
from binance_assets.lib.dataset import HOURLY_LOAD_TAG, HourlyDataset
from binance_assets.lib.partitions import PARTITION_FORMAT, hourly_partitions, hours_in, key_span, listed_symbol_hours
from binance_assets.lib.preview import preview
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.resources.clickhouse import INSERT_BATCH_ROWS, ClickHouseWarehouse
from binance_assets.resources.lake import CorruptFileError, LakeResource
from binance_assets.resources.lake.layout import clean_file
from binance_assets.settings import TrackedSymbols

# A load whose step retries ran out (the warehouse held for minutes, a full disk) is requested again
# on every tick of this schedule until it succeeds: once the cause is gone, the hour arrives by itself.
RETRY_FAILED_LOADS_CRON = "*/5 * * * *"

# Loads follow the lake on a local disk: ``eager()`` only looks at the latest hourly partition, and a
# backfill of Parquet must load too, so every partition whose Parquet was updated since its last load
# qualifies. On S3 the S3 sensor loads new Parquet instead; on both, failed loads are retried.
PARQUET_UPDATED = dg.AutomationCondition.any_deps_updated().since_last_handled().with_label("its Parquet was updated")
LOAD_FAILED = (
    dg.AutomationCondition.execution_failed()
    & dg.AutomationCondition.cron_tick_passed(RETRY_FAILED_LOADS_CRON).since_last_handled()
    & ~dg.AutomationCondition.in_progress()
).with_label("its last load failed (retried every 5 minutes)")
INPUTS_READY = ~dg.AutomationCondition.any_deps_missing() & ~dg.AutomationCondition.any_deps_in_progress()


def load_condition(lake_on_s3: bool) -> dg.AutomationCondition:
    """When ``clickhouse_follows_lake`` requests a load of an hour."""
    if lake_on_s3:
        return (LOAD_FAILED & INPUTS_READY).with_label("retry failed loads")
    return ((PARQUET_UPDATED | LOAD_FAILED) & INPUTS_READY).with_label("load when its Parquet is updated")


class MissingCleanDataError(NotRetryable):
    """Clean Parquet is not in the lake yet: rerunning the load cannot make it appear."""


class UnreadableParquetError(NotRetryable):
    """Clean Parquet files that cannot be read: only rewriting them helps."""


def incomplete_hours(lake: LakeResource, dataset: str, symbols: list[str], hours: list[datetime]) -> dict:
    """{hour: symbols whose clean file has no ``_SUCCESS`` yet} for the hours a load would fail on;
    one listing per symbol and month, however many hours."""
    files = {(symbol, hour): clean_file(dataset, symbol, hour) for hour in hours for symbol in symbols}
    complete = lake.complete(list(files.values()))
    incomplete = {}
    for (symbol, hour), path in files.items():
        if path not in complete:
            incomplete.setdefault(hour, []).append(symbol)
    return incomplete


def _missing_clean_data(dataset: HourlyDataset, missing: list[tuple[str, datetime]]) -> MissingCleanDataError:
    return MissingCleanDataError(
        f"No complete clean {dataset.name} Parquet for {listed_symbol_hours(missing)}: materialise "
        f"{dataset.parquet_asset_name} for {key_span(hour for _, hour in missing)} first; nothing was loaded."
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
    length loads in bounded memory. An unreadable file does not stop the others: every readable hour
    is loaded (and recorded as materialized), then the step fails naming every unreadable one. The
    warehouse is released when the load ends."""
    import polars as pl  # only the load steps concatenate frames

    started = time.perf_counter()
    missing = [
        (symbol, hour)
        for hour, symbols_ in incomplete_hours(lake, dataset.name, symbols, hours).items()
        for symbol in symbols_
    ]
    if missing:
        raise _missing_clean_data(dataset, missing)
    parts = [(symbol, hour, clean_file(dataset.name, symbol, hour)) for symbol in symbols for hour in hours]

    def read(part: tuple[str, datetime, str]) -> "pl.DataFrame | CorruptFileError | None":
        try:
            return lake.read_parquet(part[2])
        except CorruptFileError as error:
            return error

    read_s = insert_s = 0.0
    inserted, batch, batch_rows, sample = 0, [], 0, None
    unreadable: list[tuple[str, datetime, str]] = []
    read_started = time.perf_counter()
    frames = lake.concurrently(read, parts)  # read ahead while inserting
    with warehouse.session():
        created = warehouse.ensure_tables([dataset.table])
        if created:
            context.log.info(f"Created table(s) {', '.join(created)} in database {warehouse.database}")
        for number, ((symbol, hour, path), frame) in enumerate(zip(parts, frames, strict=True), start=1):
            if isinstance(frame, CorruptFileError):
                context.log.error(str(frame))
                unreadable.append((symbol, hour, lake.store.uri(path)))
            elif frame is None:  # rewritten since the check above: its _SUCCESS is gone for now
                raise _missing_clean_data(dataset, [(symbol, hour)])
            else:
                if sample is None or sample.is_empty():
                    sample = frame
                batch.append(frame)
                batch_rows += frame.height
            if batch and (batch_rows >= INSERT_BATCH_ROWS or number == len(parts)):
                insert_started = time.perf_counter()
                read_s += insert_started - read_started
                inserted += warehouse.insert(dataset.table.name, pl.concat(batch, how="vertical").to_arrow())
                read_started = time.perf_counter()
                insert_s += read_started - insert_started
                batch, batch_rows = [], 0
                context.log.info(
                    f"{dataset.name}: {inserted:,} rows inserted ({number:,} of {len(parts):,} files read)"
                )
    read_s += time.perf_counter() - read_started  # reading after the last insert (unreadable files)
    if unreadable:
        _fail_unreadable(context, dataset, hours, unreadable)
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


def _fail_unreadable(
    context: dg.AssetExecutionContext, dataset: HourlyDataset, hours: list[datetime], unreadable: list
) -> None:
    """Record the hours that did load (so only the others count as failed and are retried), then fail."""
    bad_hours = {hour for _, hour, _ in unreadable}
    for hour in hours:
        if hour not in bad_hours:
            context.log_event(dg.AssetMaterialization(context.asset_key, partition=hour.strftime(PARTITION_FORMAT)))
    raise UnreadableParquetError(
        f"The clean {dataset.name} Parquet of {listed_symbol_hours((s, h) for s, h, _ in unreadable)} is unreadable "
        f"(first: {unreadable[0][2]}), so those hours were not loaded and the other {len(hours) - len(bad_hours)} "
        f"hour(s) were: re-materialise {dataset.parquet_asset_name} for {key_span(bad_hours)} to rewrite it."
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
        retry_policy=STORAGE_RETRY_POLICY,
        automation_condition=load_condition(settings.current().lake_on_s3),
        description=description,
    )
    def load(
        context: dg.AssetExecutionContext, symbols: TrackedSymbols, lake: LakeResource, warehouse: ClickHouseWarehouse
    ) -> dg.MaterializeResult:
        return load_hours(context, lake, warehouse, dataset, symbols.names, hours_in(context))

    return load
