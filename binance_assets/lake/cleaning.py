"""Raw JSON → one clean Parquet file per symbol-hour: the loop every ``X_parquet`` asset shares."""

import json
import time
from collections.abc import Callable
from datetime import datetime

import dagster as dg
import polars as pl

from binance_assets.lake.layout import clean_file, raw_file
from binance_assets.lake.resource import LakeResource
from binance_assets.preview import preview


class MissingUpstreamError(RuntimeError):
    pass


def raw_rows(lake: LakeResource, dataset: str, symbol: str, hour) -> tuple[list, dict]:
    """A complete raw partition's rows and manifest, or a clear error naming what to materialise."""
    path = raw_file(dataset, symbol, hour)
    data = lake.read(path)
    if data is None:
        raise MissingUpstreamError(
            f"No complete raw {dataset} for {symbol} at {hour:%Y-%m-%d %H}:00 UTC ({path} or its _SUCCESS "
            f"is missing): materialise raw_{dataset} for this partition first."
        )
    return json.loads(data), lake.manifest(path)


def clean_hours(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    dataset: str,
    symbols: list[str],
    hours: list[datetime],
    frame_for: Callable[[str, datetime], pl.DataFrame],
    **metadata,
) -> dg.MaterializeResult:
    """Write ``frame_for(symbol, hour)`` as the clean Parquet of every symbol-hour of the run."""
    started = time.perf_counter()
    rows = 0
    last = None
    for symbol in symbols:
        for hour in hours:
            last = frame_for(symbol, hour)
            lake.write_parquet(clean_file(dataset, symbol, hour), last, {"rows": last.height})
            rows += last.height
        context.log.info(f"{symbol}: {len(hours)} {dataset} Parquet file(s) written")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "files": len(hours) * len(symbols),
            "seconds": round(time.perf_counter() - started, 3),
            "preview": preview(last),
            **metadata,
        }
    )
