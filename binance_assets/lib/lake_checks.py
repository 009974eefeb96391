"""Lake-side checks of the clean Parquet, verified with DuckDB — an engine independent of the
polars code that wrote the files. ``hourly_lake_check`` builds one for any dataset."""

from collections.abc import Callable
from datetime import datetime

import dagster as dg
import duckdb as duckdb_engine
from dagster_duckdb import DuckDBResource

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.partitions import hourly_partitions, hours_in
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.lib.verdicts import HourlyVerdicts, Verdict, missing_file, unreadable_file
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file
from binance_assets.settings import TrackedSymbols

MAX_LISTED = 20
PARQUET_FILES = "read_parquet($files, filename = true)"
FILES_PER_QUERY = 720  # a month of hours


def _files(context, symbols: list[str], lake: LakeResource, dataset: str):
    """(symbol, hour, path) of every symbol-hour the check covers, split into complete and missing."""
    complete, missing = [], []
    for symbol in symbols:
        for hour in hours_in(context):
            path = clean_file(dataset, symbol, hour)
            (complete if lake.manifest(path) is not None else missing).append((symbol, hour, path))
    return complete, missing


def _per_file(
    duckdb: DuckDBResource, lake: LakeResource, complete, select: str, source: str = PARQUET_FILES
) -> tuple[dict[str, tuple], dict[str, str]]:
    """One aggregate row per Parquet file, keyed by lake path (none for a file without rows), and the
    error of every file DuckDB cannot read.

    ``source`` is what the aggregates read: the files themselves, or a subquery over
    ``PARQUET_FILES`` that keeps the ``filename`` column (for window functions)."""
    if not complete:
        return {}, {}
    paths = [path for _, _, path in complete]
    rows, unreadable = [], {}
    with lake.local_files(paths) as files, duckdb.get_connection() as con:
        by_file = dict(zip(files, paths, strict=True))

        def aggregate(chunk: list[str]) -> list[tuple]:
            return con.execute(
                f"SELECT filename, {select} FROM {source} GROUP BY filename", {"files": chunk}
            ).fetchall()

        for start in range(0, len(files), FILES_PER_QUERY):  # bounded memory for long ranges
            chunk = files[start : start + FILES_PER_QUERY]
            try:
                rows += aggregate(chunk)
            except duckdb_engine.Error:  # one unreadable file fails the query: find which, file by file
                for file in chunk:
                    try:
                        rows += aggregate([file])
                    except duckdb_engine.Error as error:
                        unreadable[by_file[file]] = str(error)
    return {by_file[row[0]]: row[1:] for row in rows}, unreadable


def hourly_lake_check(
    dataset: HourlyDataset,
    name: str,
    description: str,
    select: str,
    judge: Callable[[datetime, tuple | None], Verdict],
    source: str = PARQUET_FILES,
) -> dg.AssetChecksDefinition:
    """A per-hour check of the dataset's Parquet: ``select`` aggregates each symbol-hour's file with
    DuckDB, ``judge(hour, figures)`` turns them into a verdict (figures None: the file has no rows)."""

    @dg.asset_check(
        asset=dataset.parquet_asset_name,
        name=name,
        partitions_def=hourly_partitions,
        retry_policy=STORAGE_RETRY_POLICY,
        description=description,
    )
    def check(
        context: dg.AssetCheckExecutionContext, symbols: TrackedSymbols, lake: LakeResource, duckdb: DuckDBResource
    ):
        complete, missing = _files(context, symbols.names, lake, dataset.name)
        figures, unreadable = _per_file(duckdb, lake, complete, select, source)
        verdicts = HourlyVerdicts()
        for symbol, hour, path in complete:
            if path in unreadable:
                verdict = unreadable_file(lake.store.uri(path), unreadable[path], dataset.parquet_asset_name, hour)
            else:
                verdict = judge(hour, figures.get(path))
            verdicts.add(symbol, hour, verdict)
        for symbol, hour, _ in missing:
            verdicts.add(symbol, hour, missing_file("Parquet file"))
        yield from verdicts.evaluations(context)

    return check


def listed(values, most: int = MAX_LISTED) -> str:
    """The first ``most`` values, sorted, for check metadata (`` …`` when there are more)."""
    values = sorted(values or [])
    return ", ".join(map(str, values[:most])) + (" …" if len(values) > most else "")
