"""Lake-side checks of the clean Parquet, verified with DuckDB — an engine independent of the
polars code that wrote the files. A ``LakeCheck`` is one check's query and judgement; a dataset's
lake checks run together (``run_lake_checks``), over the same files, in the dataset's check step."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.partitions import hourly_partitions
from binance_assets.lib.verdicts import HourlyVerdicts, Verdict, missing_file, unreadable_file
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file

MAX_LISTED = 20
PARQUET_FILES = "read_parquet($files, filename = true)"
FILES_PER_QUERY = 720  # a month of hours


@dataclass(frozen=True)
class LakeCheck:
    """A per-hour check of a dataset's Parquet: ``select`` aggregates each symbol-hour's file with
    DuckDB, ``judge(hour, figures)`` turns them into a verdict (figures None: the file has no rows).

    ``source`` is what the aggregates read: the files themselves, or a subquery over
    ``PARQUET_FILES`` that keeps the ``filename`` column (for window functions)."""

    name: str
    description: str
    select: str
    judge: Callable[[datetime, tuple | None], Verdict]
    source: str = PARQUET_FILES

    def spec(self, dataset: HourlyDataset) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name,
            asset=dataset.parquet_asset_name,
            partitions_def=hourly_partitions,
            description=self.description,
        )


def run_lake_checks(
    checks: Sequence[LakeCheck],
    dataset: HourlyDataset,
    symbols: list[str],
    hours: list[datetime],
    lake: LakeResource,
    duckdb: DuckDB,
) -> list[HourlyVerdicts]:
    """Every check's verdicts for every symbol-hour; the files are located (and, from S3, fetched) once.

    A file DuckDB cannot read (its ``_SUCCESS`` says complete) fails each check of its hour with
    the file, DuckDB's error and the fix, instead of erroring the step and hiding the other hours."""
    if not checks:
        return []
    import duckdb as duckdb_engine  # only the check steps query Parquet

    located = [(symbol, hour, clean_file(dataset.name, symbol, hour)) for symbol in symbols for hour in hours]
    complete = lake.complete([path for _, _, path in located])
    verdicts = [HourlyVerdicts(dg.AssetCheckKey(dg.AssetKey(dataset.parquet_asset_name), c.name)) for c in checks]
    paths = [path for _, _, path in located if path in complete]
    unreadable: dict[str, str] = {}  # lake path → DuckDB's error
    with lake.local_files(paths) as files, duckdb.get_connection() as con:
        by_file = dict(zip(files, paths, strict=True))

        def aggregate(check: LakeCheck, chunk: list[str]) -> list[tuple]:
            return con.execute(
                f"SELECT filename, {check.select} FROM {check.source} GROUP BY filename", {"files": chunk}
            ).fetchall()

        for check, check_verdicts in zip(checks, verdicts, strict=True):
            figures = {}
            for start in range(0, len(files), FILES_PER_QUERY):  # bounded memory for long ranges
                chunk = [file for file in files[start : start + FILES_PER_QUERY] if by_file[file] not in unreadable]
                if not chunk:
                    continue
                try:
                    rows = aggregate(check, chunk)
                except duckdb_engine.Error:  # one unreadable file fails the query: find which, file by file
                    rows = []
                    for file in chunk:
                        try:
                            rows += aggregate(check, [file])
                        except duckdb_engine.Error as error:
                            unreadable[by_file[file]] = str(error)
                figures |= {by_file[row[0]]: row[1:] for row in rows}
            for symbol, hour, path in located:
                if path not in complete:
                    verdict = missing_file("Parquet file")
                elif path in unreadable:
                    verdict = unreadable_file(lake.store.uri(path), unreadable[path], dataset.parquet_asset_name, hour)
                else:
                    verdict = check.judge(hour, figures.get(path))
                check_verdicts.add(symbol, hour, verdict)
    return verdicts


def listed(values, most: int = MAX_LISTED) -> str:
    """The first ``most`` values, sorted, for check metadata (`` …`` when there are more)."""
    values = sorted(values or [])
    return ", ".join(map(str, values[:most])) + (" …" if len(values) > most else "")
