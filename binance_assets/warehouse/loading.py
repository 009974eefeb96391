"""Loading clean Parquet into ClickHouse and reconciling counts — the same for every dataset."""

import io
import json
import time
from collections.abc import Callable
from datetime import datetime

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from binance_assets.checks import HourlyVerdicts, Verdict, missing_file
from binance_assets.exchange.resource import BinanceExchange
from binance_assets.lake.layout import clean_file, raw_file
from binance_assets.lake.resource import LakeResource
from binance_assets.partitions import HOUR_MS, hourly_partitions, hours_in, to_ms
from binance_assets.preview import preview
from binance_assets.warehouse.resource import INSERT_BATCH_ROWS, ClickHouseWarehouse
from binance_assets.warehouse.tables import TIME_COLUMNS

LOAD_ASSET_PREFIX = "clickhouse_"
# The load assets of every dataset loaded hour by hour from clean Parquet — the tables with an
# event-time column — whoever adds the dataset (a name missing from the definitions selects nothing).
LOAD_ASSETS = dg.AssetSelection.from_string(" or ".join(f"key:{LOAD_ASSET_PREFIX}{d}" for d in TIME_COLUMNS))


class MissingCleanDataError(RuntimeError):
    pass


def load_asset_key(dataset: str) -> dg.AssetKey:
    """By convention dataset ``X`` is loaded by asset ``clickhouse_X`` into table ``X``."""
    return dg.AssetKey(f"{LOAD_ASSET_PREFIX}{dataset}")


def incomplete_symbols(lake: LakeResource, dataset: str, symbols: list[str], hour: datetime) -> list[str]:
    """Symbols whose clean file for ``hour`` has no ``_SUCCESS`` yet: the load of that hour would fail."""
    return [s for s in symbols if lake.manifest(clean_file(dataset, s, hour)) is None]


def _missing_clean_data(dataset: str, symbol: str, hour: datetime) -> MissingCleanDataError:
    return MissingCleanDataError(
        f"No complete clean {dataset} Parquet for {symbol} at {hour:%Y-%m-%d %H}:00 UTC: "
        f"materialise {dataset}_parquet for this partition first."
    )


def load_hours(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    warehouse: ClickHouseWarehouse,
    dataset: str,
    symbols: list[str],
    hours: list[datetime],
) -> dg.MaterializeResult:
    """Insert every symbol-hour's clean Parquet into the dataset's table (created if missing).

    Every file is confirmed complete before anything is inserted; the rows then go in batches of
    ``INSERT_BATCH_ROWS`` as they are read, so a range of any length loads in bounded memory."""
    started = time.perf_counter()
    for hour in hours:
        for symbol in incomplete_symbols(lake, dataset, symbols, hour):
            raise _missing_clean_data(dataset, symbol, hour)
    parts = [(symbol, hour, clean_file(dataset, symbol, hour)) for symbol in symbols for hour in hours]
    created = warehouse.ensure_schema()
    if created:
        context.log.info(f"Created table(s) {', '.join(created)} in database {warehouse.database}")
    read_s = insert_s = 0.0
    inserted, batch, batch_rows, sample = 0, [], 0, None
    for number, (symbol, hour, path) in enumerate(parts, start=1):
        read_started = time.perf_counter()
        frame = lake.read_parquet(path)
        if frame is None:  # rewritten since the check above: its _SUCCESS is gone for now
            raise _missing_clean_data(dataset, symbol, hour)
        read_s += time.perf_counter() - read_started
        if sample is None or sample.is_empty():
            sample = frame
        batch.append(frame)
        batch_rows += frame.height
        if batch_rows >= INSERT_BATCH_ROWS or number == len(parts):
            insert_started = time.perf_counter()
            inserted += warehouse.insert(dataset, pl.concat(batch, how="vertical").to_arrow())
            insert_s += time.perf_counter() - insert_started
            batch, batch_rows = [], 0
            context.log.info(f"{dataset}: {inserted:,} rows inserted ({number:,} of {len(parts):,} files read)")
    context.log.info(f"Inserted {inserted:,} {dataset} rows into {warehouse.database}.{dataset}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": inserted,
            "table": f"{warehouse.database}.{dataset}",
            "read_parquet_s": round(read_s, 3),
            "insert_s": round(insert_s, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "preview": preview(sample),
        }
    )


def _parquet_rows(lake: LakeResource, path: str) -> int | None:
    data = lake.read(path)
    return None if data is None else pq.ParquetFile(io.BytesIO(data)).metadata.num_rows


def json_array_rows(lake: LakeResource, dataset: str, symbol: str, hour: datetime) -> int | None:
    """Rows of a raw partition stored as one JSON array; None when it is incomplete."""
    data = lake.read(raw_file(dataset, symbol, hour))
    return None if data is None else len(json.loads(data))


def reconcile_hours(
    context: dg.AssetCheckExecutionContext,
    lake: LakeResource,
    warehouse: ClickHouseWarehouse,
    dataset: str,
    symbols: list[str],
    hours: list[datetime],
    raw_rows: Callable[[LakeResource, str, str, datetime], int | None] | None = None,
):
    """rows in raw = rows in Parquet = rows in ClickHouse (``FINAL``), per symbol-hour.

    ``raw_rows(lake, dataset, symbol, hour)`` counts a raw partition (default: one JSON array)."""
    raw_rows = raw_rows or json_array_rows
    symbol_column, time_column = TIME_COLUMNS[dataset]
    start_ms, end_ms = to_ms(hours[0]), to_ms(hours[-1]) + HOUR_MS
    warehouse.ensure_schema()
    in_warehouse = {
        (symbol, int(hour_ms)): rows
        for symbol, hour_ms, rows in warehouse.query(
            f"SELECT {symbol_column}, intDiv(toUnixTimestamp64Milli({time_column}), {HOUR_MS}) * {HOUR_MS}, count() "
            f"FROM {{database}}.{dataset} FINAL "
            f"WHERE {symbol_column} IN {{symbols:Array(String)}} "
            f"AND {time_column} >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC') "
            f"AND {time_column} < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC') GROUP BY 1, 2",
            symbols=symbols,
            start=start_ms,
            end=end_ms,
        )
    }
    verdicts = HourlyVerdicts()
    for symbol in symbols:
        for hour in hours:
            raw = raw_rows(lake, dataset, symbol, hour)
            parquet = _parquet_rows(lake, clean_file(dataset, symbol, hour))
            if raw is None or parquet is None:
                verdicts.add(symbol, hour, missing_file("raw JSON" if raw is None else "Parquet file"))
                continue
            warehouse_rows = in_warehouse.get((symbol, to_ms(hour)), 0)
            verdicts.add(
                symbol,
                hour,
                Verdict(
                    raw == parquet == warehouse_rows,
                    metadata={"raw_rows": raw, "parquet_rows": parquet, "clickhouse_rows": warehouse_rows},
                ),
            )
    yield from verdicts.evaluations(context)


def hourly_table(
    dataset: str,
    parquet_asset: dg.AssetsDefinition,
    description: str,
    raw_rows: Callable[[LakeResource, str, str, datetime], int | None] | None = None,
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """``clickhouse_{dataset}`` (loads the clean Parquet) and its ``{dataset}_reconciled`` count check."""

    @dg.asset(
        name=f"clickhouse_{dataset}",
        deps=[parquet_asset],
        partitions_def=hourly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=parquet_asset.group_names_by_key[parquet_asset.key],
        kinds={"clickhouse"},
        pool="clickhouse",
        description=description,
    )
    def load(
        context: dg.AssetExecutionContext, exchange: BinanceExchange, lake: LakeResource, warehouse: ClickHouseWarehouse
    ) -> dg.MaterializeResult:
        return load_hours(context, lake, warehouse, dataset, exchange.symbol_list, hours_in(context))

    @dg.asset_check(
        name=f"{dataset}_reconciled",
        asset=load,
        partitions_def=hourly_partitions,
        pool="clickhouse",
        description=f"Rows in raw JSON = rows in Parquet = rows in ClickHouse (FINAL) for every symbol-hour of {dataset}.",
    )
    def reconciled(
        context: dg.AssetCheckExecutionContext, exchange: BinanceExchange, lake: LakeResource, warehouse: ClickHouseWarehouse
    ):
        yield from reconcile_hours(
            context, lake, warehouse, dataset, exchange.symbol_list, hours_in(context), raw_rows=raw_rows
        )

    return load, reconciled
