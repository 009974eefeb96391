"""Reconciling counts per symbol-hour: rows in raw = rows in Parquet = rows in ClickHouse (``FINAL``)."""

import io
import json
from collections.abc import Callable
from datetime import datetime

import dagster as dg

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.partitions import HOUR_MS, hourly_partitions, to_ms
from binance_assets.lib.verdicts import HourlyVerdicts, Verdict, missing_file, unreadable_file
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file, raw_file

RawRows = Callable[[LakeResource, str, str, datetime], int | None]


def _parquet_rows(lake: LakeResource, path: str) -> int | None:
    import pyarrow.parquet as pq  # only this step reads Parquet footers: not every step process

    data = lake.read(path)
    return None if data is None else pq.ParquetFile(io.BytesIO(data)).metadata.num_rows


def json_array_rows(lake: LakeResource, dataset: str, symbol: str, hour: datetime) -> int | None:
    """Rows of a raw partition stored as one JSON array; None when it is incomplete."""
    data = lake.read(raw_file(dataset, symbol, hour))
    return None if data is None else len(json.loads(data))


def reconciled_spec(dataset: HourlyDataset) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        f"{dataset.name}_reconciled",
        asset=dataset.load_asset_name,
        partitions_def=hourly_partitions,
        description=f"Rows in raw JSON = rows in Parquet = rows in ClickHouse (FINAL) for every symbol-hour of {dataset.name}.",
    )


def reconcile_hours(
    lake: LakeResource,
    warehouse: ClickHouseWarehouse,
    dataset: HourlyDataset,
    symbols: list[str],
    hours: list[datetime],
    raw_rows: RawRows | None = None,
) -> HourlyVerdicts:
    """rows in raw = rows in Parquet = rows in ClickHouse (``FINAL``), per symbol-hour.

    ``raw_rows(lake, dataset, symbol, hour)`` counts a raw partition (default: one JSON array)."""
    raw_rows = raw_rows or json_array_rows
    symbol_column, time_column, table = dataset.symbol_column, dataset.time_column, dataset.table.name
    start_ms, end_ms = to_ms(hours[0]), to_ms(hours[-1]) + HOUR_MS
    with warehouse.session():
        warehouse.ensure_tables([dataset.table])
        in_warehouse = {
            (symbol, int(hour_ms)): rows
            for symbol, hour_ms, rows in warehouse.query(
                f"SELECT {symbol_column}, intDiv(toUnixTimestamp64Milli({time_column}), {HOUR_MS}) * {HOUR_MS}, count() "
                f"FROM {{database}}.{table} FINAL "
                f"WHERE {symbol_column} IN {{symbols:Array(String)}} "
                f"AND {time_column} >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC') "
                f"AND {time_column} < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC') GROUP BY 1, 2",
                symbols=symbols,
                start=start_ms,
                end=end_ms,
            )
        }
    parts = [(symbol, hour) for symbol in symbols for hour in hours]
    import pyarrow as pa  # only this step reads Parquet footers: not every step process

    def lake_rows(part: tuple[str, datetime]) -> tuple[int | None, int | str | None]:
        """Rows in raw and in Parquet; for a Parquet file that cannot be read, its error."""
        symbol, hour = part
        raw = raw_rows(lake, dataset.name, symbol, hour)
        try:
            return raw, _parquet_rows(lake, clean_file(dataset.name, symbol, hour))
        except pa.ArrowException as error:
            return raw, str(error)

    verdicts = HourlyVerdicts(reconciled_spec(dataset).key)
    for (symbol, hour), (raw, parquet) in zip(parts, lake.concurrently(lake_rows, parts), strict=True):
        if isinstance(parquet, str):  # _SUCCESS says complete, yet unreadable: a failed check, not an errored step
            uri = lake.store.uri(clean_file(dataset.name, symbol, hour))
            verdicts.add(symbol, hour, unreadable_file(uri, parquet, dataset.parquet_asset_name, hour))
            continue
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
    return verdicts
